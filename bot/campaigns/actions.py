"""What staff do with campaigns: create, edit, duplicate, submit, approve, pause, resume,
cancel; how big an audience is; what a campaign achieved. HTTP-free: the staff panel calls
these inside its own transaction, and every change is audited."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.audit import ActionError, AuditAction, audit
from bot.campaigns.engine import audience_filter
from bot.campaigns.schedule import Schedule
from bot.core.limits import CHANNEL_TEXT_LIMITS
from bot.core.platform import Platform
from bot.core.text import normalise
from bot.i18n import N_, gettext
from bot.models import Campaign, CampaignRun, Delivery, Event, Resident, StaffUser, utcnow
from content.library import load_library
from content.locality import get_unit

__all__ = [
    "CHANNELS",
    "EDITABLE",
    "Results",
    "approve",
    "audience_size",
    "cancel",
    "copy_fields",
    "create",
    "duplicate",
    "edit",
    "pause",
    "results",
    "resume",
    "save",
    "submit",
]

CHANNELS = tuple(Platform)
#: Statuses in which a campaign can still be edited.
EDITABLE = frozenset({"draft", "pending", "scheduled"})
#: The shortest text limit of any channel: a campaign must fit every platform in one message.
MAX_TEXT = min(CHANNEL_TEXT_LIMITS.values())


class CampaignError(ActionError):
    """A campaign cannot be saved or changed as asked; `str()` is an English message id."""


def _audience(fields: dict[str, Any]) -> dict[str, Any]:
    communes = sorted({int(c) for c in fields.get("communes", []) if str(c).isdigit()})
    if any(get_unit(c) is None for c in communes):
        raise CampaignError(N_("Unknown commune."))
    channels = sorted({c for c in fields.get("channels", []) if c in CHANNELS})
    languages = sorted({c for c in fields.get("languages", []) if c in ("vi", "en")})
    return {"communes": communes, "channels": channels, "languages": languages}


def save(
    session: AsyncSession,
    campaign: Campaign | None,
    fields: dict[str, Any],
    actor: StaffUser,
) -> Campaign:
    """Create or update a campaign from validated fields (title, text_vi, text_en,
    image_url, items, communes, channels, languages, schedule: a `Schedule`). Not audited:
    `create`, `edit` and `duplicate` are the audited changes; the panel's preview calls
    this in a session it rolls back, and the 19/8 series audits its drafts itself."""
    if campaign is not None and campaign.status not in EDITABLE:
        raise CampaignError(N_("This campaign can no longer be edited: duplicate it to change it."))
    title = normalise(str(fields.get("title", "")), keep_newlines=False)[:200]
    text_vi = normalise(str(fields.get("text_vi", "")))
    text_en = normalise(str(fields.get("text_en", "")))
    if not title:
        raise CampaignError(N_("The campaign needs a title."))
    if not text_vi:
        raise CampaignError(N_("The Vietnamese text is empty."))
    if max(len(text_vi), len(text_en)) > MAX_TEXT:
        raise CampaignError(N_("The text is too long for Zalo: at most 2,000 characters."))
    image_url = str(fields.get("image_url", "")).strip()
    if image_url and not image_url.startswith("https://"):
        raise CampaignError(N_("The image must be an https:// address."))
    library = load_library()
    items = [str(i) for i in fields.get("items", []) if str(i)]
    for item in items:
        try:
            library.item(item)
        except KeyError:
            raise CampaignError(N_("Unknown content item.")) from None
    schedule = fields.get("schedule")
    if not isinstance(schedule, Schedule):
        raise CampaignError(N_("The schedule is not valid."))
    now = utcnow()
    if campaign is None:
        campaign = Campaign(title=title, text_vi=text_vi, created_by=actor.id, status="draft")
        session.add(campaign)
    campaign.title, campaign.text_vi, campaign.text_en = title, text_vi, text_en
    campaign.image_url = image_url[:1000]
    campaign.items = items[:5]
    campaign.audience = _audience(fields)
    campaign.schedule = schedule.to_json()
    campaign.updated_at = now
    if campaign.status == "scheduled":  # an edit needs approving again
        campaign.status = "draft"
        campaign.next_run_at = None
        campaign.approved_by = campaign.approved_at = None
    return campaign


async def create(session: AsyncSession, fields: dict[str, Any], actor: StaffUser) -> Campaign:
    """A new draft from the form's fields (see `save`), audited."""
    campaign = save(session, None, fields, actor)
    await session.flush()
    audit(session, actor, AuditAction.CAMPAIGN_CREATE, detail=f"{campaign.id}: {campaign.title}")
    return campaign


