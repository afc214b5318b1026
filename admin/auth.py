"""Staff accounts: argon2 passwords, sessions, login throttling, TOTP, roles.

* Passwords are argon2id hashes (argon2-cffi's defaults), checked in a worker thread; an
  unknown user name costs the same hash check, so timing does not tell which names exist.
* A session is a random 256-bit token in an HttpOnly, SameSite=Strict cookie; the database
  keeps only its SHA-256, with the session's CSRF token and its expiry. Logging in always
  makes a new session (no fixation), logging out deletes it.
* Throttling: five wrong passwords lock the account for 15 minutes (in the database, so every
  process agrees); one client address gets at most 20 failed logins per 15 minutes (in memory,
  per process).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections import deque
from dataclasses import dataclass
from datetime import timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.models import StaffCommune, StaffSession, StaffUser, utcnow
from bot.tips.workflow import N_

__all__ = [
    "MIN_PASSWORD",
    "ROLES",
    "AddressThrottle",
    "LoginResult",
    "Staff",
    "check_login",
    "end_session",
    "hash_password",
    "load_session",
    "new_session",
    "password_problem",
    "verify_totp",
]

ROLES = ("admin", "officer", "propaganda")
MIN_PASSWORD = 10
MAX_FAILURES = 5
LOCK = timedelta(minutes=15)
_hasher = PasswordHasher()
# checked against when the user name is unknown, so both paths cost one argon2 verification
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_problem(password: str, username: str = "") -> str | None:
    """An English message id saying what is wrong with a new password, or None."""
    if len(password) < MIN_PASSWORD:
        return N_("The password must have at least 10 characters.")
    if len(password) > 256:
        return N_("The password is too long.")
    if username and username.lower() in password.lower():
        return N_("The password must not contain the user name.")
    return None


def verify_totp(secret: str, code: str) -> bool:
    code = "".join(ch for ch in code if ch.isdigit())
    return len(code) == 6 and pyotp.TOTP(secret).verify(code, valid_window=1)


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


@dataclass(frozen=True)
class LoginResult:
    user: StaffUser | None
    #: "ok", "bad" (wrong name, password or code), "locked", "totp" (a code is needed)
    outcome: str


async def check_login(
    session: AsyncSession, username: str, password: str, totp_code: str
) -> LoginResult:
    username = username.strip().lower()[:64]
    user = (
        await session.execute(select(StaffUser).where(col(StaffUser.username) == username))
    ).scalar_one_or_none()
    now = utcnow()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        return LoginResult(None, "locked")
    ok = await asyncio.to_thread(
        _verify, user.password_hash if user is not None else _DUMMY_HASH, password[:256]
    )
    if user is None or not user.active:
        return LoginResult(None, "bad")
    if ok and user.totp_secret:
        if not totp_code.strip():
            return LoginResult(None, "totp")
        ok = verify_totp(user.totp_secret, totp_code)
    if not ok:
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until, user.failed_logins = now + LOCK, 0
        return LoginResult(None, "bad")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(hash_password, password)
    return LoginResult(user, "ok")


async def new_session(session: AsyncSession, user: StaffUser, lifetime: timedelta) -> str:
    """A fresh session for `user`; returns the cookie token (only its digest is stored)."""
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
    return token


async def load_session(session: AsyncSession, token: str, idle: timedelta) -> Staff | None:
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
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
    communes = (
        await session.execute(
            select(col(StaffCommune.commune_code)).where(col(StaffCommune.user_id) == user.id)
        )
    ).scalars()
    return Staff(user, frozenset(communes), digest, row.csrf)


async def end_session(session: AsyncSession, session_id: str) -> None:
    await session.execute(delete(StaffSession).where(col(StaffSession.id) == session_id))


async def end_all_sessions(session: AsyncSession, user_id: int) -> None:
    """After a password change or deactivation: every browser of the account is logged out."""
    await session.execute(delete(StaffSession).where(col(StaffSession.user_id) == user_id))


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
