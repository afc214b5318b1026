"""Staff login sessions: opening one at login, finding it again on each request, ending it.

A session is a random 256-bit token in the browser's cookie; the database keeps only its
SHA-256, with the session's CSRF token and its expiry. Logging in always makes a new session
(no fixation), logging out deletes it. Opening and ending one are audited (login, logout);
the requests in between are not.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.audit import AuditAction, audit
from bot.models import StaffCommune, StaffSession, StaffUser, utcnow

__all__ = ["Staff", "end_session", "load_session", "open_session"]

#: A session's last_seen_at is written at most this often (not on every request).
TOUCH_EVERY = timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Staff:
    """The logged-in account and what it may see."""

    user: StaffUser
    communes: frozenset[int]
    session_id: str
    csrf: str

    @property
    def id(self) -> int:
        assert self.user.id is not None
        return self.user.id

    @property
    def is_admin(self) -> bool:
        return self.user.role == "admin"

    @property
    def works_tips(self) -> bool:
        return self.user.role in ("admin", "officer")


async def open_session(session: AsyncSession, user: StaffUser, lifetime: timedelta) -> str:
    """`user` has logged in: a fresh session, audited; returns the cookie token (only its
    digest is stored)."""
    assert user.id is not None
    token = secrets.token_urlsafe(32)
    now = utcnow()
    # expired sessions of anyone are swept here: logins are rare, so this stays cheap
    await session.execute(delete(StaffSession).where(col(StaffSession.expires_at) < now))
    session.add(
        StaffSession(
            id=_digest(token),
            user_id=user.id,
            csrf=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
        )
    )
    audit(session, user, AuditAction.LOGIN)
    return token


async def load_session(session: AsyncSession, token: str, idle: timedelta) -> Staff | None:
    """The account logged in with the cookie `token`, or None. A session past its expiry or
    idle longer than `idle` (or of an account no longer active) is deleted; a live one's
    last_seen_at moves on."""
    if not token or len(token) > 100:
        return None
    digest = _digest(token)
    row = await session.get(StaffSession, digest)
    now = utcnow()
    if row is None:
        return None
    if row.expires_at < now or row.last_seen_at + idle < now:
        await session.delete(row)
        return None
    user = await session.get(StaffUser, row.user_id)
    if user is None or not user.active:
        await session.delete(row)
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
    communes = (
        await session.execute(
            select(col(StaffCommune.commune_code)).where(col(StaffCommune.user_id) == user.id)
        )
    ).scalars()
    return Staff(user, frozenset(communes), digest, row.csrf)


async def end_session(session: AsyncSession, staff: Staff) -> None:
    """`staff` logs out: their session is deleted, audited."""
    await session.execute(delete(StaffSession).where(col(StaffSession.id) == staff.session_id))
    audit(session, staff.user, AuditAction.LOGOUT)
