"""Content pages: propaganda staff create, preview, publish, edit, restore and unpublish items
and hotlines in both languages; what they save reaches residents through the bot; refused
forms say why next to each field and keep what was typed; hostile text stays text; officers
get 403 for everything; every change is in the audit log.

Texts are checked through the catalog (`bot.i18n.gettext("vi", msgid)`), so the assertions
hold with or without the Vietnamese translations merged."""

from __future__ import annotations

import unicodedata
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from bot.i18n import format_number
from bot.models import AuditEntry, ContentItem, ContentVersion
from content.library import load_files, load_library
from content.store import REFRESH_SECONDS, current_revision
from tests.admin.conftest import Panel
from tests.admin.panel import PanelClient, csrf_of
from tests.admin.test_campaigns import shown, vi
from tests.handlers.test_dialogues import ONBOARDING
from tests.harness import TelegramResident, run_dialogue

NEW = "/admin/content/items/new"
ITEM = "/admin/content/items/lua-dao-ve-may-bay"
ND06 = "nd-06-2014"


def item_form(**change: str) -> dict[str, str]:
    return {
        "id": "lua-dao-ve-may-bay",
        "topic": "fraud",
        "order": "90",
        "title_vi": "Lừa đảo bán vé máy bay giá rẻ",
        "summary_vi": "Chỉ mua vé ở hãng hoặc đại lý chính thức.",
        "body_vi": "Kẻ gian lập trang bán vé giá rẻ rồi chiếm tiền chuyển khoản.",
        "source_vi": "",
        "title_en": "Cheap plane ticket scams",
        "summary_en": "Buy tickets from airlines or official agents only.",
        "body_en": "Crooks set up cheap ticket pages and keep the money you transfer.",
        "source_en": "",
        "tags": "ve-may-bay, lua-dao",
        "change_note": "",
        "base_version": "",
        "do": "save",
        **change,
    }


def hotline_form(**change: str) -> dict[str, str]:
    return {
        "number": "1900",
        "position": "9",
        "title_vi": "Tổng đài hỗ trợ",
        "note_vi": "Gọi trong giờ hành chính.",
        "title_en": "Help line",
        "note_en": "Call in office hours.",
        "change_note": "",
        "base_version": "",
        "do": "save",
        **change,
    }


def number(value: int) -> str:
    return format_number(value, "vi")


async def audited(panel: Panel) -> list[str]:
    async with panel.stack.runtime.db.session() as session:
        rows = await session.execute(
            select(col(AuditEntry.action))
            .where(col(AuditEntry.action).like("content%"))
            .order_by(col(AuditEntry.id))
        )
        return list(rows.scalars())


async def row_of(panel: Panel, item_id: str) -> ContentItem | None:
    async with panel.stack.runtime.db.session() as session:
        return await session.get(ContentItem, item_id)


async def revision(panel: Panel) -> int:
    async with panel.stack.runtime.db.session() as session:
        return await current_revision(session)


async def act(client: PanelClient, page: str, action: str, **data: str) -> str:
    status, location, _ = await client.post(f"{page}/{action}", data, csrf_from=page)
    assert status == 303, (action, status)
    return location


