"""Working a tip: reading it, statuses, assignment, transfer, duplicates, info copies, notes,
questions to the tipster and their answers, officer alerts and escalation. HTTP-free: the
staff panel and the bot call these, inside their own transaction.

Every change, and every time an officer reads a tip or one of its photos, is written to the
audit log in the same transaction as the change itself.
Messages to the tipster and the alerts are *private* outbox rows (deleted once delivered), so
nothing sits in the outbox next to a chat id afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.audit import SYSTEM, ActionError, Actor, AuditAction, audit
from bot.core.outbox import Pending, insert_pending
from bot.core.platform import Platform
from bot.core.text import fold, normalise
from bot.core.types import Button, Capabilities, Reply
from bot.i18n import N_, gettext, staff_text
from bot.models import (
    CommuneChat,
    Resident,
    StaffUser,
    Tip,
    TipMessage,
    TipRelay,
    TipShare,
    utcnow,
)
from bot.settings import Settings
from bot.stats.tip_rollup import TipState, record
from bot.tips.relay import RelayCipher, RelayKeyError
from bot.tips.states import CLOSED, STATUSES
from content.locality import get_unit

__all__ = [
    "ANSWER_PAYLOAD",
    "ANSWER_STATE",
    "CLOSED",
    "MAX_TEXT",
    "QUESTION_WAITS",
    "STATUSES",
    "WorkflowError",
    "add_note",
    "alert_new_tip",
    "ask_tipster",
    "assign",
    "awaiting_answer",
    "commune_label",
    "escalate_overdue",
    "mark_duplicate",
    "open_questions",
    "record_answer",
    "record_photo_view",
    "record_view",
    "search_text",
    "set_status",
    "share",
    "transfer",
]

MAX_TEXT = 4000
#: Officer alerts wait at most this long for the sweeper (they are written already expired).
_NO_LEASE = timedelta(0)


#: The conversation state in which a tipster's next message answers an officer (entered only
#: for that next message: after "Answer", or after the code and PIN).
ANSWER_STATE = "tip:answer"
#: The "Answer" button under an officer's question; typing "trả lời" does the same.
ANSWER_PAYLOAD = "tipa"
#: Officer questions fit one message on every platform (Zalo: 2,000 characters).
MAX_QUESTION = 1500
#: How long an officer's question unanswered makes the tipster's free text an answer to
#: confirm (`open_questions`); later, "Answer" or typing "trả lời" still reaches it.
QUESTION_WAITS = timedelta(days=30)

_ = N_


class WorkflowError(ActionError):
    """A tip action that cannot be done as asked; `str()` is an English message id."""


def search_text(tip: Tip) -> str:
    """What the queue search looks in, folded: code, place and what the tipster wrote."""
    return fold(" ".join([tip.code, tip.place_detail, tip.occurred, tip.description]))[:10000]


def commune_label(code: int | None) -> str:
    if code is None:
        return staff_text(N_("Province triage"))
    unit = get_unit(code)
    return unit.name if unit else str(code)


def _clean(text: str, limit: int = MAX_TEXT) -> str:
    return normalise(text)[:limit]


def _seconds_between(start: datetime, end: datetime) -> int:
    """For the statistics, which add these up (cheaper than date arithmetic on every row)."""
    return max(0, int((end - start).total_seconds()))


def _responded(tip: Tip) -> None:
    now = utcnow()
    tip.updated_at = now
    if tip.first_response_at is None:
        tip.first_response_at = now
        tip.response_seconds = _seconds_between(tip.created_at, now)


def record_view(session: AsyncSession, tip: Tip, actor: Actor) -> None:
    """`actor` opened the tip's page: the log says who read which tip."""
    audit(session, actor, AuditAction.VIEW, tip)


def record_photo_view(session: AsyncSession, tip: Tip, photo_id: int, actor: Actor) -> None:
    """`actor` opened one of the tip's photos."""
    audit(session, actor, AuditAction.PHOTO, tip, str(photo_id))


async def set_status(
    session: AsyncSession,
    tip: Tip,
    status: str,
    outcome: str,
    actor: Actor,
    settings: Settings,
) -> None:
    """Move the tip to `status`. A closed status needs an outcome note; closing starts the
    countdown after which the way back to the tipster is deleted, reopening stops it."""
    if status not in STATUSES:
        raise WorkflowError(N_("Unknown status."))
    outcome = _clean(outcome, 2000)
    if status in CLOSED and not outcome:
        raise WorkflowError(N_("Closing a tip needs an outcome note."))
    if status == tip.status and (status not in CLOSED or outcome == tip.outcome):
        return
    before = tip.status
    figures = TipState.of(tip, ZoneInfo(settings.timezone))
    now = utcnow()
    tip.status = status
    if status != "new":
        _responded(tip)
    tip.updated_at = now
    delete_after = None
    if status in CLOSED:
        closed_at = tip.closed_at if before in CLOSED and tip.closed_at is not None else now
        tip.closed_at = closed_at
        tip.close_seconds = _seconds_between(tip.created_at, closed_at)
        tip.outcome = outcome
        delete_after = closed_at + timedelta(days=settings.tip_relay_retention_days)
    else:
        tip.closed_at = None
        tip.close_seconds = None
    await session.execute(
        update(TipRelay).where(col(TipRelay.tip_id) == tip.id).values(delete_after=delete_after)
    )
    await record(session, figures, TipState.of(tip, ZoneInfo(settings.timezone)))
    audit(
        session,
        actor,
        AuditAction.STATUS,
        tip,
        f"{before} → {status}" + (f": {outcome}" if outcome else ""),
    )


