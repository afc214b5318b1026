"""Creating staff accounts and setting the communes an officer works."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.audit import ActionError, AuditAction, audit
from bot.db import Database
from bot.i18n import N_
from bot.models import StaffCommune, StaffSession, StaffUser
from bot.staff.passwords import ROLES, hash_password, password_problem
from content.locality import get_unit

__all__ = [
    "USERNAME",
    "AccountError",
    "add_account",
    "change_account",
    "change_password",
    "create_account",
    "create_user",
    "end_all_sessions",
    "save_communes",
    "set_staff_language",
    "turn_totp_off",
    "turn_totp_on",
]

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class AccountError(ActionError):
    """Why an account cannot be saved (an English message id)."""


async def end_all_sessions(session: AsyncSession, user_id: int) -> None:
    """After a password change or deactivation: every browser of the account is logged out."""
    await session.execute(delete(StaffSession).where(col(StaffSession.user_id) == user_id))


async def save_communes(session: AsyncSession, user: StaffUser, codes: list[int]) -> None:
    """The communes whose queues `user` works, replacing those they had."""
    assert user.id is not None
    await session.execute(delete(StaffCommune).where(col(StaffCommune.user_id) == user.id))
    for code in sorted(set(codes)):
        if get_unit(code) is None:
            raise AccountError(N_("Unknown commune."))
        session.add(StaffCommune(user_id=user.id, commune_code=code))


async def create_user(
    session: AsyncSession,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    communes: list[int] | None = None,
) -> StaffUser:
    """A new account (not audited: the caller says who made it)."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise AccountError(
            N_("User names are 2–64 characters: letters a–z, digits, dot, dash, underscore.")
        )
    if role not in ROLES:
        raise AccountError(N_("Unknown role."))
    problem = password_problem(password, username)
    if problem:
        raise AccountError(problem)
    taken = await session.execute(
        select(col(StaffUser.id)).where(col(StaffUser.username) == username)
    )
    if taken.first() is not None:
        raise AccountError(N_("That user name is taken."))
    user = StaffUser(
        username=username,
        display_name=display_name.strip()[:120],
        role=role,
        password_hash=await asyncio.to_thread(hash_password, password),
    )
    session.add(user)
    await session.flush()
    await save_communes(session, user, communes or [])
    return user


async def add_account(
    session: AsyncSession,
    actor: StaffUser,
    username: str,
    password: str,
    role: str,
    display_name: str,
    communes: list[int],
) -> StaffUser:
    """An account made by an administrator in the panel, audited."""
    user = await create_user(session, username, password, role, display_name, communes)
    audit(session, actor, AuditAction.ACCOUNT_CREATED, detail=user.username)
    return user


async def change_account(
    session: AsyncSession,
    actor: StaffUser,
    user: StaffUser,
    *,
    role: str,
    display_name: str,
    active: bool,
    communes: list[int],
    password: str = "",
    totp_off: bool = False,
) -> None:
    """An administrator changes an account: role, name, communes, active; optionally a new
    password (which also lifts a lock) and two-step login off. A password reset, a
    deactivation or two-step login off logs the account out everywhere."""
    if role not in ROLES:
        raise AccountError(N_("Unknown role."))
    if user.id == actor.id and (role != "admin" or not active):
        raise AccountError(N_("You cannot demote or deactivate your own account."))
    user.role = role
    user.display_name = display_name.strip()[:120]
    user.active = active
    await save_communes(session, user, communes)
    changes = [f"role={user.role}", f"active={user.active}", f"communes={communes}"]
    if password:
        problem = password_problem(password, user.username)
        if problem:
            raise AccountError(problem)
        user.password_hash = await asyncio.to_thread(hash_password, password)
        user.failed_logins, user.locked_until = 0, None
        changes.append("password reset")
    if totp_off:
        user.totp_secret = None
        changes.append("two-step login off")
    if password or not active or totp_off:
        assert user.id is not None
        await end_all_sessions(session, user.id)
    audit(
        session,
        actor,
        AuditAction.ACCOUNT_CHANGED,
        detail=f"{user.username}: " + ", ".join(changes),
    )


async def create_account(
    db: Database,
    username: str,
    password: str,
    role: str,
    display_name: str,
    communes: list[int],
    made_by: str = "antq admin create-user",
) -> StaffUser:
    """An account made outside the panel (the CLI, the demo), audited as made by `made_by`."""
    async with db.session() as session:
        user = await create_user(session, username, password, role, display_name, communes)
        audit(session, user, AuditAction.ACCOUNT_CREATED, detail=made_by)
    return user


async def change_password(session: AsyncSession, user: StaffUser, password: str) -> None:
    """A new password (already checked with `password_problem`), audited. The caller ends
    the account's sessions."""
    user.password_hash = await asyncio.to_thread(hash_password, password)
    audit(session, user, AuditAction.PASSWORD)


def set_staff_language(user: StaffUser, language: str) -> None:
    """The language the panel speaks to `user` (one of `bot.i18n.LANGUAGES`)."""
    user.language = language


def turn_totp_on(session: AsyncSession, user: StaffUser, secret: str, step: int) -> None:
    """Two-step login on with `secret`; the code of time step `step`, typed to prove it,
    is used up (it will not log anyone in)."""
    user.totp_secret = secret
    user.totp_last_step = max(step, user.totp_last_step or step)
    audit(session, user, AuditAction.TOTP_ON)


def turn_totp_off(session: AsyncSession, user: StaffUser) -> None:
    user.totp_secret = None
    audit(session, user, AuditAction.TOTP_OFF)
