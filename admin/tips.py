"""The tip queue and the tip page: filters, diacritics-insensitive search, the thread with the
tipster, internal notes, clean photos, de-identification hints, and every action on a tip.

Access: province administrators see and work every tip (and the province triage queue);
a commune officer sees and works the tips of the communes assigned to them, and reads (only)
the tips another unit copied to those communes; propaganda staff see no tip at all. Anything
else is 403, for the page and for every action. Every view and every change is audited.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlencode

from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy import ColumnElement, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from admin._web import DEPS, Panel, form, known_message, redirect, render, require_staff, whole
from bot.audit import Actor
from bot.core.outbox import Pending
from bot.core.text import fold
from bot.i18n import N_
from bot.models import (
    AuditEntry,
    StaffCommune,
    StaffUser,
    Tip,
    TipMessage,
    TipPhoto,
    TipRelay,
    TipShare,
    utcnow,
)
from bot.staff import Staff
from bot.tips import workflow
from bot.tips.codes import normalise_code
from bot.tips.pii import find_identifiers
from bot.tips.states import CATEGORIES, CATEGORY_LABELS, CLOSED, STATUS_LABELS, STATUSES
from bot.tips.workflow import WorkflowError, commune_label
from content.locality import units

__all__ = ["scope", "setup"]

PAGE = 50
Access = Literal["work", "read"]

#: English message ids; the templates translate them.
PII_LABELS = {
    "phone": N_("phone number"),
    "cccd": N_("citizen ID number"),
    "cmnd": N_("old ID number"),
    "plate": N_("vehicle plate"),
    "email": N_("e-mail address"),
    "bank_account": N_("bank account"),
}
SORTS: dict[str, tuple[Any, ...]] = {
    "new": (col(Tip.created_at).desc(), col(Tip.id).desc()),
    "old": (col(Tip.created_at).asc(), col(Tip.id).asc()),
    "due": (col(Tip.first_response_due).asc(), col(Tip.id).asc()),
    "updated": (col(Tip.updated_at).desc(), col(Tip.id).desc()),
}


def scope(staff: Staff) -> ColumnElement[bool]:
    """The tips `staff` may see (work or read)."""
    if staff.is_admin:
        return true()
    if not staff.works_tips or not staff.communes:
        return false()
    shared = select(col(TipShare.tip_id)).where(col(TipShare.commune_code).in_(staff.communes))
    return or_(col(Tip.commune_code).in_(staff.communes), col(Tip.id).in_(shared))


async def access(session: AsyncSession, staff: Staff, tip: Tip) -> Access | None:
    if staff.is_admin:
        return "work"
    if not staff.works_tips:
        return None
    if tip.commune_code is not None and tip.commune_code in staff.communes:
        return "work"
    shared = await session.execute(
        select(col(TipShare.id)).where(
            col(TipShare.tip_id) == tip.id, col(TipShare.commune_code).in_(staff.communes)
        )
    )
    return "read" if shared.first() is not None else None


def _tips_only(staff: Staff) -> None:
    if not staff.works_tips:
        raise web.HTTPForbidden()


@dataclass
class Filters:
    status: str = "open"
    category: str = ""
    commune: str = ""
    urgent: bool = False
    overdue: bool = False
    q: str = ""
    sort: str = "new"
    page: int = 1

    @classmethod
    def parse(cls, query: Any) -> Filters:
        f = cls()
        status = query.get("status", "open")
        f.status = status if status in (*STATUSES, "open", "closed", "all") else "open"
        f.category = query.get("category", "") if query.get("category") in CATEGORIES else ""
        commune = query.get("commune", "")
        f.commune = commune if commune == "triage" or whole(commune) else ""
        f.urgent = query.get("urgent") == "1"
        f.overdue = query.get("overdue") == "1"
        f.q = query.get("q", "")[:200]
        f.sort = query.get("sort") if query.get("sort") in SORTS else "new"
        page = query.get("page", "1")
        f.page = max(1, min(int(page), 10_000)) if whole(page) else 1
        return f

    def where(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.status == "open":
            conditions.append(col(Tip.status).not_in(CLOSED))
        elif self.status == "closed":
            conditions.append(col(Tip.status).in_(CLOSED))
        elif self.status != "all":
            conditions.append(col(Tip.status) == self.status)
        if self.category:
            conditions.append(col(Tip.category) == self.category)
        if self.commune == "triage":
            conditions.append(col(Tip.commune_code).is_(None))
        elif self.commune:
            conditions.append(col(Tip.commune_code) == int(self.commune))
        if self.urgent:
            conditions.append(col(Tip.urgent).is_(True))
        if self.overdue:
            conditions += _overdue()
        for word in fold(self.q).split()[:8]:
            # every word, anywhere in the folded code, place or description; LIKE wildcards
            # typed by the officer are matched literally
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(col(Tip.search_text).like(f"%{escaped}%", escape="\\"))
        return conditions

    def link(self, **change: Any) -> str:
        """The queue's URL with these filters, some of them changed."""
        values = {**self.__dict__, **change}
        return "?" + urlencode(
            {
                k: int(v) if isinstance(v, bool) else v
                for k, v in values.items()
                if v not in ("", False) and not (k == "page" and v == 1)
            }
        )


