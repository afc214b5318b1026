"""Pacing sends under a platform's rate limit, optionally also per chat."""

from __future__ import annotations

import asyncio

__all__ = ["Pacer"]


class Pacer:
    """At most `rate` sends per second overall, and (if set) one per `per_chat` seconds to
    the same chat.

    Waiters are let through one at a time, in order, on a timeline of slots `1/rate` apart.
    Waking a little late does not slow the timeline down (the next slot is counted from the
    scheduled one), so the sustained rate is the configured one; two releases are never less
    than half a slot apart. Falling behind (the event loop was busy) restarts the timeline
    instead of letting the missed slots go at once, a burst that would earn exactly the 429
    this is here to avoid."""

    def __init__(self, rate: float, per_chat: float = 0.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self.per_chat = per_chat
        self._slot = float("-inf")
        self._gate = asyncio.Lock()  # FIFO
        self._chat_next: dict[str, float] = {}

    async def wait(self, chat_id: str = "") -> None:
        loop = asyncio.get_running_loop()
        if self.per_chat and chat_id:
            now = loop.time()
            slot = max(now, self._chat_next.get(chat_id, 0.0))
            self._chat_next[chat_id] = slot + self.per_chat
            if len(self._chat_next) > 100_000:  # forget chats whose interval has passed
                self._chat_next = {k: v for k, v in self._chat_next.items() if v > now}
            if slot > now:
                await asyncio.sleep(slot - now)
        async with self._gate:
            now = loop.time()
            slot = self._slot + self.interval
            if slot < now - self.interval:
                slot = now
            if slot > now:
                await asyncio.sleep(slot - now)
            # Woken late: lateness up to half a slot is absorbed, more pushes the timeline.
            self._slot = max(slot, loop.time() - self.interval / 2)