async def test_create_preview_publish_edit_restore_unpublish(panel: Panel) -> None:
    staff = await panel.logged_in("tuyentruyen")
    try:
        assert 'href="/admin/content"' in await staff.page("/admin/")
        listing = await staff.page("/admin/content")
        assert load_files().item(ND06).title.vi in listing and shown("Published") in listing
        assert "/admin/content/hotlines/113" in listing

        status, _loc, page = await staff.post(NEW, item_form(do="preview"))
        assert status == 200 and await row_of(panel, "lua-dao-ve-may-bay") is None
        assert "LỪA ĐẢO BÁN VÉ MÁY BAY GIÁ RẺ" in page  # as the bot shows it
        assert "CHEAP PLANE TICKET SCAMS" in page
        assert f"<li>{vi('⬅️ Back to the list')}</li>" in page  # a button on Telegram, Zalo OA
        assert f"1. {vi('⬅️ Back to the list')}" in page  # numbered on Zalo Bot
        assert 'value="Lừa đảo bán vé máy bay giá rẻ"' in page

        status, location, _ = await staff.post(NEW, item_form(change_note="bài mới"))
        assert (status, location) == (303, f"{ITEM}?done=created")
        created = await row_of(panel, "lua-dao-ve-may-bay")
        assert created is not None and (created.version, created.published) == (1, False)
        assert "lua-dao-ve-may-bay" not in load_library().items  # not before it is published

        assert await act(staff, ITEM, "publish") == f"{ITEM}?done=publish"
        assert load_library().item("lua-dao-ve-may-bay").title.en == "Cheap plane ticket scams"

        changed = item_form(body_vi="Nội dung đã sửa.", base_version="1", change_note="sửa")
        status, location, _ = await staff.post(ITEM, changed)
        assert (status, location) == (303, f"{ITEM}?done=saved")
        assert load_library().item("lua-dao-ve-may-bay").body.vi == "Nội dung đã sửa."

        await act(staff, ITEM, "restore", version="1")
        assert load_library().item("lua-dao-ve-may-bay").body.vi.startswith("Kẻ gian")
        page = await staff.page(ITEM)
        for n in (1, 2, 3):
            assert shown("Version {n}", n=n) in page
        assert shown("restored from version {n}", n=1) in page
        versions = page.split('id="versions-h"', 1)[1]
        assert "bài mới" in versions and "sửa" in versions
        assert versions.count("· tuyentruyen") == 3  # who saved each version
        assert page.count(shown("Restore this version")) == 2  # not the current one

        await act(staff, ITEM, "unpublish")
        assert "lua-dao-ve-may-bay" not in load_library().items
    finally:
        await staff.close()
    async with panel.stack.runtime.db.session() as session:
        versions = (
            await session.execute(
                select(func.count())
                .select_from(ContentVersion)
                .where(col(ContentVersion.key) == "lua-dao-ve-may-bay")
            )
        ).scalar_one()
    assert versions == 3
    assert await audited(panel) == [
        "content_create",
        "content_publish",
        "content_edit",
        "content_restore",
        "content_unpublish",
    ]
    admin = await panel.logged_in("admin")
    try:
        log = await admin.page("/admin/audit")
        assert "content_restore" in log and "item lua-dao-ve-may-bay v3 (from v1)" in log
    finally:
        await admin.close()


async def test_hotlines_are_edited_and_ordered(panel: Panel) -> None:
    staff = await panel.logged_in("tuyentruyen")
    try:
        new = "/admin/content/hotlines/new"
        status, _loc, page = await staff.post(new, hotline_form(do="preview"))
        assert status == 200
        assert "📞 1900 — Tổng đài hỗ trợ (Gọi trong giờ hành chính.)" in page
        assert page.index("📞 111 —") < page.index("📞 1900 —")  # after the four, by place
        assert (await staff.post(new, hotline_form()))[0] == 303
        await act(staff, "/admin/content/hotlines/1900", "publish")
        edit = hotline_form(position="0", title_vi="Tổng đài mới", base_version="1")
        assert (await staff.post("/admin/content/hotlines/1900", edit))[0] == 303
        assert load_library().hotlines[0].title.vi == "Tổng đài mới"
        await act(staff, "/admin/content/hotlines/115", "unpublish")
        assert [h.number for h in load_library().hotlines] == ["1900", "113", "114", "111"]
    finally:
        await staff.close()
    assert await audited(panel) == [
        "content_create",
        "content_publish",
        "content_edit",
        "content_unpublish",
    ]


TOO_LONG = "ơ" * 1501
EMOJI_TITLE = "🚨" * 61  # 122 UTF-16 units: Telegram counts an emoji twice


