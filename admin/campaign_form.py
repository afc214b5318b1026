"""The campaign form as posted and shown again, and the server-side preview: how the message
looks on Telegram, Zalo Bot and Zalo OA, and when it will be sent.

The form keeps what staff typed (strings, not parsed values) so a refused save or a preview
shows the form exactly as it was; `fields()` turns it into what `actions.save` takes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from multidict import MultiDictProxy

from admin._web import PLATFORM_LABELS, whole
from bot.campaigns.actions import CHANNELS, CampaignError
from bot.campaigns.engine import campaign_replies
from bot.campaigns.schedule import WEEKDAYS, Schedule, ScheduleError, ScheduleKind
from bot.channels.telegram import CAPABILITIES as TELEGRAM
from bot.channels.zalo_bot import CAPABILITIES as ZALO_BOT
from bot.channels.zalo_oa import zalo_oa_capabilities
from bot.core.platform import Platform
from bot.core.render import render, utf16_len
from bot.core.types import Capabilities
from bot.i18n import N_
from bot.models import Campaign, utcnow

__all__ = [
    "MAX_ITEMS",
    "NEXT_SENDS",
    "Bubble",
    "CampaignForm",
    "PlatformPreview",
    "next_sends",
    "preview",
]

#: Content items a campaign may offer as buttons.
MAX_ITEMS = 5
#: How many coming send times the page lists.
NEXT_SENDS = 5
#: How far ahead the page looks for them (a rule may fire one day a year).
LOOK_AHEAD = timedelta(days=366 * 6)

_SCHEDULE_ERRORS = {
    "kind": N_("Choose when to send."),
    "at_date": N_("Give the send date, like 19/08/2026."),
    "at_time": N_("Give the time of day like 08:00."),
    "times": N_("Give the time of day like 08:00."),
    "weekday": N_("Unknown weekday."),
    "window_from": N_("Give both ends of the yearly window, like 1/7 and 18/8 (day/month)."),
    "window_to": N_("Give both ends of the yearly window, like 1/7 and 18/8 (day/month)."),
    "first_date": N_("The first and last dates are not valid."),
    "last_date": N_("The rule never sends: no chosen weekday falls in its window and dates."),
    "timezone": N_("Unknown time zone."),
}


def _strings(data: MultiDictProxy[str], name: str) -> list[str]:
    return [v.strip() for v in data.getall(name, []) if v.strip()]


@dataclass
class CampaignForm:
    """The campaign form's fields, as text."""

    title: str = ""
    text_vi: str = ""
    text_en: str = ""
    image_url: str = ""
    #: MAX_ITEMS slots, "" where empty (the form shows one select per button).
    items: list[str] = field(default_factory=lambda: [""] * MAX_ITEMS)
    communes: list[int] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    kind: str = "once"
    at_date: str = ""
    at_time: str = "08:00"
    times: str = "08:00"
    weekdays: list[str] = field(default_factory=list)
    window_from: str = ""
    window_to: str = ""
    first_date: str = ""
    last_date: str = ""

    @classmethod
    def from_post(cls, data: MultiDictProxy[str]) -> CampaignForm:
        items = _strings(data, "items")
        return cls(
            title=data.get("title", ""),
            text_vi=data.get("text_vi", ""),
            text_en=data.get("text_en", ""),
            image_url=data.get("image_url", "").strip(),
            items=(items + [""] * MAX_ITEMS)[: max(MAX_ITEMS, len(items))],
            communes=[int(c) for c in _strings(data, "communes") if whole(c)],
            channels=[c for c in _strings(data, "channels") if c in CHANNELS],
            languages=[c for c in _strings(data, "languages") if c in ("vi", "en")],
            kind=data.get("kind", "once"),
            at_date=data.get("at_date", "").strip(),
            at_time=data.get("at_time", "").strip(),
            times=data.get("times", "").strip(),
            weekdays=[d for d in _strings(data, "weekday") if d in WEEKDAYS],
            window_from=data.get("window_from", "").strip(),
            window_to=data.get("window_to", "").strip(),
            first_date=data.get("first_date", "").strip(),
            last_date=data.get("last_date", "").strip(),
        )

    @classmethod
    def from_campaign(cls, campaign: Campaign) -> CampaignForm:
        audience = campaign.audience or {}
        form = cls(
            title=campaign.title,
            text_vi=campaign.text_vi,
            text_en=campaign.text_en,
            image_url=campaign.image_url,
            items=(list(campaign.items) + [""] * MAX_ITEMS)[:MAX_ITEMS],
            communes=[int(c) for c in audience.get("communes", [])],
            channels=list(audience.get("channels", [])),
            languages=list(audience.get("languages", [])),
        )
        try:
            schedule = Schedule.from_json(campaign.schedule)
        except ScheduleError:
            return form
        form.kind = str(schedule.kind)
        if schedule.kind is ScheduleKind.ONCE and schedule.at is not None:
            local = schedule.at.astimezone(schedule.zone)
            form.at_date, form.at_time = local.date().isoformat(), local.strftime("%H:%M")
        elif schedule.kind is ScheduleKind.RECURRING:
            form.times = ", ".join(t.strftime("%H:%M") for t in schedule.times)
            form.weekdays = [WEEKDAYS[d] for d in schedule.weekdays]
            if schedule.window is not None:
                start, end = schedule.window.start, schedule.window.end
                form.window_from = f"{start.day}/{start.month}"
                form.window_to = f"{end.day}/{end.month}"
            form.first_date = schedule.first_date.isoformat() if schedule.first_date else ""
            form.last_date = schedule.last_date.isoformat() if schedule.last_date else ""
        return form

    def schedule(self, timezone: str) -> Schedule:
        """The schedule the form describes; CampaignError (a message id) if it is not valid."""
        fields: dict[str, str] = {
            "kind": self.kind,
            "at_date": self.at_date,
            "at_time": self.at_time,
            "times": self.times,
            "weekday": ", ".join(self.weekdays),
            "window_from": self.window_from,
            "window_to": self.window_to,
            "first_date": self.first_date,
            "last_date": self.last_date,
            "timezone": timezone,
        }
        try:
            return Schedule.from_form(fields)
        except ScheduleError as exc:
            raise CampaignError(
                _SCHEDULE_ERRORS.get(exc.field, N_("The schedule is not valid."))
            ) from None
        except ValueError:
            raise CampaignError(N_("The schedule is not valid.")) from None

    def fields(self, timezone: str) -> dict[str, Any]:
        """What `actions.save` takes."""
        items = [i for i in self.items if i]
        if len(items) > MAX_ITEMS:
            raise CampaignError(N_("At most 5 content items."))
        if len(set(items)) != len(items):
            raise CampaignError(N_("The same content item is chosen twice."))
        return {
            "title": self.title,
            "text_vi": self.text_vi,
            "text_en": self.text_en,
            "image_url": self.image_url,
            "items": items,
            "communes": self.communes,
            "channels": self.channels,
            "languages": self.languages,
            "schedule": self.schedule(timezone),
        }