def _overdue() -> list[ColumnElement[bool]]:
    return [
        col(Tip.status).not_in(CLOSED),
        col(Tip.first_response_at).is_(None),
        col(Tip.first_response_due) < utcnow(),
    ]


def is_overdue(tip: Tip) -> bool:
    return (
        tip.status not in CLOSED
        and tip.first_response_at is None
        and tip.first_response_due is not None
        and tip.first_response_due < utcnow()
    )


def _communes(staff: Staff, province: int) -> list[tuple[int, str]]:
    every = [(c.code, c.name) for c in units(province)]
    return every if staff.is_admin else [(c, n) for c, n in every if c in staff.communes]


async def queue(request: web.Request) -> web.StreamResponse:
    staff = require_staff(request)
    _tips_only(staff)
    panel = request.app[DEPS]
    f = Filters.parse(request.query)
    async with panel.db.session() as session:
        where = [scope(staff), *f.where()]
        total = (
            await session.execute(select(func.count()).select_from(Tip).where(*where))
        ).scalar_one()
        rows = (
            (
                await session.execute(
                    select(Tip)
                    .where(*where)
                    .order_by(*SORTS[f.sort])
                    .limit(PAGE)
                    .offset((f.page - 1) * PAGE)
                )
            )
            .scalars()
            .all()
        )
    return render(
        request,
        "tips.html",
        tips=rows,
        total=total,
        f=f,
        pages=max(1, (total + PAGE - 1) // PAGE),
        communes=_communes(staff, panel.settings.province_code),
        categories=CATEGORY_LABELS,
        statuses=STATUS_LABELS,
        commune_label=commune_label,
        is_overdue=is_overdue,
    )


async def _tip_by_code(session: AsyncSession, code: str) -> Tip | None:
    return (await session.execute(select(Tip).where(col(Tip.code) == code))).scalar_one_or_none()


async def _tip_for(session: AsyncSession, request: web.Request, staff: Staff, need: Access) -> Tip:
    _tips_only(staff)
    code = normalise_code(request.match_info["code"])
    tip = await _tip_by_code(session, code) if code else None
    if tip is None:
        raise web.HTTPNotFound()
    allowed = await access(session, staff, tip)
    if allowed is None or (need == "work" and allowed != "work"):
        raise web.HTTPForbidden()
    return tip


def _highlight(text: str) -> list[tuple[str, str | None]]:
    """The text cut into (piece, identifier kind or None) for the de-identification hints."""
    pieces: list[tuple[str, str | None]] = []
    at = 0
    for hint in find_identifiers(text):
        if hint.start < at:
            continue
        pieces.append((text[at : hint.start], None))
        pieces.append((text[hint.start : hint.end], hint.kind))
        at = hint.end
    pieces.append((text[at:], None))
    return [(p, k) for p, k in pieces if p]


async def tip_page(request: web.Request) -> web.StreamResponse:
    staff = require_staff(request)
    panel = request.app[DEPS]
    async with panel.db.session() as session:
        tip = await _tip_for(session, request, staff, "read")
        can_work = await access(session, staff, tip) == "work"
        workflow.record_view(session, tip, Actor.of(staff.user))
        messages = list(
            (
                await session.execute(
                    select(TipMessage)
                    .where(col(TipMessage.tip_id) == tip.id)
                    .order_by(col(TipMessage.id))
                )
            )
            .scalars()
            .all()
        )
        photos = (
            await session.execute(
                select(col(TipPhoto.id), col(TipPhoto.width), col(TipPhoto.height))
                .where(col(TipPhoto.tip_id) == tip.id)
                .order_by(col(TipPhoto.id))
            )
        ).all()
        authors = {
            u.id: u.display_name or u.username
            for u in (await session.execute(select(StaffUser))).scalars()
        }
        officers = await _officers_for(session, tip.commune_code)
        duplicate = await session.get(Tip, tip.duplicate_of) if tip.duplicate_of else None
        if duplicate is not None and await access(session, staff, duplicate) is None:
            duplicate = None  # the page says "another tip": not its code, not its commune
        shares = (
            (await session.execute(select(TipShare).where(col(TipShare.tip_id) == tip.id)))
            .scalars()
            .all()
        )
        history = (
            (
                await session.execute(
                    select(AuditEntry)
                    .where(col(AuditEntry.tip_id) == tip.id, col(AuditEntry.action) != "view")
                    .order_by(col(AuditEntry.id))
                )
            )
            .scalars()
            .all()
        )
        has_relay = await session.get(TipRelay, tip.id) is not None
        hidden = await _hidden_originals(session, staff, history)
    return render(
        request,
        "tip.html",
        tip=tip,
        can_work=can_work,
        thread=[m for m in messages if m.kind != "note"],
        notes=[m for m in messages if m.kind == "note"],
        photos=photos,
        authors=authors,
        officers=officers,
        duplicate=duplicate,
        shares=shares,
        history=history,
        hidden=hidden,
        has_relay=has_relay,
        highlight=_highlight,
        pii_labels=PII_LABELS,
        statuses=STATUS_LABELS,
        closed=CLOSED,
        categories=CATEGORY_LABELS,
        communes=[(c.code, c.name) for c in units(panel.settings.province_code)],
        commune_label=commune_label,
        overdue=is_overdue(tip),
        error=known_message(request.query.get("error", "")),
    )


async def _hidden_originals(
    session: AsyncSession, staff: Staff, entries: Sequence[AuditEntry]
) -> set[int]:
    """The ids of the "duplicate" entries among `entries` whose detail, the code of the tip
    marked as the original, names a tip `staff` may not see (in another commune)."""
    codes = {e.detail for e in entries if e.action == "duplicate" and e.detail != "—"}
    if staff.is_admin or not codes:
        return set()
    visible = set(
        (
            await session.execute(
                select(col(Tip.code)).where(col(Tip.code).in_(codes), scope(staff))
            )
        ).scalars()
    )
    return {
        e.id
        for e in entries
        if e.id is not None and e.action == "duplicate" and e.detail in codes - visible
    }


async def _officers_for(session: AsyncSession, commune: int | None) -> list[StaffUser]:
    """Who a tip in `commune` can be assigned to: its officers and the administrators."""
    officers = select(col(StaffCommune.user_id)).where(col(StaffCommune.commune_code) == commune)
    condition = col(StaffUser.role) == "admin"
    if commune is not None:
        condition = or_(condition, col(StaffUser.id).in_(officers))
    return list(
        (
            await session.execute(
                select(StaffUser)
                .where(col(StaffUser.active).is_(True), condition)
                .order_by(col(StaffUser.username))
            )
        )
        .scalars()
        .all()
    )


async def photo(request: web.Request) -> web.StreamResponse:
    staff = require_staff(request)
    panel = request.app[DEPS]
    photo_id = request.match_info["photo"]
    if not whole(photo_id):
        raise web.HTTPNotFound()
    async with panel.db.session() as session:
        tip = await _tip_for(session, request, staff, "read")
        row = await session.get(TipPhoto, int(photo_id))
        if row is None or row.tip_id != tip.id:
            raise web.HTTPNotFound()
        assert row.id is not None
        workflow.record_photo_view(session, tip, row.id, Actor.of(staff.user))
    return web.Response(
        body=row.content,
        content_type=row.mime,
        headers={"Content-Disposition": f'inline; filename="{tip.code}-{row.id}.jpg"'},
    )


def _commune_arg(value: str) -> int | None:
    """A commune code from a form ("triage" or empty: the province triage queue)."""
    if whole(value):
        return int(value)
    if value in ("", "triage"):
        return None
    raise WorkflowError(N_("Unknown commune."))


async def act(request: web.Request) -> web.StreamResponse:
    """Every action on a tip: one POST route, the action in the URL."""
    staff = require_staff(request)
    panel = request.app[DEPS]
    action = request.match_info["action"]
    if action not in _ACTIONS:
        raise web.HTTPNotFound()
    data = await form(request)
    pending: list[Pending] = []
    error = ""
    async with panel.db.session() as session:
        tip = await _tip_for(session, request, staff, "work")
        code = tip.code
        try:
            async with session.begin_nested():  # a refused action changes nothing
                pending = await _ACTIONS[action](_Posted(session, tip, data, staff, panel))
        except WorkflowError as exc:
            error = str(exc)
            pending = []
    if pending and panel.outbox is not None:
        panel.outbox.send_soon(pending)
    if error:
        raise redirect(f"/admin/tips/{code}?error={quote(error)}#actions")
    if action == "transfer" and not staff.is_admin:
        raise redirect("/admin/tips")  # most likely no longer in this officer's queues
    raise redirect(f"/admin/tips/{code}")


@dataclass(frozen=True)
class _Posted:
    """An action on a tip as posted: the tip, the form, who posts it, the process."""

    session: AsyncSession
    tip: Tip
    data: MultiDictProxy[str]
    staff: Staff
    panel: Panel

    @property
    def actor(self) -> Actor:
        return Actor.of(self.staff.user)


async def _set_status(p: _Posted) -> list[Pending]:
    status, outcome = p.data.get("status", ""), p.data.get("outcome", "")
    await workflow.set_status(p.session, p.tip, status, outcome, p.actor, p.panel.settings)
    return []


async def _assign(p: _Posted) -> list[Pending]:
    """To one of the officers who may work the tip, or to no one (an empty choice)."""
    officer = None
    if whole(p.data.get("officer", "")):
        candidates = await _officers_for(p.session, p.tip.commune_code)
        officer = next((o for o in candidates if o.id == int(p.data["officer"])), None)
        if officer is None:
            raise WorkflowError(N_("That account cannot work this tip."))
    await workflow.assign(p.session, p.tip, officer, p.actor)
    return []


async def _transfer(p: _Posted) -> list[Pending]:
    # the new commune's alert is written already expired: the sweeper sends it
    commune = _commune_arg(p.data.get("commune", ""))
    reason = p.data.get("reason", "")
    await workflow.transfer(p.session, p.tip, commune, reason, p.actor, p.panel.settings)
    return []


async def _mark_duplicate(p: _Posted) -> list[Pending]:
    """Of the tip whose code is typed (one the officer may see), or of none (empty)."""
    original = None
    if p.data.get("original", "").strip():
        code = normalise_code(p.data["original"])
        original = await _tip_by_code(p.session, code) if code else None
        if original is None or await access(p.session, p.staff, original) is None:
            raise WorkflowError(N_("No such tip in your queues."))
    await workflow.mark_duplicate(p.session, p.tip, original, p.actor)
    return []


async def _share(p: _Posted) -> list[Pending]:
    commune = _commune_arg(p.data.get("commune", ""))
    if commune is None:
        raise WorkflowError(N_("Unknown commune."))
    await workflow.share(p.session, p.tip, commune, p.data.get("note", ""), p.actor)
    return []


async def _add_note(p: _Posted) -> list[Pending]:
    await workflow.add_note(p.session, p.tip, p.data.get("text", ""), p.actor)
    return []


async def _ask_tipster(p: _Posted) -> list[Pending]:
    """A question relayed to the tipster: the messages to send once committed."""
    cipher, outbox = p.panel.cipher(), p.panel.outbox
    if cipher is None or outbox is None:
        raise WorkflowError(N_("Messages to tipsters are not configured."))
    capabilities = {name: channel.caps for name, channel in outbox.channels.items()}
    return await workflow.ask_tipster(
        p.session,
        p.tip,
        p.data.get("text", ""),
        p.actor,
        cipher,
        outbox.lease,
        capabilities,
        timezone=p.panel.settings.timezone,
    )


#: Every action on a tip, by its name in the URL: each returns the messages it wrote.
_ACTIONS: dict[str, Callable[[_Posted], Awaitable[list[Pending]]]] = {
    "status": _set_status,
    "assign": _assign,
    "transfer": _transfer,
    "duplicate": _mark_duplicate,
    "share": _share,
    "note": _add_note,
    "ask": _ask_tipster,
}


async def audit_page(request: web.Request) -> web.StreamResponse:
    """The audit log: everything for administrators, their communes' tips for officers."""
    staff = require_staff(request)
    _tips_only(staff)
    panel = request.app[DEPS]
    page = request.query.get("page", "1")
    number = max(1, min(int(page), 10_000)) if whole(page) else 1
    stmt = select(AuditEntry, col(Tip.code)).outerjoin(Tip, col(Tip.id) == col(AuditEntry.tip_id))
    if not staff.is_admin:
        stmt = stmt.where(
            or_(
                col(AuditEntry.commune_code).in_(staff.communes),
                col(AuditEntry.user_id) == staff.id,
            )
        )
    tip_code = normalise_code(request.query.get("tip", "")) if request.query.get("tip") else None
    if tip_code:
        stmt = stmt.where(col(Tip.code) == tip_code)
    async with panel.db.session() as session:
        rows = (
            await session.execute(
                stmt.order_by(col(AuditEntry.id).desc()).limit(100).offset((number - 1) * 100)
            )
        ).all()
        hidden = await _hidden_originals(session, staff, [entry for entry, _code in rows])
    return render(
        request,
        "audit.html",
        entries=rows,
        hidden=hidden,
        page=number,
        tip=tip_code or "",
        commune_label=commune_label,
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/tips", queue)
    app.router.add_get("/tips/{code}", tip_page)
    app.router.add_get("/tips/{code}/photos/{photo}", photo)
    app.router.add_post("/tips/{code}/{action}", act)
    app.router.add_get("/audit", audit_page)