@pytest.mark.parametrize(
    ("change", "field", "msgid", "params"),
    [
        ({"body_vi": "An\u200bninh"}, "body_vi", "invisible", {"position": 3}),
        ({"body_vi": TOO_LONG}, "body_vi", "too_long", {"length": 1501, "limit": 1500}),
        ({"title_vi": EMOJI_TITLE}, "title_vi", "too_long", {"length": 122, "limit": 120}),
        ({"title_en": "  "}, "title_en", "Required.", {}),
        ({"id": "Lừa đảo"}, "id", "slug", {}),
        ({"id": ND06}, "id", "An item with this id exists already.", {}),
        ({"topic": "weather"}, "topic", "Choose a topic from the list.", {}),
        ({"source_vi": "Bộ Công an"}, "source_en", "source_half", {}),
        ({"order": "mười"}, "order", "Give a whole number.", {}),
        ({"tags": "a, a"}, "tags", "A tag is given twice.", {}),
    ],
)
async def test_refused_forms_say_why_next_to_the_field(
    panel: Panel, change: dict[str, str], field: str, msgid: str, params: dict[str, Any]
) -> None:
    messages = {
        "invisible": "Contains an invisible or control character ({char}) at character "
        "{position}: delete it, or type the text again.",
        "too_long": "Too long: {length} characters, at most {limit}.",
        "slug": "Use lowercase letters without diacritics, digits and hyphens, e.g. lua-dao-moi.",
        "source_half": "Give the source in both languages, or leave both empty.",
    }
    if msgid == "invisible":
        params = {"char": "U+200B ZERO WIDTH SPACE", "position": number(3)}
    else:
        params = {k: number(v) for k, v in params.items()}
    before = await revision(panel)
    staff = await panel.logged_in("tuyentruyen")
    try:
        for do in ("preview", "save"):
            status, _loc, page = await staff.post(NEW, item_form(do=do, **change))
            assert status == 400, (change, do)
            error = page.split(f'id="err-{field}"', 1)[1].split("</div>", 1)[0]
            assert shown(messages.get(msgid, msgid), **params) in error, page
            assert f'name="{field}"' in page and 'aria-invalid="true"' in page
            assert "Buy tickets from airlines or official agents only." in page  # as typed
            assert 'id="preview"' not in page
    finally:
        await staff.close()
    assert await revision(panel) == before and await audited(panel) == []


async def test_decomposed_text_is_composed_and_emoji_are_welcome(panel: Panel) -> None:
    title = unicodedata.normalize("NFD", "Cảnh giác 👮‍♀️ lừa đảo")
    staff = await panel.logged_in("tuyentruyen")
    try:
        status, _loc, _page = await staff.post(NEW, item_form(title_vi=title))
        assert status == 303
    finally:
        await staff.close()
    saved = await row_of(panel, "lua-dao-ve-may-bay")
    assert saved is not None
    assert saved.data["title"]["vi"] == unicodedata.normalize("NFC", title) != title


@pytest.mark.parametrize(
    ("change", "field", "msgid"),
    [
        ({"number": "12"}, "number", "A national hotline number has 3 to 5 digits."),
        ({"number": "113"}, "number", "This number is in the list already."),
        ({"note_vi": "x" * 301}, "note_vi", "Too long: {length} characters, at most {limit}."),
    ],
)
async def test_refused_hotlines_say_why(
    panel: Panel, change: dict[str, str], field: str, msgid: str
) -> None:
    staff = await panel.logged_in("tuyentruyen")
    try:
        status, _loc, page = await staff.post("/admin/content/hotlines/new", hotline_form(**change))
    finally:
        await staff.close()
    assert status == 400
    error = page.split(f'id="err-{field}"', 1)[1].split("</div>", 1)[0]
    assert shown(msgid, length="301", limit="300") in error


