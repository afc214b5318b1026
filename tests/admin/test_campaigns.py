"""Campaign pages: propaganda staff plan, preview and submit; an administrator approves;
officers see nothing of it; pause, resume, cancel, copy; progress and results; the built-in
"Ngày hội 19/8" series; hostile text stays text.

Texts are checked through the catalog (`bot.i18n.gettext("vi", msgid)`), so the assertions
hold with or without the Vietnamese translations merged."""

from __future__ import annotations

import html as html_lib
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.campaigns import festival
from bot.campaigns.schedule import Schedule
from bot.i18n import format_datetime, gettext
from bot.models import AuditEntry, Campaign, Resident, StaffUser
from content.library import Festival, load_library
from content.locality import get_unit
from tests.admin.conftest import Panel
from tests.admin.panel import QN, QN_DONG, PanelClient, csrf_of

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
ITEMS = ["to-giac-toi-pham", "khi-bi-lua-dao"]
ACTIONS = ("submit", "approve", "pause", "resume", "cancel", "duplicate")


def vi(msgid: str, **params: Any) -> str:
    text = gettext("vi", msgid)
    return text.format(**params) if params else text


def shown(msgid: str, **params: Any) -> str:
    """The message as it appears in a page's HTML (escaped)."""
    return html_lib.escape(vi(msgid, **params), quote=False)


def next_year_day() -> date:
    return date(datetime.now(ZONE).year + 1, 3, 2)


def campaign_form(**change: Any) -> list[tuple[str, str]]:
    """The campaign form as a browser posts it (repeated names for lists)."""
    fields: dict[str, Any] = {
        "title": "Cảnh giác lừa đảo qua mạng",
        "text_vi": "Không chuyển tiền cho người lạ tự xưng công an.",
        "text_en": "Never send money to strangers calling as the police.",
        "image_url": "",
        "items": ITEMS,
        "communes": [str(QN_DONG)],
        "channels": [],
        "languages": [],
        "kind": "once",
        "at_date": next_year_day().isoformat(),
        "at_time": "08:00",
        "times": "",
        "weekday": [],
        "window_from": "",
        "window_to": "",
        "first_date": "",
        "last_date": "",
        "do": "save",
        **change,
    }
    pairs: list[tuple[str, str]] = []
    for key, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            pairs.append((key, one))
    return pairs


async def post_form(
    client: PanelClient, path: str, pairs: list[tuple[str, str]], csrf_from: str
) -> tuple[int, str, str]:
    token = csrf_of(await client.page(csrf_from))
    async with client.http.post(
        client.base + path, data=[*pairs, ("csrf", token)], allow_redirects=False
    ) as r:
        return r.status, r.headers.get("Location", ""), await r.text()


async def add_residents(panel: Panel) -> None:
    """Three subscribed residents of Quy Nhơn Đông (one reading English), two of Quy Nhơn,
    one who unsubscribed; all on Telegram, the channel the test stack runs."""
    async with panel.stack.runtime.db.session() as session:
        for n, (commune, language, subscribed) in enumerate(
            [
                (QN_DONG, "vi", True),
                (QN_DONG, "vi", True),
                (QN_DONG, "en", True),
                (QN, "vi", True),
                (QN, "vi", True),
                (QN_DONG, "vi", False),
            ]
        ):
            session.add(
                Resident(
                    channel="telegram",
                    chat_id=str(555000 + n),
                    language=language,
                    commune_code=commune,
                    subscribed=subscribed,
                )
            )


async def campaigns(panel: Panel) -> list[Campaign]:
    async with panel.stack.runtime.db.session() as session:
        return list((await session.execute(select(Campaign).order_by(Campaign.id))).scalars())


async def one(panel: Panel, campaign_id: int) -> Campaign:
    async with panel.stack.runtime.db.session() as session:
        found = await session.get(Campaign, campaign_id)
        assert found is not None
        return found


