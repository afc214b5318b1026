"""Running Hypothesis against the real product on loopback.

The product runs on the test's event loop; Hypothesis is synchronous, so each fuzzing run
happens in a worker thread (`asyncio.to_thread`) with a blocking HTTP client while the loop
keeps serving. Every answer must be a clear 2xx or 4xx, and no request may leave a record
at ERROR in the log (a handler that failed, a 500, a task that died).
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest

from bot.core.dispatch import apology
from bot.i18n import LANGUAGES, gettext

__all__ = ["Fuzz", "apologies_in", "error_records"]

T = TypeVar("T")


class _Untranslated:
    """Stands in for a Context where only its translator is used: returns the message id."""

    def _(self, message: str, **params: Any) -> str:
        return message


def apology_texts() -> set[str]:
    """What a resident reads after a handler failed, in every language we speak."""
    msgid = apology(_Untranslated())  # type: ignore[arg-type]
    return {gettext(lang, msgid) for lang in LANGUAGES}


def apologies_in(texts: list[str]) -> list[str]:
    wanted = apology_texts()
    return [text for text in texts if any(sorry in text for sorry in wanted)]


def error_records(caplog: pytest.LogCaptureFixture, since: int = 0) -> list[str]:
    """Records at ERROR or above since record `since`, each with where it was raised."""
    found = []
    for record in caplog.records[since:]:
        if record.levelno < logging.ERROR:
            continue
        line = f"{record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            frames = traceback.extract_tb(record.exc_info[2])[-3:]
            where = " < ".join(
                f"{f.filename.split('/work/main/')[-1]}:{f.lineno}" for f in reversed(frames)
            )
            line += f" ({record.exc_info[0].__name__}: {record.exc_info[1]} at {where})"  # type: ignore[union-attr]
        found.append(line)
    return found


@dataclass
class Fuzz:
    """One blocking HTTP client in a worker thread, checking every answer."""

    loop: asyncio.AbstractEventLoop
    caplog: pytest.LogCaptureFixture
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60))
    #: How many requests got each status, for the report.
    statuses: Counter[int] = field(default_factory=Counter)

    def request(self, method: str, url: str, *, allowed: tuple[int, ...] = (), **kw: Any) -> int:
        """Send one request; fail unless the status is 2xx/3xx/4xx (or in `allowed` when
        given) and nothing was logged at ERROR while it was handled."""
        before = len(self.caplog.records)
        response = self.client.request(method, url, **kw)
        status = response.status_code
        self.statuses[status] += 1
        errors = error_records(self.caplog, before)
        assert status < 500, f"{method} {url} answered {status}: {errors or response.text[:300]}"
        if allowed:
            assert status in allowed, f"{method} {url} answered {status}, wanted {allowed}"
        assert not errors, f"{method} {url} ({status}) logged errors: {errors}"
        return status

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the product's event loop and wait for it (from the worker thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    async def run(self, work: Callable[[Fuzz], None]) -> None:
        try:
            await asyncio.to_thread(work, self)
        finally:
            self.client.close()
