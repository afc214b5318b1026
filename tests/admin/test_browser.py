"""End to end, in a real headless Chromium: a resident files a tip on each channel through the
fake platforms, it lands only in the right commune's queue, an officer logs in and asks a
question on a phone-sized page, the resident gets it through the bot and answers, and the
officer sees the answer."""

from __future__ import annotations

import re

import aiohttp
import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from bot.models import Tip
from tests.admin.panel import PASSWORD, QN, QN_DONG, PanelClient, add_staff, receive
from tests.browser import DESKTOP, PHONE, browser_page
from tests.handlers.test_tip_intake import TIP_FLOW
from tests.harness import (
    Resident,
    Stack,
    TelegramResident,
    WebResident,
    WebStepper,
    ZaloBotResident,
    ZaloOAResident,
    run_dialogue,
    running_stack,
)

CODE = re.compile(r"TG-[0-9A-Z]{6}")
ANSWER = "Xe máy Wave màu đỏ, thường đến lúc 21 giờ."


async def _login(page: Page, base: str, username: str) -> None:
    await page.goto(base + "/admin/login")
    await page.get_by_label("Tên đăng nhập").fill(username)
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Xin chào")


async def _file(stack: Stack, channel: str, http: aiohttp.ClientSession) -> tuple[Resident, str]:
    resident: Resident
    if channel == "telegram":
        resident = TelegramResident(stack, 777001)
    elif channel == "zalo_bot":
        resident = ZaloBotResident(stack, "0a1b2c3d4e5f60718293")
    elif channel == "zalo_oa":
        resident = ZaloOAResident(stack, "6142494823000000001")
    else:
        visitor = WebResident(http, stack.runtime.url)
        await visitor.open()
        resident = WebStepper(visitor, stack.runtime)
    await run_dialogue(resident, TIP_FLOW[:-1])
    confirmation = await resident.step(TIP_FLOW[-1][0])
    found = CODE.search(confirmation)
    assert found, confirmation
    return resident, found.group(0)


@pytest.mark.parametrize("channel", ["telegram", "zalo_bot", "zalo_oa", "web"])
async def test_a_tip_is_worked_in_the_browser_and_the_tipster_answers(
    database_url: str, channel: str
) -> None:
    async with (
        running_stack(database_url, known_chats=[777001], zalo=True) as stack,
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,
    ):
        db = stack.runtime.db
        await add_staff(db, "canbo_dong", "officer", [QN_DONG])
        await add_staff(db, "canbo_qn", "officer", [QN])
        await add_staff(db, "tuyentruyen", "propaganda")
        resident, code = await _file(stack, channel, http)
        async with db.session() as session:
            tip = (await session.execute(select(Tip).where(Tip.code == code))).scalar_one()
        assert tip.commune_code == QN_DONG

        # not in another commune's queue; 403 for that officer and for propaganda staff
        for username, queue_status in (("canbo_qn", 200), ("tuyentruyen", 403)):
            other = PanelClient.open(stack.runtime.url)
            assert await other.login(username) == 303
            status, html = await other.get("/admin/tips")
            assert status == queue_status and code not in html
            assert (await other.get(f"/admin/tips/{code}"))[0] == 403
            await other.close()

        async with browser_page(viewport=PHONE) as page:
            await _login(page, stack.runtime.url, "canbo_dong")
            await page.get_by_role("link", name="Hàng đợi tin báo").click()
            await page.get_by_role("link", name=code).click()
            await expect(page.locator("h1")).to_contain_text(code)
            await expect(page.locator(".tiptext")).to_contain_text("mua bán ma túy")
            await page.get_by_label("Hỏi người báo tin").fill("Xe máy màu gì, mấy giờ?")
            await page.get_by_role("button", name="Gửi câu hỏi").click()
            await expect(page.locator(".thread .officer")).to_contain_text("Xe máy màu gì")
            await stack.runtime.outbox.flush()

            question = await receive(resident, stack)
            assert "Cán bộ có câu hỏi về tin báo" in question
            assert "Xe máy màu gì, mấy giờ?" in question
            reply = await resident.step("trả lời" if channel == "zalo_bot" else "[✍️ Trả lời]")
            assert "Nhập câu trả lời" in reply
            assert "đã được chuyển đến cán bộ" in await resident.step(ANSWER)

            await page.reload()
            await expect(page.locator(".thread .tipster")).to_contain_text(ANSWER)
            # the tipster's words are flagged nowhere as an identity; the page never names them
            html = await page.content()
            for identifier in ("777001", "0a1b2c3d4e5f60718293", "6142494823000000001"):
                assert identifier not in html


async def test_the_panel_at_desktop_size_and_closing_a_tip(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        await add_staff(stack.runtime.db, "admin", "admin")
        from tests.admin.panel import file_tip

        tip = await file_tip(stack.runtime.db, stack.settings)
        async with browser_page(viewport=DESKTOP) as page:
            await _login(page, stack.runtime.url, "admin")
            await page.goto(stack.runtime.url + "/admin/tips?q=ma+tuy")
            await page.get_by_role("link", name=tip.code).click()
            form = page.locator("form[action$='/status']")
            await form.locator("select").select_option("resolved")
            await form.get_by_role("button", name="Đổi trạng thái").click()
            await expect(page.get_by_role("alert")).to_contain_text("cần ghi kết quả")
            form = page.locator("form[action$='/status']")
            await form.locator("select").select_option("resolved")
            await form.locator("textarea").fill("Đã xác minh, xử phạt hành chính.")
            await form.get_by_role("button", name="Đổi trạng thái").click()
            await expect(page.locator("h1 .status")).to_have_text("Đã xử lý")
            await expect(page.locator(".history")).to_contain_text("resolved")