# --- preview -------------------------------------------------------------------------------


@dataclass
class Bubble:
    """One message as the platform shows it."""

    text: str
    photo: str | None = None
    buttons: list[str] = field(default_factory=list)


@dataclass
class PlatformPreview:
    channel: Platform
    bubbles: list[Bubble]
    #: Length of the text as the platform counts it, and its limit.
    length: int
    limit: int
    #: English message ids to show under the preview.
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The platform's name as an English message id."""
        return PLATFORM_LABELS[self.channel]


def preview_platforms(zalo_oa_max_buttons: int) -> list[tuple[Platform, Capabilities]]:
    """The platforms a preview shows, with what each can show (the web chat shows all)."""
    return [
        (Platform.TELEGRAM, TELEGRAM),
        (Platform.ZALO_BOT, ZALO_BOT),
        (Platform.ZALO_OA, zalo_oa_capabilities(zalo_oa_max_buttons)),
    ]


def preview(campaign: Campaign, language: str, zalo_oa_max_buttons: int) -> list[PlatformPreview]:
    """How `campaign` reaches a resident reading `language` on each platform. Built the way
    the campaign sender builds it: the same neutral reply, the same rendering, and no buttons
    where the platform has none (numbered choices would need per-resident state)."""
    out = []
    for channel, caps in preview_platforms(zalo_oa_max_buttons):
        reply = campaign_replies(campaign, language)
        notes = []
        if reply.buttons and not caps.buttons:
            reply.buttons = []
            notes.append(N_("No buttons on this platform: the content items are left out."))
        messages = render(reply, caps)
        bubbles = [
            Bubble(m.text, m.photo, [b.label for row in m.buttons for b in row]) for m in messages
        ]
        if reply.photo and not caps.photos:
            notes.append(N_("This platform does not show the image."))
        texts = [b for b in bubbles if b.text]
        if len(texts) > 1:
            notes.append(N_("The text is too long for one message here: it is split."))
        length = utf16_len(reply.text) if caps.utf16 else len(reply.text)
        out.append(PlatformPreview(channel, bubbles, length, caps.max_text, notes))
    return out


def next_sends(campaign: Campaign, now: datetime | None = None) -> list[datetime]:
    """The next NEXT_SENDS send times (UTC); empty for "now" and for a rule that is over."""
    try:
        schedule = Schedule.from_json(campaign.schedule)
    except ScheduleError:
        return []
    now = now or utcnow()
    return schedule.occurrences(now, now + LOOK_AHEAD, limit=NEXT_SENDS)
