"""Ngày hội toàn dân bảo vệ ANTQ (19/8): what it is, this year's window, local events."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot import actions
from bot.core.context import Context
from bot.i18n import format_date
from content.library import load_library
from handlers._common import back_row
from handlers._router import router

__all__ = ["festival"]


@router.payload("fest")
async def festival(ctx: Context) -> None:
    fest = load_library().festival
    lang = ctx.lang
    today = datetime.now(ZoneInfo(ctx.settings.timezone)).date()
    parts = [fest.about.get(lang)]
    year = fest.year(today.year)
    events = year.events_for(ctx.resident.commune_code) if year else []
    if year is not None:
        parts.append(
            ctx._(
                "This year: from {start} to {end}, the festival day is 19/8/{year}.",
                start=format_date(year.window.start, lang),
                end=format_date(year.window.end, lang),
                year=today.year,
            )
        )
    if events:
        lines = [ctx._("Events near you:")]
        for event in events:
            when = format_date(event.date, lang)
            if event.time:
                when = f"{event.time} {when}"
            lines.append(f"• {when}: {event.title.get(lang)} — {event.place.get(lang)}")
        parts.append("\n".join(lines))
    else:
        parts.append(fest.fallback.get(lang))
    actions.record_event(ctx.session, ctx.resident, "festival")
    ctx.reply("\n\n".join(parts), [back_row(ctx)])