async def test_a_stale_form_is_refused_and_keeps_the_text(panel: Panel) -> None:
    item = load_files().item(ND06)
    page = f"/admin/content/items/{ND06}"
    first, second = await panel.logged_in("tuyentruyen"), await panel.logged_in("admin")
    try:
        base = {
            "topic": item.topic,
            "order": str(item.order),
            "title_vi": item.title.vi,
            "summary_vi": item.summary.vi,
            "title_en": item.title.en,
            "summary_en": item.summary.en,
            "body_en": item.body.en,
            "source_vi": item.source.vi if item.source else "",
            "source_en": item.source.en if item.source else "",
            "tags": ", ".join(item.tags),
            "change_note": "",
            "base_version": "1",
            "do": "save",
        }
        token = csrf_of(await second.page(page))  # the admin opened the form at version 1
        assert (await first.post(page, {**base, "body_vi": "Bản của cán bộ."}))[0] == 303
        status, _loc, html = await second.post(
            page, {**base, "body_vi": "Bản của quản trị.", "csrf": token}
        )
        assert status == 409
        assert (
            shown(
                "Someone else saved a newer version (version {version}) while you were editing. "
                "Your text is kept below: check the history, then save again to replace it.",
                version="2",
            )
            in html
        )
        assert "Bản của quản trị." in html and 'name="base_version" value="2"' in html
        assert load_library().item(ND06).body.vi == "Bản của cán bộ."
        # saving again, knowingly, replaces it
        again = {**base, "body_vi": "Bản của quản trị.", "base_version": "2"}
        assert (await second.post(page, again))[0] == 303
        assert load_library().item(ND06).body.vi == "Bản của quản trị."
    finally:
        await first.close()
        await second.close()


async def test_hostile_text_stays_text(panel: Panel) -> None:
    script = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    staff = await panel.logged_in("tuyentruyen")
    try:
        form = item_form(title_vi=f"Chào {script}", body_vi=f"Nội dung {script}", do="preview")
        status, _loc, page = await staff.post(NEW, form)
        assert status == 200 and "&lt;script&gt;" in page
        assert (await staff.post(NEW, item_form(title_vi=f"Chào {script}", change_note=script)))[
            0
        ] == 303
        for path in ("/admin/content", ITEM):
            html = await staff.page(path)
            assert "<script>" not in html and "<img src=x" not in html
            assert "&lt;script&gt;" in html
    finally:
        await staff.close()


async def test_officers_get_403_on_every_content_page_and_action(panel: Panel) -> None:
    before = await revision(panel)
    officer = await panel.logged_in("canbo_dong")
    try:
        assert "/admin/content" not in await officer.page("/admin/tips")
        item, hotline = f"/admin/content/items/{ND06}", "/admin/content/hotlines/113"
        pages = ["/admin/content", NEW, item, "/admin/content/hotlines/new", hotline]
        for path in pages:
            assert (await officer.get(path))[0] == 403, path
        token = csrf_of(await officer.page("/admin/account"))
        posts = [NEW, item, "/admin/content/hotlines/new", hotline]
        posts += [f"{p}/{a}" for p in (item, hotline) for a in ("publish", "unpublish", "restore")]
        for path in posts:
            data = {**item_form(), **hotline_form(), "csrf": token, "version": "1"}
            assert (await officer.post(path, data))[0] == 403, path
    finally:
        await officer.close()
    assert await revision(panel) == before and await audited(panel) == []


async def test_a_resident_on_telegram_reads_the_edited_item(panel: Panel) -> None:
    stack = panel.stack
    job = stack.runtime._scheduler.get_job("content") if stack.runtime._scheduler else None
    assert job is not None and job.trigger.interval == timedelta(seconds=REFRESH_SECONDS)
    item = load_files().item(ND06)
    law = load_files().topic("law").title.vi
    resident = TelegramResident(stack, 777001)
    await run_dialogue(resident, ONBOARDING)
    await run_dialogue(
        resident,
        [("[📚 Tuyên truyền pháp luật]", law), (f"[{law}]", item.title.vi)],
    )
    await run_dialogue(resident, [(f"[{item.title.vi}]", item.body.vi[:40])])

    staff = await panel.logged_in("tuyentruyen")
    page = f"/admin/content/items/{ND06}"
    try:
        form = await staff.page(page)
        assert item.body.vi[:40] in form
        data = {
            "topic": item.topic,
            "order": str(item.order),
            "title_vi": "Nghị định 06/2014 (đã cập nhật)",
            "summary_vi": item.summary.vi,
            "body_vi": "Bản giải thích mới của Nghị định 06/2014/NĐ-CP.",
            "source_vi": item.source.vi if item.source else "",
            "title_en": item.title.en,
            "summary_en": item.summary.en,
            "body_en": item.body.en,
            "source_en": item.source.en if item.source else "",
            "tags": "",
            "change_note": "cập nhật",
            "base_version": "1",
            "do": "save",
        }
        assert (await staff.post(page, data))[0] == 303
        await run_dialogue(
            resident,
            [
                ("[⬅️ Về danh sách]", "Nghị định 06/2014 (đã cập nhật)"),
                (
                    "[Nghị định 06/2014 (đã cập nhật)]",
                    ["NGHỊ ĐỊNH 06/2014 (ĐÃ CẬP NHẬT)", "Bản giải thích mới"],
                ),
            ],
        )
        await act(staff, page, "unpublish")
        answer = await resident.step("[⬅️ Về danh sách]")
        assert "Nghị định 06/2014" not in answer and law in answer
    finally:
        await staff.close()


