"""The audit log: who did what to which tip, campaign, content or account, and when.

Every action that changes something (and every view of a tip) writes its entry here, in the
same transaction as the change. It belongs to no one feature: tips, campaigns, content and
accounts all write to it, and the statistics read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import AuditEntry, StaffUser, Tip

__all__ = ["SYSTEM", "ActionError", "Actor", "AuditAction", "audit"]


class ActionError(ValueError):
    """An action that cannot be done as asked; `str()` is an English message id."""


class AuditAction(StrEnum):
    """What an audit entry records (stored as its value)."""

    # tips
    VIEW = "view"
    PHOTO = "photo"
    STATUS = "status"
    ASSIGN = "assign"
    TRANSFER = "transfer"
    RECEIVED = "received"
    DUPLICATE = "duplicate"
    SHARE = "share"
    NOTE = "note"
    ASK = "ask"
    ESCALATE = "escalate"
    # campaigns
    CAMPAIGN_CREATE = "campaign_create"
    CAMPAIGN_EDIT = "campaign_edit"
    CAMPAIGN_SERIES = "campaign_series"
    CAMPAIGN_DUPLICATE = "campaign_duplicate"
    CAMPAIGN_SUBMIT = "campaign_submit"
    CAMPAIGN_APPROVE = "campaign_approve"
    CAMPAIGN_PAUSE = "campaign_pause"
    CAMPAIGN_RESUME = "campaign_resume"
    CAMPAIGN_CANCEL = "campaign_cancel"
    # content
    CONTENT_CREATE = "content_create"
    CONTENT_EDIT = "content_edit"
    CONTENT_PUBLISH = "content_publish"
    CONTENT_UNPUBLISH = "content_unpublish"
    CONTENT_RESTORE = "content_restore"
    # residents' unanswered questions
    QUESTION_ATTACH = "question_attach"
    QUESTION_DISMISS = "question_dismiss"
    # accounts and the panel
    LOGIN = "login"
    LOGOUT = "logout"
    LOGIN_FAILED = "login_failed"
    ACCOUNT_LOCKED = "account_locked"
    FORBIDDEN = "forbidden"
    PASSWORD = "password"
    TOTP_ON = "totp_on"
    TOTP_OFF = "totp_off"
    ACCOUNT_CREATED = "account_created"
    ACCOUNT_CHANGED = "account_changed"
    ALERT_CHAT = "alert_chat"


@dataclass(frozen=True)
class Actor:
    """Who is acting, for the audit log."""

    id: int | None
    username: str

    @classmethod
    def of(cls, user: StaffUser) -> Actor:
        return cls(user.id, user.username)


#: The bot itself (escalations, scheduled work).
SYSTEM = Actor(None, "system")


def audit(
    session: AsyncSession,
    actor: Actor | StaffUser,
    action: AuditAction,
    tip: Tip | None = None,
    detail: str = "",
) -> None:
    """Write an audit entry (in the caller's transaction)."""
    who = actor if isinstance(actor, Actor) else Actor.of(actor)
    session.add(
        AuditEntry(
            user_id=who.id,
            username=who.username,
            action=AuditAction(action).value,
            tip_id=tip.id if tip is not None else None,
            commune_code=tip.commune_code if tip is not None else None,
            detail=detail[:1000],
        )
    )