async def create(panel: Panel, username: str = "tuyentruyen", **change: Any) -> int:
    client = await panel.logged_in(username)
    try:
        status, location, _ = await post_form(
            client, "/admin/campaigns/new", campaign_form(**change), "/admin/campaigns/new"
        )
    finally:
        await client.close()
    assert status == 303, location
    assert location.endswith("?saved=1")
    return int(location.split("/")[-1].split("?")[0])


async def act(client: PanelClient, campaign_id: int, action: str, **data: str) -> str:
    page = f"/admin/campaigns/{campaign_id}"
    status, location, _ = await client.post(f"{page}/{action}", data, csrf_from=page)
    assert status == 303, (action, status)
    return unquote(location)


async def test_propaganda_previews_saves_and_submits_and_an_admin_approves(panel: Panel) -> None:
    await add_residents(panel)
    staff = await panel.logged_in("tuyentruyen")
    try:
        assert shown("Campaigns") in await staff.page("/admin/")
        status, _loc, page = await post_form(
            staff,
            "/admin/campaigns/new",
            campaign_form(do="preview"),
            "/admin/campaigns/new",
        )
        assert status == 200
        assert await campaigns(panel) == []  # a preview saves nothing
        assert shown("Will be sent to {n} people", n="3") in page
        # the buttons on Telegram and Zalo OA, none on Zalo Bot, in both languages
        library = load_library()
        for item in ITEMS:
            assert page.count(f"<li>{library.item(item).title.vi}</li>") == 2
            assert page.count(f"<li>{library.item(item).title.en}</li>") == 2
        assert shown("No buttons on this platform: the content items are left out.") in page
        first = datetime.combine(next_year_day(), time(8), tzinfo=ZONE)
        assert format_datetime(first, "vi") in page  # the next send, in local time
        assert 'value="Cảnh giác lừa đảo qua mạng"' in page  # the form keeps what was typed

        campaign_id = await create(panel)
        saved = await one(panel, campaign_id)
        assert (saved.status, saved.items) == ("draft", ITEMS)
        assert saved.audience == {"communes": [QN_DONG], "channels": [], "languages": []}
        page = await staff.page(f"/admin/campaigns/{campaign_id}")
        assert shown("Will be sent to {n} people", n="3") in page

        assert "error" not in await act(staff, campaign_id, "submit")
        assert (await one(panel, campaign_id)).status == "pending"
        token = csrf_of(await staff.page(f"/admin/campaigns/{campaign_id}"))
        assert (await staff.post(f"/admin/campaigns/{campaign_id}/approve", {"csrf": token}))[
            0
        ] == 403
    finally:
        await staff.close()
    admin = await panel.logged_in("admin")
    try:
        assert shown("Approve") in await admin.page(f"/admin/campaigns/{campaign_id}")
        assert "error" not in await act(admin, campaign_id, "approve")
    finally:
        await admin.close()
    approved = await one(panel, campaign_id)
    assert approved.status == "scheduled"
    assert approved.next_run_at == first.astimezone(UTC)
    async with panel.stack.runtime.db.session() as session:
        admin_id = (
            await session.execute(select(StaffUser.id).where(StaffUser.username == "admin"))
        ).scalar_one()
        actions = list(
            (
                await session.execute(
                    select(AuditEntry.action).where(AuditEntry.action.like("campaign%"))
                )
            ).scalars()
        )
    assert approved.approved_by == admin_id
    assert actions == ["campaign_create", "campaign_submit", "campaign_approve"]


async def test_officers_get_403_on_every_campaign_page_and_action(panel: Panel) -> None:
    campaign_id = await create(panel)
    officer = await panel.logged_in("canbo_dong")
    try:
        assert shown("Campaigns") not in await officer.page("/admin/")
        for path in ("/admin/campaigns", "/admin/campaigns/new", f"/admin/campaigns/{campaign_id}"):
            assert (await officer.get(path))[0] == 403, path
        token = csrf_of(await officer.page("/admin/account"))
        posts = [f"/admin/campaigns/{campaign_id}/{a}" for a in ACTIONS]
        posts += ["/admin/campaigns/new", f"/admin/campaigns/{campaign_id}"]
        posts += ["/admin/campaigns/festival"]
        for path in posts:
            status, _, _ = await officer.post(path, {"csrf": token, "sure": "1", "do": "save"})
            assert status == 403, path
    finally:
        await officer.close()
    [campaign] = await campaigns(panel)
    assert campaign.status == "draft"


