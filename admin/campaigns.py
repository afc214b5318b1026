"""Campaign pages: the list, the form with its server-side preview and audience size, the
actions (submit, approve, pause, resume, cancel, duplicate), progress and results, and the
built-in "Ngày hội 19/8" series.

Access: propaganda staff and province administrators; commune officers get 403 on every page
and action (they do not plan campaigns). Only an administrator approves. State changes go
through `bot.campaigns.actions`, which audits them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from admin._web import (
    DEPS,
    STAFF,
    Panel,
    form,
    known_message,
    redirect,
    render,
    require_staff,
    whole,
)
from admin.campaign_form import (
    MAX_ITEMS,
    CampaignForm,
    next_sends,
    preview,
)
from bot.campaigns import actions, festival
from bot.campaigns.actions import CHANNELS, EDITABLE, CampaignError
from bot.campaigns.schedule import WEEKDAYS, Schedule, ScheduleError
from bot.i18n import N_
from bot.models import AuditEntry, Campaign, CampaignRun, Delivery, StaffUser, utcnow
from bot.staff import Staff
from content.library import load_library
from content.locality import units

__all__ = ["DELIVERY_LABELS", "STATUS_LABELS", "setup"]

PAGE = 50

#: English message ids; the templates translate them.
STATUS_LABELS = {
    "draft": N_("Draft"),
    "pending": N_("Awaiting approval"),
    "scheduled": N_("Scheduled"),
    "sending": N_("Sending"),
    "paused": N_("Paused"),
    "done": N_("Finished"),
    "cancelled": N_("Cancelled"),
}
#: Delivery outcomes, in the order the results table lists them.
DELIVERY_LABELS = {
    "sent": N_("Sent"),
    "failed": N_("Failed"),
    "blocked": N_("Blocked the bot"),
    "out_of_window": N_("Outside Zalo's messaging window"),
    "interrupted": N_("Interrupted (not sent again)"),
    "cancelled": N_("Cancelled before sending"),
    "pending": N_("Waiting"),
    "sending": N_("Being sent"),
}
WEEKDAY_LABELS = dict(
    zip(
        WEEKDAYS,
        (
            N_("Mon"),
            N_("Tue"),
            N_("Wed"),
            N_("Thu"),
            N_("Fri"),
            N_("Sat"),
            N_("Sun"),
        ),
        strict=True,
    )
)
_ACTIONS = frozenset({"submit", "approve", "pause", "resume", "cancel", "duplicate"})


def _planner(request: web.Request) -> Staff:
    """Propaganda staff and administrators; anyone else is 403."""
    staff = require_staff(request)
    if staff.user.role not in ("admin", "propaganda"):
        raise web.HTTPForbidden()
    return staff


def _channels(panel: Panel) -> list[str]:
    """The channels this process runs (every channel when the panel has no outbox)."""
    if panel.outbox is None:
        return list(CHANNELS)
    return [c for c in CHANNELS if c in panel.outbox.channels]


def _wake(panel: Panel, campaign: Campaign) -> None:
    """Tell the sender when something is due now rather than at its next tick."""
    if panel.campaigns is None:
        return
    due = campaign.next_run_at is not None and campaign.next_run_at <= utcnow()
    if campaign.status == "sending" or (campaign.status == "scheduled" and due):
        panel.campaigns.wake()


def _describe(campaign: Campaign, lang: str) -> str:
    try:
        return Schedule.from_json(campaign.schedule).describe("en" if lang == "en" else "vi")
    except ScheduleError:
        return "—"


def _next_send(campaign: Campaign) -> datetime | None:
    """When it goes out next: as scheduled, or (not yet scheduled) as its rule says."""
    if campaign.next_run_at is not None or campaign.status not in ("draft", "pending"):
        return campaign.next_run_at
    planned = next_sends(campaign)
    return planned[0] if planned else None


async def _campaign(session: AsyncSession, request: web.Request) -> Campaign:
    raw = request.match_info["id"]
    campaign = await session.get(Campaign, int(raw)) if whole(raw) else None
    if campaign is None:
        raise web.HTTPNotFound()
    return campaign


async def _progress(session: AsyncSession, ids: list[int]) -> dict[int, tuple[int, int]]:
    """(deliveries done, deliveries in all) per campaign, over all its runs."""
    if not ids:
        return {}
    open_ = case((col(Delivery.status).in_(("pending", "sending")), 1), else_=0)
    rows = await session.execute(
        select(col(CampaignRun.campaign_id), func.count(), func.sum(open_))
        .join(Delivery, col(Delivery.run_id) == col(CampaignRun.id))
        .where(col(CampaignRun.campaign_id).in_(ids))
        .group_by(col(CampaignRun.campaign_id))
    )
    return {cid: (int(total) - int(waiting or 0), int(total)) for cid, total, waiting in rows}


async def campaigns_page(request: web.Request) -> web.StreamResponse:
    _planner(request)
    panel = request.app[DEPS]
    status = request.query.get("status", "")
    status = status if status in STATUS_LABELS else ""
    page = request.query.get("page", "1")
    number = max(1, min(int(page), 10_000)) if whole(page) else 1
    today = datetime.now(ZoneInfo(panel.settings.timezone)).date()
    year = festival.festival_year(today)
    stmt = select(Campaign)
    if status:
        stmt = stmt.where(col(Campaign.status) == status)
    async with panel.db.session() as session:
        total = (
            await session.execute(select(func.count()).select_from(stmt.subquery()))
        ).scalar_one()
        rows = list(
            (
                await session.execute(
                    stmt.order_by(col(Campaign.updated_at).desc(), col(Campaign.id).desc())
                    .limit(PAGE)
                    .offset((number - 1) * PAGE)
                )
            )
            .scalars()
            .all()
        )
        progress = await _progress(session, [c.id for c in rows if c.id is not None])
        series_exists = await festival.series_exists(session, year)
    return render(
        request,
        "campaigns.html",
        campaigns=rows,
        total=total,
        current=status,
        page=number,
        pages=max(1, (total + PAGE - 1) // PAGE),
        progress=progress,
        statuses=STATUS_LABELS,
        describe=_describe,
        next_send=_next_send,
        festival_year=year,
        series_exists=series_exists,
        error=known_message(request.query.get("error", "")),
        created=whole(request.query.get("created", "")),
    )


def _library_choices(lang: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """(topic title, [(item id, item title)]) in menu order, for the button selects."""
    library = load_library()
    return [
        (
            topic.title.get(lang),
            [(item.id, item.title.get(lang)) for item in library.items_by_topic(topic.id)],
        )
        for topic in sorted(library.topics, key=lambda t: (t.order, t.id))
    ]


async def _history(session: AsyncSession, campaign_id: int) -> list[AuditEntry]:
    ident = str(campaign_id)
    return list(
        (
            await session.execute(
                select(AuditEntry)
                .where(
                    col(AuditEntry.action).like("campaign%"),
                    col(AuditEntry.tip_id).is_(None),
                    or_(
                        col(AuditEntry.detail) == ident,
                        col(AuditEntry.detail).like(f"{ident}:%"),
                    ),
                )
                .order_by(col(AuditEntry.id))
            )
        )
        .scalars()
        .all()
    )


async def _page(
    request: web.Request,
    session: AsyncSession,
    campaign: Campaign | None,
    shown: Campaign | None,
    data: CampaignForm,
    *,
    error: str = "",
    message: str = "",
    status: int = 200,
    previewed: bool = False,
) -> web.Response:
    """The campaign page: the form (or the campaign read-only), and for `shown` (the saved
    campaign, or the unsaved one being previewed) the preview, audience and next sends."""
    panel = request.app[DEPS]
    staff = request[STAFF]
    lang = "en" if staff.user.language == "en" else "vi"
    context: dict[str, Any] = {"previews": [], "audience": None, "sends": [], "results": None}
    if shown is not None:
        channels = _channels(panel)
        audience = shown.audience or {}
        with session.no_autoflush:  # a preview is never written
            sizes = {ch: await actions.audience_size(session, audience, [ch]) for ch in channels}
        wanted = audience.get("languages") or ["vi", "en"]
        context["previews"] = [
            (language, preview(shown, language, panel.settings.zalo_oa_max_buttons))
            for language in ("vi", "en")
            if language in wanted and (language == "vi" or shown.text_en)
        ]
        if "en" in wanted and not shown.text_en:
            context["en_falls_back"] = True
        context["audience"] = {"total": sum(sizes.values()), "by_channel": sizes}
        context["sends"] = next_sends(shown)
        context["schedule_text"] = _describe(shown, lang)
    if campaign is not None and campaign.id is not None:
        context["results"] = await actions.results(session, campaign)
        context["history"] = await _history(session, campaign.id)
        names = await session.execute(select(col(StaffUser.id), col(StaffUser.username)))
        context["people"] = {user_id: username for user_id, username in names.all()}
    return render(
        request,
        "campaign.html",
        status=status,
        campaign=campaign,
        editable=campaign is None or campaign.status in EDITABLE,
        form=data,
        error=error,
        message=message,
        previewed=previewed,
        statuses=STATUS_LABELS,
        delivery_labels=DELIVERY_LABELS,
        weekday_labels=WEEKDAY_LABELS,
        library=_library_choices(lang),
        communes=[(c.code, c.name) for c in units(panel.settings.province_code)],
        all_channels=CHANNELS,
        max_items=MAX_ITEMS,
        approval_required=panel.settings.campaign_approval_required,
        en_falls_back=context.pop("en_falls_back", False),
        history=context.pop("history", []),
        people=context.pop("people", {}),
        schedule_text=context.pop("schedule_text", ""),
        **context,
    )


async def new_page(request: web.Request) -> web.StreamResponse:
    _planner(request)
    panel = request.app[DEPS]
    async with panel.db.session() as session:
        return await _page(request, session, None, None, CampaignForm())


async def campaign_page(request: web.Request) -> web.StreamResponse:
    _planner(request)
    panel = request.app[DEPS]
    async with panel.db.session() as session:
        campaign = await _campaign(session, request)
        saved = request.query.get("saved") == "1"
        return await _page(
            request,
            session,
            campaign,
            campaign,
            CampaignForm.from_campaign(campaign),
            error=known_message(request.query.get("error", "")),
            message=N_("Saved.") if saved else "",
        )


async def save_campaign(request: web.Request) -> web.StreamResponse:
    """POST of the form: "Xem trước" (do=preview) shows it without saving; else it is saved."""
    staff = _planner(request)
    panel = request.app[DEPS]
    data = await form(request)
    posted = CampaignForm.from_post(data)
    creating = "id" not in request.match_info
    if data.get("do") == "preview":
        # a session that is never committed: save() validates and normalises exactly as a
        # real save would, then everything is rolled back
        async with panel.db.sessionmaker() as session:
            campaign = None if creating else await _campaign(session, request)
            if campaign is not None and campaign.status not in EDITABLE:
                raise redirect(f"/admin/campaigns/{campaign.id}")
            try:
                with session.no_autoflush:
                    shown = actions.save(
                        session, campaign, posted.fields(panel.settings.timezone), staff.user
                    )
            except CampaignError as exc:
                return await _page(
                    request, session, campaign, None, posted, error=str(exc), status=400
                )
            try:
                with session.no_autoflush:  # nothing of the preview reaches the database
                    return await _page(request, session, campaign, shown, posted, previewed=True)
            finally:
                await session.rollback()
    async with panel.db.session() as session:
        campaign = None if creating else await _campaign(session, request)
        if campaign is not None and campaign.status not in EDITABLE:
            return await _page(
                request,
                session,
                campaign,
                campaign,
                CampaignForm.from_campaign(campaign),
                error=N_("This campaign can no longer be edited: make a copy to change it."),
                status=409,
            )
        try:
            fields = posted.fields(panel.settings.timezone)
            async with session.begin_nested():  # a refused save changes nothing
                if campaign is None:
                    saved = await actions.create(session, fields, staff.user)
                else:
                    saved = await actions.edit(session, campaign, fields, staff.user)
        except CampaignError as exc:
            return await _page(request, session, campaign, None, posted, error=str(exc), status=400)
        campaign_id = saved.id
    raise redirect(f"/admin/campaigns/{campaign_id}?saved=1")


async def act(request: web.Request) -> web.StreamResponse:
    """Every action on a campaign: one POST route, the action in the URL."""
    staff = _planner(request)
    panel = request.app[DEPS]
    action = request.match_info["action"]
    if action not in _ACTIONS:
        raise web.HTTPNotFound()
    data = await form(request)
    if action == "approve" and not staff.is_admin:
        raise web.HTTPForbidden()
    error = ""
    target: int | None = None
    async with panel.db.session() as session:
        campaign = await _campaign(session, request)
        campaign_id = campaign.id
        try:
            async with session.begin_nested():  # a refused action changes nothing
                target = await _apply(
                    session,
                    campaign,
                    action,
                    staff,
                    sure=data.get("sure") == "1",
                    approval_required=panel.settings.campaign_approval_required,
                )
        except CampaignError as exc:
            error = str(exc)
        except ScheduleError:
            error = N_("The schedule is not valid.")
    if error:
        raise redirect(f"/admin/campaigns/{campaign_id}?error={quote(error)}#actions")
    if action != "duplicate":
        _wake(panel, campaign)
    raise redirect(f"/admin/campaigns/{target or campaign_id}")


async def _apply(
    session: AsyncSession,
    campaign: Campaign,
    action: str,
    staff: Staff,
    *,
    sure: bool,
    approval_required: bool,
) -> int | None:
    """Do `action`; returns the id of a new campaign (duplicate), else None."""
    if action == "submit":
        actions.submit(session, campaign, staff.user, approval_required)
    elif action == "approve":
        actions.approve(session, campaign, staff.user)
    elif action == "pause":
        await actions.pause(session, campaign, staff.user)
    elif action == "resume":
        await actions.resume(session, campaign, staff.user)
    elif action == "cancel":
        if not sure:
            raise CampaignError(N_("Tick “I am sure” to cancel the campaign."))
        await actions.cancel(session, campaign, staff.user)
    elif action == "duplicate":
        copy = await actions.duplicate(session, campaign, staff.user)
        return copy.id
    return None


async def festival_series(request: web.Request) -> web.StreamResponse:
    """Create this year's "Ngày hội 19/8" drafts (once per year)."""
    staff = _planner(request)
    panel = request.app[DEPS]
    await form(request)
    today = datetime.now(ZoneInfo(panel.settings.timezone)).date()
    year = festival.festival_year(today)
    try:
        async with panel.db.session() as session:
            created = await festival.create_series(
                session, year, staff.user, panel.settings.timezone
            )
            count = len(created)
    except CampaignError as exc:
        raise redirect(f"/admin/campaigns?error={quote(str(exc))}") from None
    raise redirect(f"/admin/campaigns?created={count}")


def setup(app: web.Application) -> None:
    app.router.add_get("/campaigns", campaigns_page)
    app.router.add_post("/campaigns/festival", festival_series)
    app.router.add_get("/campaigns/new", new_page)
    app.router.add_post("/campaigns/new", save_campaign)
    app.router.add_get("/campaigns/{id}", campaign_page)
    app.router.add_post("/campaigns/{id}", save_campaign)
    app.router.add_post("/campaigns/{id}/{action}", act)
