"""What the audit log says about attempts on the staff panel: failed logins, lock-outs and
403s, and the budget that keeps clients without a session from growing the log at will.

Entries a logged-in account causes are always written: they name the account, and an officer
opening another commune's tips is exactly what the log is for. Entries anyone on the internet
can cause (a 403 without a session, a failed login with a name that is no account) are
written up to `AuditBudget` per minute and process; past it they are only counted, and the
next entry written says how many were left out. Failed logins of real accounts need no
budget: five lock the account, and attempts on a locked account are not written one by one.
"""

from __future__ import annotations

import time

from bot.audit import Actor, AuditAction, audit
from bot.db import Database
from bot.models import StaffUser

__all__ = ["ANONYMOUS", "AuditBudget", "audit_forbidden", "detail_of", "printable"]

#: The audit log's name for a client without a session.
ANONYMOUS = "—"


class AuditBudget:
    """At most `limit` entries per `window` seconds for what clients without a session cause."""

    def __init__(self, limit: int = 60, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._started = time.monotonic()
        self._written = 0
        self._left_out = 0

    def take(self) -> int | None:
        """None when this entry must not be written; else how many were left out before it."""
        now = time.monotonic()
        if now - self._started >= self.window:
            self._started, self._written = now, 0
        if self._written >= self.limit:
            self._left_out += 1
            return None
        self._written += 1
        left_out, self._left_out = self._left_out, 0
        return left_out


def printable(text: str, limit: int) -> str:
    """`text` without control characters (PostgreSQL refuses NUL), cut to `limit`."""
    return "".join(ch for ch in text if ch.isprintable())[:limit]


def detail_of(*parts: str, left_out: int = 0) -> str:
    """An entry's detail: its non-empty parts, and how many entries were left out before it."""
    if left_out:
        parts = (*parts, f"{left_out} similar entries before this one not written")
    return "; ".join(p for p in parts if p)


async def audit_forbidden(
    db: Database, user: StaffUser | None, path: str, address: str, budget: AuditBudget
) -> None:
    """A 403 in the audit log: the path, the account (if logged in) and the client address."""
    left_out = 0
    if user is None:
        taken = budget.take()
        if taken is None:
            return
        left_out = taken
    actor = Actor.of(user) if user is not None else Actor(None, ANONYMOUS)
    async with db.session() as session:
        audit(
            session,
            actor,
            AuditAction.FORBIDDEN,
            detail=detail_of(printable(path, 300), f"address {address}", left_out=left_out),
        )
