"""The runtime's start: what is ready before the first resident's update arrives."""

from __future__ import annotations

from pathlib import Path

from content.locality import _index
from tests.harness import running_stack


async def test_the_commune_index_is_built_before_residents_arrive(tmp_path: Path) -> None:
    # Built at the first lookup instead, it took a second of CPU inside that update's
    # transaction, and every resident handled meanwhile waited.
    _index.cache_clear()
    async with running_stack(f"sqlite+aiosqlite:///{tmp_path / 'antq.sqlite3'}"):
        assert _index.cache_info().currsize == 1
        assert _index.cache_info().hits == 0  # built by the start, not by a lookup


async def test_the_scheduled_jobs(tmp_path: Path) -> None:
    async with running_stack(
        f"sqlite+aiosqlite:///{tmp_path / 'antq.sqlite3'}", zalo=True
    ) as stack:
        scheduler = stack.runtime._scheduler
        assert scheduler is not None
        assert {job.id for job in scheduler.get_jobs()} == {
            "prune",
            "campaigns",
            "oa-token",  # the Zalo OA channel's
            "content",
            "tip-escalation",
            "stats-counts",
            "stats-rollup",
        }