async def test_propaganda_pages_say_nothing_of_tips(panel: Panel) -> None:
    campaign_id = await create(panel)
    staff = await panel.logged_in("tuyentruyen")
    try:
        for path in ("/admin/campaigns", f"/admin/campaigns/{campaign_id}"):
            page = await staff.page(path)
            assert "/admin/tips" not in page and "/admin/audit" not in page
            assert shown("Tip queue") not in page
    finally:
        await staff.close()


async def test_pause_resume_cancel_and_copy(panel: Panel) -> None:
    campaign_id = await create(panel, "admin")
    admin = await panel.logged_in("admin")
    try:
        await act(admin, campaign_id, "submit")  # an administrator's submit needs no approval
        assert (await one(panel, campaign_id)).status == "scheduled"
        await act(admin, campaign_id, "pause")
        assert (await one(panel, campaign_id)).status == "paused"
        assert "error=" in await act(admin, campaign_id, "pause")  # not twice
        await act(admin, campaign_id, "resume")
        assert (await one(panel, campaign_id)).status == "scheduled"
        location = await act(admin, campaign_id, "cancel")  # "I am sure" not ticked
        assert "error=Tick" in location
        assert (await one(panel, campaign_id)).status == "scheduled"
        await act(admin, campaign_id, "cancel", sure="1")
        cancelled = await one(panel, campaign_id)
        assert (cancelled.status, cancelled.next_run_at) == ("cancelled", None)
        assert "error=" in await act(admin, campaign_id, "resume")
        page = await admin.page(f"/admin/campaigns/{campaign_id}")
        assert f'action="/admin/campaigns/{campaign_id}/cancel"' not in page

        location = await act(admin, campaign_id, "duplicate")
        copy_id = int(location.split("/")[-1])
        copy = await one(panel, copy_id)
        assert copy.status == "draft" and copy_id != campaign_id
        assert copy.title == f"{vi('Copy of')} {cancelled.title}"
        assert (copy.text_vi, copy.items, copy.audience, copy.schedule) == (
            cancelled.text_vi,
            cancelled.items,
            cancelled.audience,
            cancelled.schedule,
        )
    finally:
        await admin.close()


async def test_a_campaign_that_is_not_editable_cannot_be_changed(panel: Panel) -> None:
    campaign_id = await create(panel)
    admin = await panel.logged_in("admin")
    try:
        await act(admin, campaign_id, "cancel", sure="1")
        page = f"/admin/campaigns/{campaign_id}"
        html = await admin.page(page)
        assert 'name="text_vi"' not in html  # read-only
        for do in ("save", "preview"):
            status, _loc, body = await post_form(
                admin, page, campaign_form(title="Đổi tiêu đề", do=do), page
            )
            assert status in (409, 303), do
            if status == 409:
                assert (
                    shown("This campaign can no longer be edited: make a copy to change it.")
                    in body
                )
    finally:
        await admin.close()
    after = await one(panel, campaign_id)
    assert (after.title, after.status) == ("Cảnh giác lừa đảo qua mạng", "cancelled")


async def test_refused_forms_keep_what_was_typed(panel: Panel) -> None:
    staff = await panel.logged_in("tuyentruyen")
    try:
        for change, msgid in (
            ({"image_url": "http://example.org/a.jpg"}, "The image must be an https:// address."),
            ({"text_vi": "x" * 2001}, "The text is too long for Zalo: at most 2,000 characters."),
            ({"at_date": "31/02/2027"}, "Give the send date, like 19/08/2026."),
            ({"kind": "recurring", "times": "25:00"}, "Give the time of day like 08:00."),
            ({"items": [*ITEMS, *ITEMS]}, "The same content item is chosen twice."),
        ):
            status, _loc, page = await post_form(
                staff, "/admin/campaigns/new", campaign_form(**change), "/admin/campaigns/new"
            )
            assert status == 400, change
            assert shown(msgid) in page, msgid
            assert "Cảnh giác lừa đảo qua mạng" in page
    finally:
        await staff.close()
    assert await campaigns(panel) == []