async def edit(
    session: AsyncSession, campaign: Campaign, fields: dict[str, Any], actor: StaffUser
) -> Campaign:
    """`campaign` changed from the form's fields (see `save`), audited."""
    save(session, campaign, fields, actor)
    await session.flush()
    audit(session, actor, AuditAction.CAMPAIGN_EDIT, detail=f"{campaign.id}: {campaign.title}")
    return campaign


def copy_fields(campaign: Campaign) -> dict[str, Any]:
    """A saved campaign's fields as `save` takes them."""
    audience = campaign.audience or {}
    return {
        "title": campaign.title,
        "text_vi": campaign.text_vi,
        "text_en": campaign.text_en,
        "image_url": campaign.image_url,
        "items": list(campaign.items),
        "communes": list(audience.get("communes", [])),
        "channels": list(audience.get("channels", [])),
        "languages": list(audience.get("languages", [])),
        "schedule": Schedule.from_json(campaign.schedule),
    }


async def duplicate(session: AsyncSession, campaign: Campaign, actor: StaffUser) -> Campaign:
    """A new draft with `campaign`'s fields (whatever its status), titled "Copy of …" in the
    actor's language, audited."""
    fields = copy_fields(campaign)
    prefix = gettext(actor.language, N_("Copy of"))
    fields["title"] = f"{prefix} {campaign.title}"[:200]
    copy = save(session, None, fields, actor)
    await session.flush()
    audit(session, actor, AuditAction.CAMPAIGN_DUPLICATE, detail=f"{copy.id}: from {campaign.id}")
    return copy


def _first_run(campaign: Campaign) -> datetime | None:
    schedule = Schedule.from_json(campaign.schedule)
    if schedule.kind == "now":
        return utcnow()
    return schedule.next_after(utcnow())


def _schedule(campaign: Campaign, approver: StaffUser | None) -> None:
    first = _first_run(campaign)
    if first is None:
        raise CampaignError(N_("The schedule has no time left to send."))
    campaign.status = "scheduled"
    campaign.next_run_at = first
    if approver is not None:
        campaign.approved_by, campaign.approved_at = approver.id, utcnow()


def submit(
    session: AsyncSession, campaign: Campaign, actor: StaffUser, approval_required: bool
) -> None:
    """Propaganda staff are done: it goes to an administrator, or (no approval needed, or
    an administrator submitting) straight to the schedule."""
    if campaign.status != "draft":
        raise CampaignError(N_("Only a draft can be submitted."))
    if approval_required and actor.role != "admin":
        _first_run_or_fail(campaign)
        campaign.status = "pending"
    else:
        _schedule(campaign, actor if actor.role == "admin" else None)
    campaign.updated_at = utcnow()
    audit(session, actor, AuditAction.CAMPAIGN_SUBMIT, detail=f"{campaign.id}: {campaign.status}")


def _first_run_or_fail(campaign: Campaign) -> None:
    if _first_run(campaign) is None:
        raise CampaignError(N_("The schedule has no time left to send."))


def approve(session: AsyncSession, campaign: Campaign, actor: StaffUser) -> None:
    if actor.role != "admin":
        raise CampaignError(N_("Only a province administrator can approve."))
    if campaign.status != "pending":
        raise CampaignError(N_("This campaign is not waiting for approval."))
    _schedule(campaign, actor)
    audit(session, actor, AuditAction.CAMPAIGN_APPROVE, detail=str(campaign.id))


async def _runs(session: AsyncSession, campaign: Campaign, status: str, to: str) -> None:
    await session.execute(
        update(CampaignRun)
        .where(col(CampaignRun.campaign_id) == campaign.id, col(CampaignRun.status) == status)
        .values(status=to)
    )


