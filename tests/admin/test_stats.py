"""The statistics pages, exports and annual report through HTTP, for every role."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import openpyxl
from sqlalchemy import insert

from bot.models import Campaign, CampaignRun, Delivery, Event, Resident, utcnow
from bot.stats.rollup import refresh
from tests.admin.conftest import Panel
from tests.admin.panel import QN, QN_DONG, file_tip
from tests.harness import TelegramResident

PAGES = ("overview", "content", "campaigns", "tips", "communes")


async def _seed(panel: Panel) -> None:
    """Residents and events in two communes, tips (one lone drug tip in Quy Nhơn Đông, five
    thefts there, two in Quy Nhơn), a campaign with deliveries, then the rollup."""
    runtime = panel.stack.runtime
    db = runtime.db
    now = utcnow()
    async with db.session() as session:
        residents = [
            Resident(channel="telegram", chat_id=f"s{i}", commune_code=QN_DONG if i < 6 else QN)
            for i in range(10)
        ]
        session.add_all(residents)
        await session.flush()
        events = []
        for i, r in enumerate(residents):
            for kind, ref in (("tap", "lib"), ("topic", "scam"), ("content", "khi-bi-lua-dao")):
                events.append(
                    {
                        "kind": kind,
                        "ref": ref,
                        "channel": "telegram",
                        "commune_code": r.commune_code,
                        "resident_id": r.id,
                        "created_at": now - timedelta(minutes=30 - i),
                    }
                )
        await session.execute(insert(Event.__table__), events)  # type: ignore[attr-defined]
        campaign = Campaign(
            title='=HYPERLINK("http://evil")', text_vi="Ngày hội 19/8", status="done"
        )
        session.add(campaign)
        await session.flush()
        run = CampaignRun(
            campaign_id=campaign.id or 0, occurrence=now, started_at=now, status="done"
        )
        session.add(run)
        await session.flush()
        session.add_all(
            Delivery(
                run_id=run.id or 0,
                resident_id=r.id or 0,
                channel="telegram",
                chat_id=r.chat_id,
                status="sent",
                sent_at=now,
            )
            for r in residents
        )
    await file_tip(db, runtime.settings, category="drugs", commune_code=QN_DONG)
    for _ in range(5):
        await file_tip(db, runtime.settings, category="theft", commune_code=QN_DONG)
    for _ in range(2):
        await file_tip(db, runtime.settings, category="theft", commune_code=QN)
    await refresh(db, runtime.settings.timezone)


async def test_admin_sees_every_page_with_figures_and_masked_small_counts(panel: Panel) -> None:
    await _seed(panel)
    admin = await panel.logged_in("admin")
    try:
        for name in PAGES:
            html = await admin.page(f"/admin/stats/{name}")
            assert "<table" in html, name
        overview = await admin.page("/admin/stats")
        assert "data:image/svg+xml;base64," in overview  # charts, inline, no script
        assert '<option value="web">Web chat</option>' in overview  # the channel filter
        assert "<script" not in overview
        tips = await admin.page("/admin/stats/tips")
        assert "&lt;3" in tips  # the lone drug tip
        content = await admin.page("/admin/stats/content")
        assert "khi-bi-lua-dao" in content or "lừa đảo" in content.lower()
        # Quy Nhơn's 2 tips are "<3", so Quy Nhơn Đông's 6 are hidden too ("*"): the total
        # (8) would give the 2 away; masked rows sort by name, not by their hidden value
        communes = await admin.page("/admin/stats/communes?sort=tips")
        table = communes[communes.index('<table class="data"') :]
        assert table.index(">Phường Quy Nhơn<") < table.index("Quy Nhơn Đông")
        row = table[table.index("Quy Nhơn Đông") :]
        assert row[: row.index("</tr>")].count(">*<") == 2  # its tips, and its open tips
    finally:
        await admin.close()


async def test_officer_sees_only_their_communes(panel: Panel) -> None:
    await _seed(panel)
    officer = await panel.logged_in("canbo_dong")
    try:
        tips = await officer.page("/admin/stats/tips")
        # 6 tips in Quy Nhơn Đông; the 2 of Quy Nhơn are not counted
        assert ">6<" in tips
        assert "Phường Quy Nhơn<" not in tips
        # asking for the other commune gives their own figures, not the other's
        other = await officer.page(f"/admin/stats/tips?commune={QN}")
        assert ">6<" in other
        status, body = await officer.get(f"/admin/stats/tips/tip_communes.csv?commune={QN}")
        assert status == 200
        assert "Quy Nhơn Đông" in body and "Phường Quy Nhơn," not in body
    finally:
        await officer.close()


async def test_propaganda_staff_never_see_tip_figures(panel: Panel) -> None:
    await _seed(panel)
    staff = await panel.logged_in("tuyentruyen")
    try:
        for path in (
            "/admin/stats/tips",
            "/admin/stats/tips/categories.csv",
            "/admin/stats/tips/export.xlsx",
        ):
            status, _ = await staff.get(path)
            assert status == 403, path
        communes = await staff.page("/admin/stats/communes")
        assert "Open tips" not in communes and "Tin báo" not in communes
        report = await staff.page("/admin/stats/report")
        assert "IV." not in report
        for name in ("overview", "content", "campaigns"):
            assert "<table" in await staff.page(f"/admin/stats/{name}")
    finally:
        await staff.close()


async def test_exports_are_bom_csv_and_excel_without_formulas(panel: Panel) -> None:
    await _seed(panel)
    admin = await panel.logged_in("admin")
    try:
        async with admin.http.get(admin.base + "/admin/stats/tips/categories.csv") as r:
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("text/csv")
            assert "attachment" in r.headers["Content-Disposition"]
            raw = await r.read()
        assert raw.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert rows[0][1] in ("Tin báo", "Tips")
        values = {row[0]: row[1] for row in rows[1:]}
        assert "<3" in values.values()  # masked in the export too
        async with admin.http.get(admin.base + "/admin/stats/campaigns/reach.csv") as r:
            text = (await r.read()).decode("utf-8-sig")
        assert "'=HYPERLINK" in text  # a title cannot become a formula
        async with admin.http.get(admin.base + "/admin/stats/overview/export.xlsx") as r:
            assert r.status == 200
            book = openpyxl.load_workbook(io.BytesIO(await r.read()))
        assert {"subscribers", "active", "messages", "channels"} <= set(book.sheetnames)
        async with admin.http.get(admin.base + "/admin/stats/campaigns/export.xlsx") as r:
            book = openpyxl.load_workbook(io.BytesIO(await r.read()))
        titles = [row[0] for row in book["reach"].iter_rows(min_row=5, values_only=True)]
        assert titles == ['\'=HYPERLINK("http://evil")']
    finally:
        await admin.close()


async def test_annual_report_for_the_province_and_a_commune(panel: Panel) -> None:
    await _seed(panel)
    admin = await panel.logged_in("admin")
    try:
        html = await admin.page("/admin/stats/report")
        assert "Gia Lai" in html and "IV." in html
        commune = await admin.page(f"/admin/stats/report?commune={QN_DONG}&year=2026")
        assert "Quy Nhơn Đông" in commune
        async with admin.http.get(admin.base + "/admin/stats/report.xlsx") as r:
            assert r.status == 200
            book = openpyxl.load_workbook(io.BytesIO(await r.read()))
        assert "categories" in book.sheetnames
    finally:
        await admin.close()


async def test_bad_filters_fall_back_and_unknown_pages_are_404(panel: Panel) -> None:
    admin = await panel.logged_in("admin")
    try:
        for query in (
            "from=2026-02-30&to=yesterday",
            "from=1900-01-01&to=2999-01-01",
            "commune=1%20OR%201%3D1&commune=99999999999&channel=%3Cscript%3E",
            "from=%00%FF&to=\u202e2026",
            "sort=drop%20table",
        ):
            status, html = await admin.get(f"/admin/stats/communes?{query}")
            assert status == 200, query
            assert "<script>" not in html
        for path in ("/admin/stats/nope", "/admin/stats/tips/nope.csv", "/admin/stats/x/y.pdf"):
            status, _ = await admin.get(path)
            assert status == 404, path
    finally:
        await admin.close()
    anonymous = panel.client()
    try:
        status, _ = await anonymous.get("/admin/stats/tips/categories.csv")
        assert status in (302, 303)
    finally:
        await anonymous.close()


async def test_messages_in_and_out_are_counted(panel: Panel) -> None:
    resident = TelegramResident(panel.stack, 777001)
    await resident.step("/start")
    runtime = panel.stack.runtime
    await runtime.outbox.flush()
    assert runtime.counter is not None
    assert runtime.counter.pending() >= 2
    await runtime.counter.flush(runtime.db)
    admin = await panel.logged_in("admin")
    try:
        status, body = await admin.get("/admin/stats/overview/messages.csv")
        assert status == 200
        rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
        assert sum(int(r[1]) for r in rows[1:]) >= 1  # in
        assert sum(int(r[2]) for r in rows[1:]) >= 1  # out
    finally:
        await admin.close()


async def test_response_and_close_times_are_kept_for_the_statistics(panel: Panel) -> None:
    from bot.audit import SYSTEM
    from bot.tips.workflow import set_status

    runtime = panel.stack.runtime
    tip = await file_tip(runtime.db, runtime.settings)
    async with runtime.db.session() as session:
        row = await session.get(type(tip), tip.id)
        assert row is not None and row.response_seconds is None
        row.created_at = row.created_at - timedelta(hours=3)
        await set_status(session, row, "accepted", "", SYSTEM, runtime.settings)
        assert row.response_seconds is not None and 3 * 3600 <= row.response_seconds < 3 * 3600 + 60
        await set_status(session, row, "resolved", "Đã xử lý.", SYSTEM, runtime.settings)
        assert row.close_seconds is not None and row.close_seconds >= 3 * 3600
        await set_status(session, row, "verifying", "", SYSTEM, runtime.settings)
        assert row.close_seconds is None  # reopened