async def test_recurring_preview_lists_the_next_five_sends(panel: Panel) -> None:
    staff = await panel.logged_in("tuyentruyen")
    year = datetime.now(ZONE).year + 1
    try:
        _status, _loc, page = await post_form(
            staff,
            "/admin/campaigns/new",
            campaign_form(
                kind="recurring",
                times="08:00",
                weekday=["mon"],
                window_from="1/7",
                window_to="18/8",
                first_date=f"{year}-01-01",
                do="preview",
            ),
            "/admin/campaigns/new",
        )
    finally:
        await staff.close()
    mondays = [date(year, 7, 1) + timedelta(days=d) for d in range(60)]
    mondays = [d for d in mondays if d.weekday() == 0][:5]
    for day in mondays:
        assert format_datetime(datetime.combine(day, time(8), tzinfo=ZONE), "vi") in page
    sixth = mondays[-1] + timedelta(days=7)
    assert format_datetime(datetime.combine(sixth, time(8), tzinfo=ZONE), "vi") not in page


async def test_hostile_text_is_inert_in_the_preview_and_the_list(panel: Panel) -> None:
    script = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    staff = await panel.logged_in("tuyentruyen")
    try:
        status, _loc, page = await post_form(
            staff,
            "/admin/campaigns/new",
            campaign_form(title=f"T {script}", text_vi=f"Chào {script}", do="preview"),
            "/admin/campaigns/new",
        )
        assert status == 200
        assert "<script>" not in page and "<img src=x" not in page
        assert "&lt;script&gt;" in page
        campaign_id = await create(panel, title=f"T {script}", text_vi=f"Chào {script}")
        for path in ("/admin/campaigns", f"/admin/campaigns/{campaign_id}"):
            html = await staff.page(path)
            assert "<script>" not in html and "<img src=x" not in html
        status, _loc, page = await post_form(
            staff,
            "/admin/campaigns/new",
            campaign_form(image_url="javascript:alert(1)"),
            "/admin/campaigns/new",
        )
        assert status == 400
    finally:
        await staff.close()


async def test_a_campaign_sent_now_shows_progress_and_results(panel: Panel) -> None:
    stack = panel.stack
    async with stack.runtime.db.session() as session:
        for chat in (777001, 990001):  # chats the fake Telegram knows
            session.add(Resident(channel="telegram", chat_id=str(chat), commune_code=QN_DONG))
    campaign_id = await create(panel, "admin", kind="now")
    admin = await panel.logged_in("admin")
    try:
        await act(admin, campaign_id, "submit")
        assert stack.runtime.campaigns is not None
        await stack.runtime.campaigns.tick()  # what the scheduler does every few seconds
        for _ in range(20):
            campaign = await one(panel, campaign_id)
            if campaign.status == "sending":
                await stack.runtime.campaigns.send_batch("telegram")
                await stack.runtime.campaigns.tick()
            if (await one(panel, campaign_id)).status == "done":
                break
        page = await admin.page(f"/admin/campaigns/{campaign_id}")
    finally:
        await admin.close()
    assert (await one(panel, campaign_id)).status == "done"
    assert '<progress value="2" max="2"' in page
    assert f'<th scope="row">{shown("Sent")}</th><td>2</td>' in page
    assert shown("Button taps") in page


