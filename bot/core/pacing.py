"""Pacing sends under a platform's rate limit: evenly spaced slots, optionally per chat."""

from __future__ import annotations

import asyncio

__all__ = ["Pacer"]


class Pacer:
    """At most `rate` sends per second overall, and (if set) one per `per_chat` seconds to
    the same chat. Each caller reserves the next free slot and sleeps until it, so waiting
    callers are served in order without a busy loop."""

    def __init__(self, rate: float, per_chat: float = 0.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self.per_chat = per_chat
        self._next = 0.0
        self._chat_next: dict[str, float] = {}

    def reserve(self, chat_id: str = "") -> float:
        """Reserve a slot; returns how many seconds to wait for it."""
        now = asyncio.get_running_loop().time()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if self.per_chat and chat_id:
            slot = max(slot, self._chat_next.get(chat_id, 0.0))
            self._chat_next[chat_id] = slot + self.per_chat
            if len(self._chat_next) > 100_000:  # forget chats whose interval has passed
                self._chat_next = {k: v for k, v in self._chat_next.items() if v > now}
        return slot - now

    async def wait(self, chat_id: str = "") -> None:
        delay = self.reserve(chat_id)
        if delay > 0:
            await asyncio.sleep(delay)
