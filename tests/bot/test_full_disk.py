"""A full disk under SQLite: while the database's file system has no space left, updates are
refused (Telegram redelivers them) and the process keeps serving; once space is freed every
resident gets exactly the answers of a calm day.

Mounts a small tmpfs for the database (as root, as `.ci/run` runs): skipped elsewhere.
"""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.core.outbox import insert_pending
from bot.models import OutboxMessage
from tests.harness import MESSAGE_METHODS, Stack, running_stack

SCRIPT = ("/start", "1", "phuong quy nhon nam", "1")
RESIDENTS = 8
FULL_SECONDS = 2.0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small file system needs root (as in .ci/run)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path: Path) -> int:
    """Write `path` until the file system is full; returns the bytes written."""
    written = 0
    chunk = b"\0" * 65536
    with path.open("wb", buffering=0) as out:
        while True:
            try:
                written += out.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(chunk) == 1:
                    return written
                chunk = chunk[: len(chunk) // 2]


async def _status(stack: Stack, row_id: int) -> str:
    async with stack.runtime.db.reading() as session:  # reads, even on a full disk
        found = await session.execute(
            select(OutboxMessage.status).where(OutboxMessage.id == row_id)  # type: ignore[arg-type]
        )
        status = found.scalar_one_or_none()
        return "gone" if status is None else str(status)  # delivered rows are deleted


def _texts(stack: Stack, chat: int) -> list[str]:
    return [m.get("text") or "" for m in stack.fake.sent(chat) if m["method"] in MESSAGE_METHODS]


async def _play(stack: Stack, chat: int) -> None:
    for text in SCRIPT:
        before = len(_texts(stack, chat))
        delivered = await stack.fake.inject_and_wait({"chat_id": chat, "text": text})
        assert delivered["status"] == 200, (chat, text, delivered)
        deadline = time.monotonic() + 60
        while len(_texts(stack, chat)) == before:
            assert time.monotonic() < deadline, (chat, text)
            await stack.runtime.outbox.flush()
            await asyncio.sleep(0.05)


async def test_a_full_disk_loses_nothing_and_the_process_keeps_serving(
    database_url: str, small_disk: Path
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's own file system")
    source = Path(str(make_url(database_url).database))
    target = small_disk / "antq.sqlite3"
    shutil.copyfile(source, target)
    chats = [9_300_000 + i for i in range(RESIDENTS + 1)]
    async with running_stack(f"sqlite+aiosqlite:///{target}", known_chats=chats) as stack:
        stack.fake.webhook_max_attempts = 400
        stack.fake.webhook_retry_delay = 0.05
        calm_chat, *chats = chats
        await _play(stack, calm_chat)
        await asyncio.sleep(0.3)
        calm = _texts(stack, calm_chat)
        refused_before = stack.fake.stats()["webhook_failures"]
        filler = small_disk / "filler"
        filled = _fill(filler)
        began = time.monotonic()
        playing = asyncio.gather(*(_play(stack, chat) for chat in chats))
        await asyncio.sleep(FULL_SECONDS)
        async with httpx.AsyncClient() as http:  # still serving while the disk is full
            assert (await http.get(stack.runtime.url + "/healthz")).status_code == 200
        filler.unlink()
        freed = time.monotonic()
        await playing
        finished = time.monotonic()
        await asyncio.sleep(1.0)  # an answer sent twice would be here by now
        for chat in chats:
            assert _texts(stack, chat) == calm, chat
        refused = stack.fake.stats()["webhook_failures"] - refused_before
        assert refused > 0  # the full disk did refuse updates
        print(
            f"\ndisk filled with {filled / 1e6:.1f} MB; {refused} webhook deliveries refused "
            f"in {freed - began:.1f} s and redelivered; every conversation done "
            f"{finished - freed:.1f} s after space was freed"
        )


async def test_a_reply_sent_while_the_disk_is_full_is_recorded_later_not_sent_again(
    database_url: str, small_disk: Path
) -> None:
    """The message went out, but recording it failed (no space): it is recorded once space is
    back, and a sweep after its lease ran out does not send it a second time."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's own file system")
    source = Path(str(make_url(database_url).database))
    target = small_disk / "antq.sqlite3"
    shutil.copyfile(source, target)
    chat = 9_400_000
    async with running_stack(f"sqlite+aiosqlite:///{target}", known_chats=[chat]) as stack:
        outbox = stack.runtime.outbox
        async with stack.runtime.db.session() as session:
            rows = await insert_pending(
                session, [("telegram", str(chat), {"text": "Một lời nhắn"})], timedelta(seconds=1)
            )
        filler = small_disk / "filler"
        _fill(filler)
        outbox.send_soon(rows)
        deadline = time.monotonic() + 10
        while not _texts(stack, chat):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # the flusher tried to record it (a delete: it may fit)
        status = await _status(stack, rows[0].id)
        assert status in ("pending", "gone")
        filler.unlink()
        await asyncio.sleep(1.5)  # its lease has run out
        await outbox.sweep_once()
        await outbox.flush()
        status = await _status(stack, rows[0].id)
        assert status == "gone"
        await asyncio.sleep(0.5)
        assert _texts(stack, chat) == ["Một lời nhắn"]