@pytest.mark.parametrize("already", [False, True])
async def test_the_festival_series_is_made_once_per_year(panel: Panel, already: bool) -> None:
    year = festival.festival_year(datetime.now(ZONE).date())
    staff = await panel.logged_in("tuyentruyen")
    try:
        page = await staff.page("/admin/campaigns")
        label = shown("Create the Ngày hội 19/8 series for {year}", year=year)
        assert label in page
        status, location, _ = await staff.post(
            "/admin/campaigns/festival", {}, csrf_from="/admin/campaigns"
        )
        assert (status, location) == (303, "/admin/campaigns?created=4")
        if already:
            assert label not in await staff.page("/admin/campaigns")
            token = csrf_of(await staff.page("/admin/campaigns"))
            status, location, _ = await staff.post("/admin/campaigns/festival", {"csrf": token})
            refused = "The Ngày hội 19/8 series for this year exists already."
            assert status == 303 and unquote(location).endswith(f"error={refused}")
            if vi(refused) != refused:  # a message in a URL is shown once the catalog has it
                assert shown(refused) in await staff.page(location)
    finally:
        await staff.close()
    made = await campaigns(panel)
    assert len(made) == 4
    assert {c.template for c in made} == {festival.TEMPLATE}
    assert {c.status for c in made} == {"draft"}
    by_step = {c.title.split(" — ")[1]: c for c in made}
    assert set(by_step) == {"Thông báo", "Nhắc hằng tuần", "Ngày 19/8", "Cảm ơn"}
    assert all(c.title.startswith(f"Ngày hội 19/8/{year} — ") for c in made)

    def at(campaign: Campaign) -> datetime | None:
        return Schedule.from_json(campaign.schedule).at

    assert at(by_step["Thông báo"]) == datetime(year, 7, 1, 8, tzinfo=ZONE)
    assert at(by_step["Ngày 19/8"]) == datetime(year, 8, 19, 7, tzinfo=ZONE)
    assert at(by_step["Cảm ơn"]) == datetime(year, 8, 20, 8, tzinfo=ZONE)
    weekly = Schedule.from_json(by_step["Nhắc hằng tuần"].schedule)
    sends = weekly.occurrences(
        datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    )
    assert sends[0] == datetime(year, 7, 1, 8, tzinfo=ZONE) + timedelta(
        days=(7 - date(year, 7, 1).weekday()) % 7
    )
    assert all(s.astimezone(ZONE).weekday() == 0 for s in sends)
    assert sends[-1].astimezone(ZONE).date() <= date(year, 8, 18)
    assert f"{year}" in by_step["Thông báo"].text_vi and by_step["Thông báo"].text_en
    assert "19/8/1945" in by_step["Ngày 19/8"].text_vi
    async with panel.stack.runtime.db.session() as session:
        series = (
            await session.execute(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "campaign_series")
            )
        ).scalar_one()
    assert series == 1


async def test_the_festival_series_has_one_draft_per_commune_with_events(panel: Panel) -> None:
    year = 2031
    base = load_library().festival.model_dump(mode="json")
    base["years"] = {
        year: {
            "window": {"start": f"{year}-07-01", "end": f"{year}-08-19"},
            "events": [
                {
                    "commune_code": QN_DONG,
                    "date": f"{year}-08-15",
                    "time": "19:30",
                    "place": {"vi": "Nhà văn hóa khu phố 3", "en": "Block 3 community hall"},
                    "title": {"vi": "Văn nghệ và khen thưởng", "en": "Concert and awards"},
                },
                {
                    "commune_code": QN_DONG,
                    "date": f"{year}-08-10",
                    "time": None,
                    "place": {"vi": "Sân bóng khu phố 1", "en": "Block 1 football pitch"},
                    "title": {"vi": "Giải bóng đá", "en": "Football tournament"},
                },
                {
                    "commune_code": QN,
                    "date": f"{year}-07-02",
                    "time": "08:00",
                    "place": {"vi": "Trụ sở Công an phường", "en": "Ward police station"},
                    "title": {"vi": "Mít tinh", "en": "Rally"},
                },
                {
                    "commune_code": None,
                    "date": f"{year}-08-18",
                    "time": "20:00",
                    "place": {"vi": "Quảng trường tỉnh", "en": "Province square"},
                    "title": {"vi": "Đêm văn nghệ", "en": "Evening concert"},
                },
            ],
        }
    }
    fest = Festival.model_validate(base)
    async with panel.stack.runtime.db.session() as session:
        actor = (
            await session.execute(select(StaffUser).where(StaffUser.username == "tuyentruyen"))
        ).scalar_one()
        made = await festival.create_series(session, year, actor, "Asia/Ho_Chi_Minh", fest)
        with pytest.raises(festival.CampaignError):
            await festival.create_series(session, year, actor, "Asia/Ho_Chi_Minh", fest)
    assert len(made) == 7
    by_commune = {tuple(c.audience["communes"]): c for c in made if c.audience["communes"]}
    assert set(by_commune) == {(QN_DONG,), (QN,)}
    dong = by_commune[(QN_DONG,)]
    unit = get_unit(QN_DONG)
    assert unit is not None and unit.name in dong.title and unit.name in dong.text_vi
    football = dong.text_vi.index("Giải bóng đá, tại Sân bóng khu phố 1")
    concert = dong.text_vi.index("19:30 ngày 15/8/2031: Văn nghệ và khen thưởng")
    assert football < concert  # by date
    assert "Concert and awards, at Block 3 community hall" in dong.text_en
    assert Schedule.from_json(dong.schedule).at == datetime(year, 8, 7, 8, tzinfo=ZONE)
    # an event on the second day is announced no earlier than the window opens
    assert Schedule.from_json(by_commune[(QN,)].schedule).at == datetime(year, 7, 1, 8, tzinfo=ZONE)
    province = [c for c in made if "Quảng trường tỉnh" in c.text_vi]
    assert len(province) == 1 and province[0].audience["communes"] == []


