"""Periodic jobs, ending background tasks without cutting a transaction in half, and
waiting for the process to be told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

__all__ = ["GRACE", "Job", "wait_for_stop_signal", "wind_down"]

#: How long a loop told to stop may take to finish what it is doing before it is cancelled.
GRACE = 5.0


@dataclass(frozen=True)
class Job:
    """Work the runtime's scheduler starts every `every`, one run at a time."""

    name: str
    work: Callable[[], Coroutine[Any, Any, Any]]
    every: timedelta
    #: First run as soon as the process starts, rather than one interval later.
    at_start: bool = False


async def wind_down(tasks: Iterable[asyncio.Task[Any]], grace: float = GRACE) -> None:
    """Wait for `tasks` to finish on their own (their owner has asked them to stop); cancel
    those still running after `grace` seconds.

    Cancelling a task in the middle of a database transaction makes SQLAlchemy give the
    connection back to the pool while the driver is rolling back, which it can only log as
    an error; a loop that ends at its next turn gives the connection back cleanly."""
    pending = {task for task in tasks if not task.done()}
    if not pending:
        return
    _done, late = await asyncio.wait(pending, timeout=grace)
    for task in late:
        task.cancel()
    for task in late:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def wait_for_stop_signal() -> None:
    """Return when the process gets SIGINT (Ctrl+C) or SIGTERM (systemd, a container)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