async def assign(session: AsyncSession, tip: Tip, officer: StaffUser | None, actor: Actor) -> None:
    tip.assigned_to = officer.id if officer is not None else None
    tip.updated_at = utcnow()
    audit(session, actor, AuditAction.ASSIGN, tip, officer.username if officer is not None else "—")


async def transfer(
    session: AsyncSession,
    tip: Tip,
    commune_code: int | None,
    reason: str,
    actor: Actor,
    settings: Settings,
) -> list[Pending]:
    """Move the tip to another commune's queue (None: province triage). The new commune is
    alerted; the tip is unassigned, its first-response clock keeps running."""
    reason = _clean(reason, 500)
    if not reason:
        raise WorkflowError(N_("A transfer needs a reason."))
    if commune_code is not None and get_unit(commune_code) is None:
        raise WorkflowError(N_("Unknown commune."))
    if commune_code == tip.commune_code:
        raise WorkflowError(N_("The tip is already in that queue."))
    before = commune_label(tip.commune_code)
    # written before the move, so the officers who had the tip can still read the entry
    audit(
        session,
        actor,
        AuditAction.TRANSFER,
        tip,
        f"{before} → {commune_label(commune_code)}: {reason}",
    )
    zone = ZoneInfo(settings.timezone)
    figures = TipState.of(tip, zone)
    tip.commune_code = commune_code
    tip.assigned_to = None
    tip.updated_at = utcnow()
    await record(session, figures, TipState.of(tip, zone))
    audit(
        session,
        actor,
        AuditAction.RECEIVED,
        tip,
        f"{before} → {commune_label(commune_code)}: {reason}",
    )
    return await alert_new_tip(session, tip, settings)


async def mark_duplicate(
    session: AsyncSession, tip: Tip, original: Tip | None, actor: Actor
) -> None:
    """Mark `tip` as reporting the same thing as `original` (None: not a duplicate)."""
    if original is not None and (original.id == tip.id or original.duplicate_of == tip.id):
        raise WorkflowError(N_("A tip cannot be a duplicate of itself."))
    tip.duplicate_of = original.id if original is not None else None
    tip.updated_at = utcnow()
    audit(
        session, actor, AuditAction.DUPLICATE, tip, original.code if original is not None else "—"
    )


async def share(
    session: AsyncSession, tip: Tip, commune_code: int, note: str, actor: Actor
) -> None:
    """An "info only" copy for another commune: its officers may read the tip, not act."""
    if get_unit(commune_code) is None:
        raise WorkflowError(N_("Unknown commune."))
    if commune_code == tip.commune_code:
        raise WorkflowError(N_("The tip is already in that queue."))
    exists = await session.execute(
        select(col(TipShare.id)).where(
            col(TipShare.tip_id) == tip.id, col(TipShare.commune_code) == commune_code
        )
    )
    if exists.first() is not None:
        raise WorkflowError(N_("That commune already has a copy."))
    assert tip.id is not None
    session.add(TipShare(tip_id=tip.id, commune_code=commune_code, note=_clean(note, 500)))
    audit(session, actor, AuditAction.SHARE, tip, commune_label(commune_code))


async def add_note(session: AsyncSession, tip: Tip, text: str, actor: Actor) -> None:
    """An internal note: never shown to the tipster."""
    text = _clean(text)
    if not text:
        raise WorkflowError(N_("The note is empty."))
    assert tip.id is not None
    session.add(TipMessage(tip_id=tip.id, kind="note", text=text, author_id=actor.id))
    tip.updated_at = utcnow()
    audit(session, actor, AuditAction.NOTE, tip)


