"""Pacing sends under a platform's rate limit, optionally also per chat."""

from __future__ import annotations

import asyncio

__all__ = ["Pacer"]


class Pacer:
    """At most `rate` sends per second overall, and (if set) one per `per_chat` seconds to
    the same chat.

    Waiters are let through one at a time, in order, at least `1/rate` apart as measured when
    each is let through, not when it queued: after the event loop was busy, the waiters whose
    turn has passed do not all go at once (that burst is exactly what earns a 429)."""

    def __init__(self, rate: float, per_chat: float = 0.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self.per_chat = per_chat
        self._last = float("-inf")
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
            delay = self._last + self.interval - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._last = loop.time()
