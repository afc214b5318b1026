"""How many tips one resident sent today — kept in memory only.

A counter in the database would itself say who sent tips (and when), next to nothing else
but enough to point at a tipster on a quiet day. So the count lives in the process, keyed by
an HMAC of the chat (not the chat id), and is forgotten at the end of the day and on restart.
With several processes each counts on its own: the limit is approximate, which is enough to
keep one abuser from flooding a commune's queue."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date

__all__ = ["DailyLimit"]


class DailyLimit:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._key = secrets.token_bytes(32)  # per process: the keys mean nothing outside it
        self._day: date | None = None
        self._counts: dict[str, int] = {}

    def _id(self, channel: str, chat_id: str) -> str:
        return hmac.new(self._key, f"{channel}:{chat_id}".encode(), hashlib.sha256).hexdigest()

    def _today(self, today: date) -> dict[str, int]:
        if today != self._day:
            self._day, self._counts = today, {}
        return self._counts

    def allowed(self, channel: str, chat_id: str, today: date) -> bool:
        return self._today(today).get(self._id(channel, chat_id), 0) < self.limit

    def count(self, channel: str, chat_id: str, today: date) -> None:
        counts = self._today(today)
        key = self._id(channel, chat_id)
        counts[key] = counts.get(key, 0) + 1