async def ask_tipster(
    session: AsyncSession,
    tip: Tip,
    text: str,
    actor: Actor,
    cipher: RelayCipher,
    lease: timedelta,
    capabilities: Mapping[str, Capabilities],
    *,
    timezone: str,
) -> list[Pending]:
    """Send an officer's question to the tipster through the bot, without anyone learning
    who they are: the relay record is opened here, used for one private outbox row (deleted
    once delivered) and forgotten."""
    text = normalise(text)
    if not text:
        raise WorkflowError(N_("The question is empty."))
    if len(text) > MAX_QUESTION:
        raise WorkflowError(N_("The question is too long: at most 1,500 characters."))
    if tip.status in CLOSED:
        raise WorkflowError(N_("The tip is closed; reopen it to ask the tipster."))
    relay = await session.get(TipRelay, tip.id)
    if relay is None:
        raise WorkflowError(N_("The way back to this tipster has been deleted."))
    try:
        channel, chat_id = cipher.open(relay.sealed)
    except RelayKeyError as exc:
        raise WorkflowError(N_("The way back to this tipster cannot be opened.")) from exc
    assert tip.id is not None
    session.add(TipMessage(tip_id=tip.id, kind="officer", text=text, author_id=actor.id))
    zone = ZoneInfo(timezone)
    figures = TipState.of(tip, zone)
    _responded(tip)
    await record(session, figures, TipState.of(tip, zone))
    audit(session, actor, AuditAction.ASK, tip)
    language = (
        await session.execute(
            select(col(Resident.language)).where(
                col(Resident.channel) == channel, col(Resident.chat_id) == chat_id
            )
        )
    ).scalar_one_or_none() or "vi"
    # Nothing is stored on the tipster's side (no state, no choice naming the tip): the next
    # free text, "Answer" or typing "trả lời" finds the tip again by opening the sealed
    # routes (`open_questions`, `awaiting_answer`).
    caps = capabilities.get(channel)
    buttons = caps is not None and caps.buttons

    def tr(message: str) -> str:
        return gettext(language, message)

    # Just replying answers (handlers.tip_followup.offer_answer); where there are buttons,
    # "Answer" too. Never "tap" where nothing can be tapped.
    how = (
        tr(
            _(
                "To answer, tap “✍️ Answer” or just type your answer here. "
                "The officer does not see who you are."
            )
        )
        if buttons
        else tr(_("To answer, just type your answer here. The officer does not see who you are."))
    )
    reply = Reply(
        text=tr(_("An officer has a question about report {code}:")).format(code=tip.code)
        + f"\n\n{text}\n\n{how}",
        buttons=[[Button(tr(_("✍️ Answer")), ANSWER_PAYLOAD)], [Button(tr(_("🏠 Main menu")), "m")]]
        if buttons
        else [],
        private=True,
    )
    return await insert_pending(
        session, [(channel, chat_id, reply.to_json())], lease, kind="private"
    )


async def awaiting_answer(
    session: AsyncSession, route: tuple[str, str], cipher: RelayCipher, limit: int = 5000
) -> Tip | None:
    """The open tip sent from `route` (channel, chat id) with the latest officer question, if
    any: found by opening the sealed routes of open tips with questions, so nothing stored
    says which chat is waiting to answer which tip."""
    latest = (
        select(col(TipMessage.tip_id), func.max(col(TipMessage.id)).label("last"))
        .where(col(TipMessage.kind) == "officer")
        .group_by(col(TipMessage.tip_id))
        .subquery()
    )
    rows = (
        await session.execute(
            select(col(TipRelay.tip_id), col(TipRelay.sealed))
            .join(latest, latest.c.tip_id == col(TipRelay.tip_id))
            .join(Tip, col(Tip.id) == col(TipRelay.tip_id))
            .where(col(Tip.status).not_in(CLOSED))
            .order_by(latest.c.last.desc())
            .limit(limit)
        )
    ).all()
    for tip_id, sealed in rows:
        try:
            if cipher.open(sealed) == route:
                return await session.get(Tip, tip_id)
        except RelayKeyError:
            continue
    return None


async def open_questions(
    session: AsyncSession,
    route: tuple[str, str],
    cipher: RelayCipher,
    *,
    unanswered: bool = True,
    limit: int = 5000,
) -> list[Tip]:
    """The open tips sent from `route` (channel, chat id) with an officer's question, the
    latest question first; with `unanswered`, only those whose latest question is newer than
    the tipster's latest answer and at most `QUESTION_WAITS` old. Found like
    `awaiting_answer`, by opening the sealed routes of the tips that qualify (one query; no
    decryption at all when no question waits), so nothing stored says which chat waits."""
    kind, message_id = col(TipMessage.kind), col(TipMessage.id)
    asked = func.max(case((kind == "officer", message_id)))
    open_tips = (
        select(col(TipRelay.tip_id))
        .join(Tip, col(Tip.id) == col(TipRelay.tip_id))
        .where(col(Tip.status).not_in(CLOSED))
    )
    threads = (
        select(col(TipMessage.tip_id), asked.label("asked"))
        .where(kind.in_(("officer", "tipster")), col(TipMessage.tip_id).in_(open_tips))
        .group_by(col(TipMessage.tip_id))
        .having(asked.is_not(None))
    )
    if unanswered:
        answered = func.max(case((kind == "tipster", message_id)))
        asked_at = func.max(case((kind == "officer", col(TipMessage.created_at))))
        threads = threads.having(
            or_(answered.is_(None), answered < asked), asked_at >= utcnow() - QUESTION_WAITS
        )
    waiting = threads.subquery()
    rows = (
        await session.execute(
            select(col(TipRelay.tip_id), col(TipRelay.sealed))
            .join(waiting, waiting.c.tip_id == col(TipRelay.tip_id))
            .order_by(waiting.c.asked.desc())
            .limit(limit)
        )
    ).all()
    mine: list[int] = []
    for tip_id, sealed in rows:
        try:
            if cipher.open(sealed) == route:
                mine.append(tip_id)
        except RelayKeyError:
            continue
    if not mine:
        return []
    tips = {
        tip.id: tip
        for tip in (await session.execute(select(Tip).where(col(Tip.id).in_(mine)))).scalars()
    }
    return [tips[tip_id] for tip_id in mine if tip_id in tips]


