"""Failed logins per client address: at most 20 per 15 minutes (in memory, per process).

The lock of an account after five wrong passwords is in the database (`bot.staff.login`);
this limit is for one client trying many names.
"""

from __future__ import annotations

import time
from collections import deque

__all__ = ["AddressThrottle"]


class AddressThrottle:
    """At most `limit` failed logins per `window` seconds from one client address."""

    def __init__(self, limit: int = 20, window: float = 900.0, max_addresses: int = 10_000):
        self.limit, self.window, self.max_addresses = limit, window, max_addresses
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, address: str) -> deque[float]:
        now = time.monotonic()
        failures = self._failures.get(address)
        if failures is None:
            if len(self._failures) >= self.max_addresses:  # bounded memory under a flood
                self._prune(now)
            failures = self._failures[address] = deque()
        while failures and failures[0] < now - self.window:
            failures.popleft()
        return failures

    def _prune(self, now: float) -> None:
        for address in [a for a, f in self._failures.items() if not f or f[-1] < now - self.window]:
            del self._failures[address]
        while len(self._failures) >= self.max_addresses:
            self._failures.pop(next(iter(self._failures)))

    def blocked(self, address: str) -> bool:
        return len(self._recent(address)) >= self.limit

    def failed(self, address: str) -> None:
        self._recent(address).append(time.monotonic())
