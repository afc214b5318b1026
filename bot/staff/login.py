"""Checking a login: the password, the lock after failures, the two-step code.

* Passwords are argon2id hashes (`bot.staff.passwords`), checked in a worker thread; an
  unknown user name and a locked account cost the same hash check, and a failed login gets
  the same answer whether the name exists, is locked or not (the panel shows one text, one
  status), so neither timing nor answers tell which names exist.
* Five wrong passwords lock the account for 15 minutes (in the database, so every process
  agrees). The panel also limits failed logins per client address (`admin.throttle`).
* TOTP codes are single-use: the time step of the last code accepted is kept, and that code
  or an older one is refused (RFC 6238, section 5.2), also when two logins race with it.
* Failed logins and lock-outs are audited (`bot.staff.security_log`); never what was typed
  as a password.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from dataclasses import dataclass
from datetime import timedelta

import pyotp
from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.audit import Actor, AuditAction, audit
from bot.models import StaffUser, utcnow
from bot.staff.passwords import DUMMY_HASH, hash_password, needs_rehash, verify_password
from bot.staff.security_log import ANONYMOUS, AuditBudget, detail_of, printable

__all__ = ["LOCK", "MAX_FAILURES", "LoginResult", "check_login", "totp_step"]

MAX_FAILURES = 5
LOCK = timedelta(minutes=15)
#: TOTP codes of one time step (30 s) before or after the server's are accepted: clock drift.
TOTP_DRIFT = 1


def totp_step(secret: str, code: str, after: int | None = None) -> int | None:
    """The time step whose code `code` is, if it is a current one of `secret` and later than
    step `after` (the last one accepted); else None. A malformed secret raises ValueError."""
    code = "".join(ch for ch in code if ch in "0123456789")
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(time.time())
    for step in range(now - TOTP_DRIFT, now + TOTP_DRIFT + 1):
        if (after is None or step > after) and hmac.compare_digest(code, totp.generate_otp(step)):
            return step
    return None


async def _claim_step(session: AsyncSession, user: StaffUser, step: int) -> bool:
    """Record `step` as used, unless this or a later one already is (a conditional UPDATE:
    of two logins racing with one code, the second waits for the first and then finds it)."""
    result = await session.execute(
        update(StaffUser)
        .where(
            col(StaffUser.id) == user.id,
            or_(col(StaffUser.totp_last_step).is_(None), col(StaffUser.totp_last_step) < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        return False
    user.totp_last_step = step
    return True


@dataclass(frozen=True)
class LoginResult:
    user: StaffUser | None
    #: "ok", "bad" (wrong name, password or code), "locked", "totp" (a code is needed).
    #: A login form shows "bad" and "locked" alike: the difference would tell a name exists.
    outcome: str


async def check_login(
    session: AsyncSession,
    username: str,
    password: str,
    totp_code: str,
    *,
    address: str = "",
    where: str = "",
    budget: AuditBudget | None = None,
) -> LoginResult:
    """Check a login (or a logged-in account's current password). Failures are audited with
    the client `address` and the page `where` it was typed; those with a name that is no
    active account only within `budget`, as they cost an attacker nothing."""
    username = username.strip().lower()[:64]
    user = (
        await session.execute(select(StaffUser).where(col(StaffUser.username) == username))
    ).scalar_one_or_none()
    now = utcnow()
    # checked whatever follows (unknown name, locked account): every failure costs the same
    ok = await asyncio.to_thread(
        verify_password, user.password_hash if user is not None else DUMMY_HASH, password[:256]
    )
    place = f"address {address}" if address else ""
    if user is None or not user.active:
        left_out = budget.take() if budget is not None else 0
        if left_out is not None:
            if user is None:  # the name as typed (never the password); no row is made for it
                actor, reason = Actor(None, printable(username, 64) or ANONYMOUS), "unknown name"
            else:
                actor, reason = Actor.of(user), "inactive account"
            detail = detail_of(reason, place, where, left_out=left_out)
            audit(session, actor, AuditAction.LOGIN_FAILED, detail=detail)
        return LoginResult(None, "bad")
    if user.locked_until is not None and user.locked_until > now:
        return LoginResult(None, "locked")  # not audited one by one: the lock-out was
    reason = "wrong password"
    if ok and user.totp_secret:
        if not totp_code.strip():
            return LoginResult(None, "totp")
        step = totp_step(user.totp_secret, totp_code)
        ok = step is not None and await _claim_step(session, user, step)
        # a right password with a replayed code: someone has the password
        reason = "wrong two-step code" if step is None else "two-step code already used"
    if not ok:
        user.failed_logins += 1
        audit(session, user, AuditAction.LOGIN_FAILED, detail=detail_of(reason, place, where))
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until, user.failed_logins = now + LOCK, 0
            audit(session, user, AuditAction.ACCOUNT_LOCKED, detail=detail_of(place, where))
        return LoginResult(None, "bad")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(hash_password, password)
    return LoginResult(user, "ok")
