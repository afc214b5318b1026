"""The unanswered questions page: propaganda staff and administrators see what residents
asked that the bot could not answer, grouped, masked and counted; attaching a question to an
item makes the bot answer it with that item; a new item can be written from a question (the
form pre-filled, the group ended when the item is made); dismissing drops it; officers get
403; every change is audited; the item form shows and edits example questions."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlmodel import col

from bot.models import AuditEntry, ContentItem, UnansweredQuestion
from content import answers
from content.library import load_files, load_library
from content.unanswered import groups, record_unanswered
from tests.admin.conftest import Panel
from tests.admin.panel import PanelClient, csrf_of
from tests.admin.test_campaigns import shown, vi
from tests.admin.test_content import item_form

PAGE = "/admin/questions"
#: Answered by the job-scam item in substance, but the bot has no answer to it as worded.
QUESTION = "Con tôi bị dụ vào nhóm kín làm nhiệm vụ like video được không?"
JOBS = "lua-dao-viec-nhe-luong-cao"


async def record(panel: Panel, text: str, language: str = "vi", times: int = 1) -> None:
    for _ in range(times):
        async with panel.stack.runtime.db.session() as session:
            await record_unanswered(session, text, language)


async def group_ids(panel: Panel) -> list[str]:
    async with panel.stack.runtime.db.session() as session:
        found, _ = await groups(session)
    return [",".join(str(i) for i in g.ids) for g in found]


async def kept(panel: Panel) -> list[str]:
    async with panel.stack.runtime.db.session() as session:
        rows = await session.execute(select(col(UnansweredQuestion.text)))
        return sorted(rows.scalars())


async def audited(panel: Panel) -> list[tuple[str, str]]:
    async with panel.stack.runtime.db.session() as session:
        rows = await session.execute(
            select(col(AuditEntry.action), col(AuditEntry.detail))
            .where(
                col(AuditEntry.action).like("question%") | col(AuditEntry.action).like("content%")
            )
            .order_by(col(AuditEntry.id))
        )
        return [(a, d) for a, d in rows.all()]


async def test_a_question_attached_to_an_item_is_answered_with_it(panel: Panel) -> None:
    """End to end: a resident's question the bot could not answer, attached on the page to
    an item; the next resident asking it gets that item first."""
    before = answers.answer(QUESTION)
    assert not before or before[0].score < answers.CONFIDENT, before  # not sure of any
    await record(panel, QUESTION, times=2)
    await record(panel, "con toi bi du vao nhom kin lam nhiem vu like video duoc ko")  # same key
    await record(panel, "con tôi bị rủ vào nhóm kín làm nhiệm vụ like video")
    staff = await panel.logged_in("tuyentruyen")
    try:
        assert f'href="{PAGE}"' in await staff.page("/admin/")
        page = await staff.page(PAGE)
        assert shown("Unanswered questions") in page
        assert QUESTION in page and shown("Asked {n} times", n="4") in page
        assert shown("Other wordings ({n})", n="1") in page
        # the bot's best guess is offered first
        assert f'<option value="{JOBS}" selected>' in page
        [ids] = await group_ids(panel)
        status, location, _ = await staff.post(
            f"{PAGE}/attach",
            {"ids": ids, "item": JOBS, "question": QUESTION, "language": "vi"},
            csrf_from=PAGE,
        )
        assert (status, location) == (303, f"{PAGE}?done=attached")
        first = answers.answer(QUESTION)[0]
        assert (first.kind, first.id) == ("item", JOBS) and first.score >= answers.CONFIDENT
        questions = load_library().item(JOBS).questions
        assert questions is not None and QUESTION in questions.vi
        assert await kept(panel) == []
        page = await staff.page(location)
        assert (
            shown("Added to the item as an example question: residents asking it get the item.")
            in page
        )
        assert (
            shown("No unanswered questions: the bot answered everything residents asked.") in page
        )
        # the item's form shows it, and a save of that form keeps it
        item_page = await staff.page(f"/admin/content/items/{JOBS}")
        assert f"{QUESTION}</textarea>" in item_page
    finally:
        await staff.close()
    actions = [a for a, _ in await audited(panel)]
    assert actions == ["content_edit", "question_attach"]


async def test_a_new_item_written_from_a_question(panel: Panel) -> None:
    await record(panel, "Làm hộ chiếu online ở đâu?", times=3)
    [ids] = await group_ids(panel)
    staff = await panel.logged_in("tuyentruyen")
    try:
        page = await staff.page(PAGE)
        link = f"/admin/content/items/new?unanswered={ids}"
        assert f'href="{link}"' in page
        form = await staff.page(link)
        assert 'name="title_vi" value="Làm hộ chiếu online ở đâu?"' in form
        assert "Làm hộ chiếu online ở đâu?</textarea>" in form
        assert f'name="unanswered" value="{ids}"' in form
        data = item_form(
            id="ho-chieu-online",
            topic="law",
            title_vi="Làm hộ chiếu trực tuyến",
            questions_vi="Làm hộ chiếu online ở đâu?\n\n  cấp hộ chiếu   qua mạng ",
            questions_en="How do I get a passport online?",
            questions_shown="1",
            unanswered=ids,
        )
        status, location, _ = await staff.post("/admin/content/items/new", data)
        assert (status, location) == (303, "/admin/content/items/ho-chieu-online?done=created")
        async with panel.stack.runtime.db.session() as session:
            row = await session.get(ContentItem, "ho-chieu-online")
        assert row is not None and row.data["questions"] == {
            "vi": ["Làm hộ chiếu online ở đâu?", "cấp hộ chiếu qua mạng"],
            "en": ["How do I get a passport online?"],
        }
        assert await kept(panel) == []
        # an edit removes one, then all; a form without the field keeps them (older pages)
        edit = {**data, "questions_vi": "cấp hộ chiếu qua mạng", "questions_en": ""}
        edit["base_version"] = "1"
        path = "/admin/content/items/ho-chieu-online"
        assert (await staff.post(path, edit))[0] == 303
        edit = {**edit, "base_version": "2", "questions_shown": ""}
        del edit["questions_vi"]
        assert (await staff.post(path, edit))[0] == 303
        async with panel.stack.runtime.db.session() as session:
            row = await session.get(ContentItem, "ho-chieu-online")
        assert row is not None and row.data["questions"] == {
            "vi": ["cấp hộ chiếu qua mạng"],
            "en": [],
        }
        too_long = {**edit, "base_version": "3", "questions_shown": "1", "questions_en": "x" * 201}
        status, _loc, html = await staff.post(path, too_long)
        assert status == 400 and 'id="err-questions_en"' in html
    finally:
        await staff.close()
    assert [a for a, _ in await audited(panel)] == [
        "content_create",
        "question_attach",
        "content_edit",
        "content_edit",
    ]


async def test_dismissing_and_refusals(panel: Panel) -> None:
    await record(panel, "xổ số miền nam hôm nay <script>alert(1)</script>")
    [ids] = await group_ids(panel)
    staff = await panel.logged_in("admin")
    try:
        page = await staff.page(PAGE)
        assert "<script>alert" not in page and "&lt;script&gt;" in page
        # refused: no item, an empty question; the questions stay
        for change in ({"item": ""}, {"item": "no-such-item"}, {"question": "   "}):
            data = {"ids": ids, "item": JOBS, "question": "xổ số", "language": "vi", **change}
            status, location, _ = await staff.post(f"{PAGE}/attach", data, csrf_from=PAGE)
            assert status == 303 and "error=" in location, change
            assert 'role="alert"' in await staff.page(location)
        assert len(await kept(panel)) == 1
        status, location, _ = await staff.post(f"{PAGE}/dismiss", {"ids": ids}, csrf_from=PAGE)
        assert (status, location) == (303, f"{PAGE}?done=dismissed")
        assert await kept(panel) == []
        status, location, _ = await staff.post(f"{PAGE}/dismiss", {"ids": ids}, csrf_from=PAGE)
        assert "error=" in location  # dealt with already
        status, _loc, _ = await staff.post(f"{PAGE}/dismiss", {"ids": "x"}, csrf_from=PAGE)
        assert status == 400
        # a crafted error message is not shown
        assert "Hacked" not in await staff.page(f"{PAGE}?error=Hacked")
    finally:
        await staff.close()
    assert await audited(panel) == [("question_dismiss", "1 rows, asked 1 times")]


async def test_officers_get_403_and_no_link(panel: Panel) -> None:
    await record(panel, "giá vàng hôm nay")
    [ids] = await group_ids(panel)
    officer = await panel.logged_in("canbo_dong")
    try:
        assert f'href="{PAGE}"' not in await officer.page("/admin/tips")
        assert (await officer.get(PAGE))[0] == 403
        token = csrf_of(await officer.page("/admin/account"))
        for action in ("attach", "dismiss"):
            data = {"ids": ids, "item": JOBS, "question": "giá vàng", "csrf": token}
            assert (await officer.post(f"{PAGE}/{action}", data))[0] == 403
    finally:
        await officer.close()
    assert len(await kept(panel)) == 1 and await audited(panel) == []
    anonymous = PanelClient.open(panel.url)
    try:
        assert (await anonymous.get(PAGE))[0] == 303  # to the login page
    finally:
        await anonymous.close()


async def test_the_page_on_a_phone_and_a_desktop(panel: Panel, tmp_path: Path) -> None:
    """In headless Chromium: a phone (390 px, nothing wider than the screen) and a desktop;
    the screenshots stay in the test's tmp_path."""
    from playwright.async_api import expect

    from tests.admin.panel import PASSWORD
    from tests.browser import DESKTOP, PHONE, browser_page

    long_words = "Xin hỏi " + "rấtrấtrấtdàikhôngcókhoảngtrắng" * 4 + " thì sao?"
    await record(panel, "Tôi là Nguyễn Văn An, số 0912345678, hỏi giá vàng hôm nay?", times=4)
    await record(panel, "gia vang hom nay bao nhieu")
    await record(panel, long_words)
    await record(panel, "What is the weather tomorrow?", language="en")
    await record(panel, QUESTION, times=2)
    title = load_files().item(JOBS).title.vi
    for viewport, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
        async with browser_page(viewport=viewport) as page:
            await page.goto(panel.url + "/admin/login")
            await page.get_by_label(vi("User name")).fill("tuyentruyen")
            await page.get_by_label(vi("Password")).fill(PASSWORD)
            await page.get_by_role("button", name=vi("Log in")).click()
            await page.get_by_role("link", name=vi("Unanswered questions")).click()
            await expect(page.get_by_role("heading", level=1)).to_have_text(
                vi("Unanswered questions")
            )
            first = page.locator("article.question-group").first
            await expect(first.locator("h2")).to_contain_text("Tôi là [TÊN], số [SĐT]")
            await expect(first).to_contain_text(vi("Asked {n} times", n="4"))
            await page.screenshot(path=tmp_path / f"questions-{name}.png", full_page=True)
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], (name, width)
            if name == "desktop":
                continue
            group = page.locator("article.question-group").filter(has_text=QUESTION)
            await group.get_by_label(vi("Item that answers it")).select_option(JOBS)
            await group.get_by_role("button", name=vi("Add to the item")).click()
            await expect(page.get_by_role("status")).to_contain_text(
                vi("Added to the item as an example question: residents asking it get the item.")
            )
            await expect(page.locator("article.question-group")).to_have_count(4)
            weather = page.locator("article.question-group").filter(has_text="weather")
            await weather.get_by_role("link", name=vi("Write a new item")).click()
            await expect(page.get_by_label(vi("Title in English"))).to_have_value(
                "What is the weather tomorrow?"
            )
            await expect(page.get_by_label(vi("Example questions in English"))).to_have_value(
                "What is the weather tomorrow?"
            )
            await page.screenshot(path=tmp_path / "questions-new-item.png", full_page=True)
            assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            await page.go_back()
            await page.reload()
            weather = page.locator("article.question-group").filter(has_text="weather")
            await weather.get_by_role("button", name=vi("Dismiss")).click()
            await expect(page.get_by_role("status")).to_have_text(vi("Dismissed."))
            await expect(page.locator("article.question-group")).to_have_count(3)
    assert answers.answer(QUESTION)[0].id == JOBS
    assert title in {load_library().item(JOBS).title.vi}