async def test_editing_an_item_on_a_phone(panel: Panel, tmp_path: Path) -> None:
    """In headless Chromium at phone size; the screenshots stay in the test's tmp_path."""
    from playwright.async_api import expect

    from tests.admin.panel import PASSWORD
    from tests.browser import PHONE, browser_page

    item = load_files().item(ND06)
    async with browser_page(viewport=PHONE) as page:
        await page.goto(panel.url + "/admin/login")
        await page.get_by_label(vi("User name")).fill("tuyentruyen")
        await page.get_by_label(vi("Password")).fill(PASSWORD)
        await page.get_by_role("button", name=vi("Log in")).click()
        await page.get_by_role("link", name=vi("Content"), exact=True).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(vi("Content"))
        await page.screenshot(path=tmp_path / "content-list.png", full_page=True)
        await page.get_by_role("link", name=item.title.vi).click()

        body = page.get_by_label(vi("Text in Vietnamese"))
        await expect(body).to_have_value(item.body.vi)
        await body.fill("Bản mới: <b>giữ</b> nguyên văn bản.")
        await page.get_by_label(vi("Title in English")).fill("x" * 121)
        await page.get_by_role("button", name=vi("Preview"), exact=True).click()
        error = page.locator("#err-title_en")
        await expect(error).to_have_text(
            vi("Too long: {length} characters, at most {limit}.", length="121", limit="120")
        )
        await expect(page.get_by_label(vi("Title in English"))).to_have_attribute(
            "aria-invalid", "true"
        )
        await page.screenshot(path=tmp_path / "content-error.png", full_page=True)

        await page.get_by_label(vi("Title in English")).fill(item.title.en)
        await page.get_by_role("button", name=vi("Preview"), exact=True).click()
        preview = page.locator("#preview")
        await expect(preview.locator(".p-telegram .bubble").first).to_contain_text(
            "Bản mới: <b>giữ</b> nguyên văn bản."
        )
        await expect(preview.locator(".p-zalo_bot .keyboard")).to_have_count(0)
        await page.screenshot(path=tmp_path / "content-preview.png", full_page=True)
        assert load_library().item(ND06).body.vi == item.body.vi  # a preview saves nothing

        await page.get_by_label(vi("What changed and why (kept with the version; optional)")).fill(
            "Viết lại cho dễ hiểu"
        )
        await page.get_by_role("button", name=vi("Save"), exact=True).click()
        await expect(page.get_by_role("status")).to_have_text(vi("Saved."))
        assert load_library().item(ND06).body.vi == "Bản mới: <b>giữ</b> nguyên văn bản."
        await page.get_by_role("button", name=vi("Restore version {n}", n="1")).click()
        await expect(page.get_by_role("status")).to_have_text(vi("Restored as a new version."))
        await page.get_by_role("button", name=vi("Unpublish")).click()
        await expect(page.locator("h1 .status")).to_have_text(vi("Not published"))
        await page.screenshot(path=tmp_path / "content-item.png", full_page=True)
        # nothing wider than the phone
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert ND06 not in load_library().items
    assert await audited(panel) == ["content_edit", "content_restore", "content_unpublish"]