async def pause(session: AsyncSession, campaign: Campaign, actor: StaffUser) -> None:
    if campaign.status not in ("scheduled", "sending"):
        raise CampaignError(N_("Only a scheduled or sending campaign can be paused."))
    campaign.status = "paused"
    campaign.updated_at = utcnow()
    await _runs(session, campaign, "sending", "paused")
    audit(session, actor, AuditAction.CAMPAIGN_PAUSE, detail=str(campaign.id))


async def resume(session: AsyncSession, campaign: Campaign, actor: StaffUser) -> None:
    if campaign.status != "paused":
        raise CampaignError(N_("Only a paused campaign can be resumed."))
    paused = await session.execute(
        select(col(CampaignRun.id)).where(
            col(CampaignRun.campaign_id) == campaign.id, col(CampaignRun.status) == "paused"
        )
    )
    campaign.status = "sending" if paused.first() is not None else "scheduled"
    if campaign.status == "scheduled" and campaign.next_run_at is None:
        campaign.status = "done"
    campaign.updated_at = utcnow()
    await _runs(session, campaign, "paused", "sending")
    audit(session, actor, AuditAction.CAMPAIGN_RESUME, detail=str(campaign.id))


async def cancel(session: AsyncSession, campaign: Campaign, actor: StaffUser) -> None:
    """Nothing more of it is sent; what was sent stays counted."""
    if campaign.status in ("done", "cancelled"):
        raise CampaignError(N_("This campaign has ended."))
    campaign.status = "cancelled"
    campaign.next_run_at = None
    campaign.updated_at = utcnow()
    runs = select(col(CampaignRun.id)).where(col(CampaignRun.campaign_id) == campaign.id)
    await session.execute(
        update(Delivery)
        .where(col(Delivery.run_id).in_(runs), col(Delivery.status) == "pending")
        .values(status="cancelled")
    )
    now = utcnow()
    for status in ("sending", "paused"):
        await session.execute(
            update(CampaignRun)
            .where(col(CampaignRun.campaign_id) == campaign.id, col(CampaignRun.status) == status)
            .values(status="cancelled", finished_at=now)
        )
    audit(session, actor, AuditAction.CAMPAIGN_CANCEL, detail=str(campaign.id))


async def audience_size(
    session: AsyncSession, audience: dict[str, Any], channels: list[str]
) -> int:
    """How many residents a campaign would reach now (subscribed, in the audience)."""
    return int(
        (
            await session.execute(
                select(func.count())
                .select_from(Resident)
                .where(*audience_filter(audience, channels))
            )
        ).scalar_one()
    )


@dataclass
class Results:
    """What a campaign achieved, over all its runs."""

    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    taps: int = 0
    unsubscribed_after: int = 0

    @property
    def done(self) -> int:
        return self.total - self.by_status.get("pending", 0) - self.by_status.get("sending", 0)

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


async def results(session: AsyncSession, campaign: Campaign) -> Results:
    runs = select(col(CampaignRun.id)).where(col(CampaignRun.campaign_id) == campaign.id)
    counts = (
        await session.execute(
            select(col(Delivery.status), func.count())
            .where(col(Delivery.run_id).in_(runs))
            .group_by(col(Delivery.status))
        )
    ).all()
    out = Results(by_status={status: int(n) for status, n in counts})
    out.total = sum(out.by_status.values())
    out.taps = int(
        (
            await session.execute(
                select(func.count())
                .select_from(Event)
                .where(col(Event.kind) == "campaign_tap", col(Event.ref) == str(campaign.id))
            )
        ).scalar_one()
    )
    first = (
        await session.execute(
            select(func.min(col(CampaignRun.started_at))).where(
                col(CampaignRun.campaign_id) == campaign.id
            )
        )
    ).scalar_one()
    if first is not None:
        out.unsubscribed_after = int(
            (
                await session.execute(
                    select(func.count(func.distinct(col(Delivery.resident_id))))
                    .join(Resident, col(Resident.id) == col(Delivery.resident_id))
                    .where(
                        col(Delivery.run_id).in_(runs),
                        col(Delivery.status) == "sent",
                        col(Resident.subscribed).is_(False),
                        col(Resident.unsubscribed_at) >= first,
                    )
                )
            ).scalar_one()
        )
    return out
