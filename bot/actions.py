"""Every state change the bot makes goes through here, so handlers, the admin panel and jobs
write rows one way (and, where it matters, leave an audit trail)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.text import normalise
from bot.db import PENDING_EVENTS
from bot.models import Feedback, Resident, day_start, random_id

__all__ = [
    "MAX_FEEDBACK_CHARS",
    "mark_blocked",
    "mark_onboarded",
    "record_event",
    "record_feedback",
    "set_commune",
    "set_language",
    "set_subscribed",
]

MAX_FEEDBACK_CHARS = 2000
#: Where a resident's count of events today is kept: [day ordinal, count].
_EVENT_SEQ = "_ev"


def record_event(
    session: AsyncSession, resident: Resident, kind: str, ref: str | None = None
) -> None:
    """An engagement event for the statistics. Never for anything about tips (see
    `handlers.TIP_PAYLOADS`) or feedback. Events are many and write-only: they are buffered
    and written in one statement when the session commits (see `bot.db.Database.session`).

    An event says who and on which day, nothing finer: its id is random, so the table's
    order is not the order in which residents acted (that order, next to a tip's time, would
    point at its sender), and `seq` orders one resident's events of the day (the statistics'
    menu paths), counted in the resident's own state."""
    today = day_start()
    ordinal = today.toordinal()
    day, seq = resident.state_data.get(_EVENT_SEQ) or (0, 0)
    seq = seq + 1 if day == ordinal else 1
    resident.state_data = {**resident.state_data, _EVENT_SEQ: [ordinal, seq]}
    session.info.setdefault(PENDING_EVENTS, []).append(
        {
            "id": random_id(),
            "seq": seq,
            "kind": kind,
            "ref": ref[:80] if ref else None,
            "channel": resident.channel,
            "commune_code": resident.commune_code,
            "resident_id": resident.id,
            "created_at": today,
        }
    )


def set_language(session: AsyncSession, resident: Resident, language: str) -> None:
    resident.language = language
    record_event(session, resident, "language", language)


def set_commune(session: AsyncSession, resident: Resident, commune_code: int | None) -> None:
    resident.commune_code = commune_code
    record_event(session, resident, "commune", str(commune_code) if commune_code else None)


def mark_onboarded(session: AsyncSession, resident: Resident) -> None:
    """The resident has chosen a language and a commune (or skipped it) at /start."""
    resident.onboarded = True
    record_event(session, resident, "onboarded")


def set_subscribed(session: AsyncSession, resident: Resident, subscribed: bool) -> None:
    if resident.subscribed == subscribed:
        return
    resident.subscribed = subscribed
    resident.unsubscribed_at = None if subscribed else day_start()
    record_event(session, resident, "subscribe" if subscribed else "unsubscribe")


def record_feedback(session: AsyncSession, resident: Resident, text: str) -> Feedback:
    """Store feedback without any link to who sent it: no resident id, and no engagement
    event either (an event names the resident, and its place in the table would line up
    with the feedback's)."""
    feedback = Feedback(
        channel=resident.channel,
        language=resident.language,
        commune_code=resident.commune_code,
        text=normalise(text)[:MAX_FEEDBACK_CHARS],
    )
    session.add(feedback)
    return feedback


async def mark_blocked(session: AsyncSession, channel: str, chat_id: str) -> None:
    """The platform says the resident blocked the bot: stop sending them anything."""
    await session.execute(
        update(Resident)
        .where(col(Resident.channel) == channel, col(Resident.chat_id) == chat_id)
        # to the day, like every time next to a resident (docs/anonymity.md)
        .values(subscribed=False, unsubscribed_at=day_start())
    )