async def record_answer(
    session: AsyncSession, tip: Tip, text: str, settings: Settings
) -> list[Pending]:
    """The tipster's answer joins the thread; the commune's officers get a content-free
    alert."""
    assert tip.id is not None
    session.add(TipMessage(tip_id=tip.id, kind="tipster", text=_clean(text)))
    tip.updated_at = utcnow()
    return await _alert(
        session,
        tip,
        settings,
        N_("The tipster answered on report {code} ({commune})."),
    )


async def alert_new_tip(session: AsyncSession, tip: Tip, settings: Settings) -> list[Pending]:
    """ "Có tin báo mới trong hàng đợi của xã X — mã TG-…" to the commune's officer chat (or
    the province's alert chat for triage): no content, a link to the panel."""
    return await _alert(
        session,
        tip,
        settings,
        N_("🚨 New urgent report in the queue of {commune} — code {code}.")
        if tip.urgent
        else N_("New report in the queue of {commune} — code {code}."),
    )


async def _alert(
    session: AsyncSession, tip: Tip, settings: Settings, message: str
) -> list[Pending]:
    target: tuple[str, str] | None = None
    if tip.commune_code is not None:
        chat = await session.get(CommuneChat, tip.commune_code)
        if chat is not None:
            target = (chat.channel, chat.chat_id)
    elif settings.staff_alert_telegram_chat_id:
        target = (Platform.TELEGRAM, settings.staff_alert_telegram_chat_id)
    if target is None:
        return []
    text = staff_text(message).format(code=tip.code, commune=commune_label(tip.commune_code))
    link = tip_link(settings, tip.code)
    if link:
        text += f"\n{link}"
    # written with an expired lease: the sweeper sends it within seconds, from any process
    # private: deleted once delivered, like everything that names a tip
    return await insert_pending(session, [(*target, {"text": text})], _NO_LEASE, kind="private")


def tip_link(settings: Settings, code: str) -> str:
    base = settings.public_url.rstrip("/")
    return f"{base}/admin/tips/{code}" if base else ""


async def escalate_overdue(session: AsyncSession, settings: Settings) -> list[Tip]:
    """Mark tips past their first-response deadline as escalated (once each) and alert the
    province administrators; returns the tips escalated now."""
    now = utcnow()
    due = and_(
        col(Tip.first_response_at).is_(None),
        col(Tip.first_response_due) < now,
        col(Tip.escalated_at).is_(None),
        col(Tip.status).not_in(CLOSED),
    )
    # UPDATE … RETURNING claims each tip once, whichever process runs the job
    claimed = (
        (
            await session.execute(
                update(Tip).where(due).values(escalated_at=now).returning(col(Tip.id))
            )
        )
        .scalars()
        .all()
    )
    if not claimed:
        return []
    tips = list(
        (
            await session.execute(
                select(Tip)
                .where(col(Tip.id).in_(claimed))
                .order_by(col(Tip.id))
                .execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    zone = ZoneInfo(settings.timezone)
    for tip in tips:
        escalated = TipState.of(tip, zone)
        await record(session, escalated.without("escalated"), escalated)
        audit(session, SYSTEM, AuditAction.ESCALATE, tip)
    if settings.staff_alert_telegram_chat_id:
        lines = [staff_text(N_("Reports past their first-response deadline:"))]
        lines += [f"• {t.code} — {commune_label(t.commune_code)}" for t in tips[:30]]
        if len(tips) > 30:
            lines.append(f"… (+{len(tips) - 30})")
        chat = settings.staff_alert_telegram_chat_id
        alert = (Platform.TELEGRAM, chat, {"text": "\n".join(lines)})
        await insert_pending(session, [alert], _NO_LEASE, kind="alert")
    return tips
