"""Ngày hội toàn dân bảo vệ ANTQ (19/8): what it is, this year's window, local events."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot import actions
from bot.core.context import Context
from bot.i18n import format_date
from content.library import load_library
from handlers._common import back_row, localized
from handlers._router import router

__all__ = ["festival"]


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


@router.payload("fest")
async def festival(ctx: Context) -> None:
    fest = load_library().festival
    today = datetime.now(ZoneInfo(ctx.settings.timezone)).date()
    years: dict[Any, Any] = _get(fest, "years") or {}
    year = years.get(today.year) or years.get(str(today.year))
    parts = [localized(_get(fest, "about"), ctx.lang)]
    events: list[Any] = []
    if year is not None:
        window = _get(year, "window")
        start, end = _as_date(_get(window, "start")), _as_date(_get(window, "end"))
        parts.append(
            ctx._(
                "This year: from {start} to {end}, the festival day is 19/8/{year}.",
                start=format_date(start, ctx.lang),
                end=format_date(end, ctx.lang),
                year=today.year,
            )
        )
        commune = ctx.resident.commune_code
        events = [
            e for e in (_get(year, "events") or [])
            if _get(e, "commune_code") in (None, commune)
        ]
    if events:
        lines = [ctx._("Events near you:")]
        for event in sorted(events, key=lambda e: str(_get(e, "date"))):
            when = format_date(_as_date(_get(event, "date")), ctx.lang)
            if _get(event, "time"):
                when = f"{_get(event, 'time')} {when}"
            title = localized(_get(event, "title"), ctx.lang)
            place = localized(_get(event, "place"), ctx.lang)
            lines.append(f"• {when}: {title} — {place}")
        parts.append("\n".join(lines))
    else:
        parts.append(localized(_get(fest, "fallback"), ctx.lang))
    actions.record_event(ctx.session, ctx.resident, "festival")
    ctx.reply("\n\n".join(p for p in parts if p), [back_row(ctx)])
