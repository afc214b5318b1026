"""The annual report ("báo cáo kết quả thực hiện") of the movement, for the province or one
commune: a print-ready page (the browser's Print gives the PDF) and the same tables in Excel.

The reporting year ends on 30 September, so that the report can go out before the
30 October deadline: report 2026 covers 1/10/2025 – 30/9/2026 (any range can be chosen).
Tip figures are in it only for those who may see them, masked as on the statistics pages.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession
from vietnam_provinces import Province, ProvinceCode

from admin import charts, stats
from admin._web import DEPS, STAFF, language_of, render, whole
from bot.i18n import format_date
from bot.staff import Staff
from bot.stats.queries import Filters

__all__ = ["report_period", "setup"]


def report_period(year: int) -> tuple[date, date]:
    return date(year - 1, 10, 1), date(year, 9, 30)


def _year(request: web.Request, today: date) -> int:
    value = request.query.get("year", "")
    if whole(value) and 2000 <= int(value) <= today.year + 1:
        return int(value)
    # before October the report being prepared is this year's; from October, too
    return today.year


async def build(request: web.Request) -> tuple[list[tuple[str, stats.Page]], stats.StatsScope, int]:
    panel = request.app[DEPS]
    staff: Staff = request[STAFF]
    v = stats.viewer(staff)
    if v.communes is not None and not v.communes:
        raise web.HTTPForbidden()
    tz = panel.settings.timezone
    today = datetime.now(ZoneInfo(tz)).date()
    year = _year(request, today)
    start, end = report_period(year)
    end = min(end, today)  # the running year: up to today, not into the future
    chosen = request.query.get("commune", "")
    communes = (int(chosen),) if whole(chosen) and len(chosen) < 9 else ()
    filters = Filters(start, end, communes=communes, timezone=tz, granularity="m").within(
        v.communes
    )
    c = stats.StatsScope(
        filters=filters,
        viewer=v,
        lang=language_of(request),
        threshold=panel.settings.stats_privacy_threshold,
        province=panel.settings.province_code,
        today=today,
        tip_months=True,
    )
    _ = c._
    wanted: list[tuple[str, stats.Builder]] = [
        (_("I. Reaching residents"), stats.engagement_page),
        (_("II. Legal education and crime prevention content"), stats.content_page),
        (_("III. Campaigns"), stats.campaign_reach_page),
    ]
    if v.tips:
        wanted.append((_("IV. Tips from residents"), stats.tips_page))
    if len(c.filters.communes) != 1:
        wanted.append((_("Communes and wards"), _communes_by_name))

    async def section(title: str, builder: stats.Builder) -> tuple[str, stats.Page]:
        async with panel.db.reading() as session:
            return title, await builder(session, c)

    # the sections are read side by side (each on a reading connection of its own), and
    # share one reading of the tips
    sections = list(await asyncio.gather(*(section(t, b) for t, b in wanted)))
    return sections, c, year


async def _communes_by_name(session: AsyncSession, c: stats.StatsScope) -> stats.Page:
    return await stats.communes_page(session, c, "name")


def _unit_name(c: stats.StatsScope) -> str:
    if len(c.filters.communes) == 1 and c.filters.communes[0] > 0:
        return c.commune(c.filters.communes[0])
    if c.viewer.communes is not None:
        return ", ".join(c.commune(code) for code in sorted(c.viewer.communes))
    return Province.from_code(ProvinceCode(c.province)).name


async def report_page(request: web.Request) -> web.StreamResponse:
    sections, c, year = await build(request)
    today = c.today
    return render(
        request,
        "report.html",
        sections=sections,
        year=year,
        unit=_unit_name(c),
        province=Province.from_code(ProvinceCode(c.province)).name,
        period=(format_date(c.filters.start, c.lang), format_date(c.filters.end, c.lang)),
        signed=(today.day, today.month, today.year),
        years=list(range(today.year + (1 if today.month >= 10 else 0), today.year - 5, -1)),
        communes=[(code, c.commune(code)) for code in c.communes()],
        chosen=request.query.get("commune", ""),
        cell=lambda value: stats.cell_text(value, c.lang),
        is_number=stats.is_number,
        query=request.query_string,
    )


async def report_xlsx(request: web.Request) -> web.StreamResponse:
    drawing = charts.DRAW.set(False)  # Excel gets the tables only
    try:
        sections, c, year = await build(request)
    finally:
        charts.DRAW.reset(drawing)
    tables = [t for _title, page in sections for t in page.tables]
    heading = c._(
        "Results of the movement, {year}: {unit} ({start} – {end})",
        year=year,
        unit=_unit_name(c),
        start=format_date(c.filters.start, c.lang),
        end=format_date(c.filters.end, c.lang),
    )
    body = stats.to_xlsx(tables, heading)
    return web.Response(
        body=body,
        headers={
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Content-Disposition": f'attachment; filename="antq-bao-cao-{year}.xlsx"',
            "Cache-Control": "no-store",
        },
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/stats/report", report_page)
    app.router.add_get("/stats/report.xlsx", report_xlsx)