async def test_propaganda_staff_preview_and_submit_in_the_browser(panel: Panel) -> None:
    from playwright.async_api import expect

    from tests.admin.panel import PASSWORD
    from tests.browser import PHONE, browser_page

    await add_residents(panel)
    item = load_library().item(ITEMS[0])
    async with browser_page(viewport=PHONE) as page:
        await page.goto(panel.url + "/admin/login")
        await page.get_by_label(vi("User name")).fill("tuyentruyen")
        await page.get_by_label(vi("Password")).fill(PASSWORD)
        await page.get_by_role("button", name=vi("Log in")).click()
        await page.get_by_role("link", name=vi("Campaigns"), exact=True).click()
        await page.get_by_role("link", name=vi("New campaign")).click()
        await page.get_by_label(vi("Title (seen by staff only)")).fill("Nhắc khóa cửa")
        await page.get_by_label(vi("Text in Vietnamese")).fill("Nhớ khóa cửa, khóa xe <b>nhé</b>.")
        await page.get_by_label(vi("Button {n}", n=1)).select_option(ITEMS[0])
        await page.get_by_label(vi("Communes and wards")).select_option(str(QN_DONG))
        await page.get_by_label(vi("Once, at a date and time")).check()
        await page.get_by_label(vi("Date (once)")).fill(next_year_day().isoformat())
        await page.get_by_label(vi("Time (once)")).fill("08:00")
        await page.get_by_role("button", name=vi("Preview"), exact=True).click()

        preview = page.locator("#preview")
        await expect(preview).to_contain_text(vi("Will be sent to {n} people", n="3"))
        await expect(preview.locator(".p-telegram .bubble")).to_have_text(
            "Nhớ khóa cửa, khóa xe <b>nhé</b>."
        )
        await expect(preview.locator(".p-telegram .keyboard li")).to_have_text(item.title.vi)
        await expect(preview.locator(".p-zalo_bot .keyboard")).to_have_count(0)
        await expect(page.get_by_label(vi("Title (seen by staff only)"))).to_have_value(
            "Nhắc khóa cửa"
        )
        assert await campaigns(panel) == []

        await page.get_by_role("button", name=vi("Save draft")).click()
        await expect(page.get_by_role("status")).to_contain_text(vi("Saved."))
        await page.get_by_role("button", name=vi("Submit for approval")).click()
        await expect(page.locator("h1 .status")).to_have_text(vi("Awaiting approval"))
    [campaign] = await campaigns(panel)
    assert (campaign.title, campaign.status) == ("Nhắc khóa cửa", "pending")
