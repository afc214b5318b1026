"""Each commune's officer chat, where its new tips are announced (`bot.tips.workflow`'s
alerts read it). An administrator sets or removes it in the panel; every change is audited."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import ActionError, Actor, AuditAction, audit
from bot.core.platform import Platform
from bot.i18n import N_
from bot.models import CommuneChat, StaffUser, utcnow
from content.locality import get_unit

__all__ = ["ALERT_CHANNELS", "AlertChatError", "set_alert_chat"]

#: The platforms an officer chat can be on (the web chat has no group chats).
ALERT_CHANNELS = (Platform.TELEGRAM, Platform.ZALO_BOT, Platform.ZALO_OA)
#: A Telegram group's id is negative; Zalo's ids are letters, digits and a few signs.
CHAT_ID = re.compile(r"-?[\w.:-]{1,64}")


class AlertChatError(ActionError):
    """An officer chat that cannot be set as asked; `str()` is an English message id."""


async def set_alert_chat(
    session: AsyncSession,
    actor: Actor | StaffUser,
    commune_code: int,
    channel: str,
    chat_id: str,
) -> None:
    """New tips of `commune_code` are announced in `chat_id` on `channel`; an empty
    `chat_id` removes the commune's chat."""
    if get_unit(commune_code) is None:
        raise AlertChatError(N_("Unknown commune."))
    chat_id = chat_id.strip()
    row = await session.get(CommuneChat, commune_code)
    if not chat_id:
        if row is not None:
            await session.delete(row)
        audit(session, actor, AuditAction.ALERT_CHAT, detail=f"{commune_code}: —")
        return
    if channel not in ALERT_CHANNELS or not CHAT_ID.fullmatch(chat_id):
        raise AlertChatError(N_("The chat id is not valid."))
    if row is None:
        row = CommuneChat(commune_code=commune_code, channel=channel, chat_id=chat_id)
        session.add(row)
    row.channel, row.chat_id, row.updated_at = channel, chat_id, utcnow()
    audit(session, actor, AuditAction.ALERT_CHAT, detail=f"{commune_code}: {channel}")
