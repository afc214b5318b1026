"""Wrong PINs typed with report codes that do not exist, locked like those of real codes.

A real code counts its wrong PINs on the tip and is locked for a while after too many. If a
code that does not exist went on answering "not right" for ever, the lock would tell a
guesser which codes exist. So unknown codes lock the same way, counted here: in memory, per
process, keyed by an HMAC with a key of this process (a mistyped code is close to a real
one), for at most `capacity` codes, the least recently tried forgotten first.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

__all__ = ["UnknownCodeLocks"]


class UnknownCodeLocks:
    def __init__(self, max_failures: int, lock: timedelta, capacity: int = 10_000) -> None:
        self.max_failures, self.lock, self.capacity = max_failures, lock, capacity
        self._key = secrets.token_bytes(32)  # per process: the keys mean nothing outside it
        #: failures since the last lock, and when the lock ends; in order of the last try
        self._codes: dict[str, tuple[int, datetime | None]] = {}

    def _id(self, code: str) -> str:
        return hmac.new(self._key, code.encode(), hashlib.sha256).hexdigest()

    def locked(self, code: str, now: datetime) -> bool:
        """Whether `code` is locked now, as a real code would be after as many wrong PINs."""
        _, until = self._codes.get(self._id(code), (0, None))
        return until is not None and until > now

    def failed(self, code: str, now: datetime) -> None:
        """A wrong PIN for `code` (not locked): the last allowed one locks it, and the count
        starts again, as on a tip."""
        failures, until = self._codes.pop(self._id(code), (0, None))
        failures += 1
        if failures >= self.max_failures:
            failures, until = 0, now + self.lock
        self._codes[self._id(code)] = (failures, until)
        while len(self._codes) > self.capacity:
            del self._codes[next(iter(self._codes))]
