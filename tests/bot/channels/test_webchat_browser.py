"""The web chat in a real browser (headless Chromium at phone size), used like a resident does:
tapping buttons, typing, reloading; the page must show text as text and stay on our server."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Dialog, Locator, Page, Request, expect

from bot.channels.webchat._channel import COOKIE, chat_id_for
from bot.core.types import Reply
from tests.browser import PHONE, browser_page
from tests.harness import Stack, running_stack

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HTML = "<img src=x onerror=alert(1)>"


@dataclass
class Chat:
    """The product, and one resident's page on it, with what the page did."""

    stack: Stack
    page: Page
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.stack.runtime.url + "/chat"

    def messages(self) -> Locator:
        return self.page.locator("#log > .msg")

    async def act(self, action: str, *expected: str) -> Locator:
        """Tap "[label]" (in the newest message offering it) or type text and press Enter;
        then wait until the bot's new messages contain every expected fragment."""
        before = await self.messages().count()
        if action.startswith("[") and action.endswith("]"):
            await self.page.get_by_role("button", name=action[1:-1], exact=True).last.click()
        else:
            box = self.page.get_by_role("textbox", name="Tin nhắn")
            await box.fill(action)
            await box.press("Enter")
        replies = self.page.locator(f"#log > .msg.bot:nth-child(n+{before + 1})")
        for fragment in expected:
            await expect(replies.filter(has_text=fragment).first).to_be_visible()
        return replies

    def assert_stayed_local(self) -> None:
        assert self.requests, "the page made no requests at all?"
        outside = [url for url in self.requests if not url.startswith(self.stack.runtime.url + "/")]
        assert not outside, f"requests left the server (CDN, fonts, trackers?): {outside}"
        assert not self.dialogs, f"the page opened dialogs: {self.dialogs}"
        assert not self.errors, f"JavaScript errors: {self.errors}"


@pytest.fixture
async def chat(database_url: str) -> AsyncIterator[Chat]:
    async with running_stack(database_url) as stack, browser_page(PHONE) as page:
        chat = Chat(stack, page)

        async def on_dialog(dialog: Dialog) -> None:
            chat.dialogs.append(f"{dialog.type}: {dialog.message}")
            await dialog.dismiss()

        def on_request(request: Request) -> None:
            chat.requests.append(request.url)

        page.on("request", on_request)
        page.on("dialog", on_dialog)
        page.on("pageerror", lambda error: chat.errors.append(str(error)))
        yield chat
        await release_long_polls(chat)


async def release_long_polls(chat: Chat) -> None:
    """The server keeps a long poll (up to 20 s) running after the browser hangs up, and
    `Runtime.stop` waits for it: leave the page, then post a last message so it returns."""
    await chat.page.goto("about:blank")
    tokens = [c["value"] for c in await chat.page.context.cookies() if c["name"] == COOKIE]
    for token in tokens:
        await chat.stack.runtime.channels["web"].send(chat_id_for(token), Reply("(test over)"))


async def open_and_choose_vietnamese(chat: Chat) -> None:
    await chat.page.goto(chat.url)
    # First visit: the page says /start by itself; the bot greets and offers the languages.
    greeting = chat.page.locator("#log > .msg.bot").first
    await expect(greeting).to_contain_text("Xin chào")
    await expect(greeting).to_contain_text("Chọn ngôn ngữ")
    await expect(greeting.get_by_role("button", name="🇻🇳 Tiếng Việt")).to_be_visible()
    await chat.act("[🇻🇳 Tiếng Việt]", "Bạn đang sống ở xã/phường nào?")


async def test_onboarding_and_hotlines_by_tapping_and_typing(chat: Chat, tmp_path: Path) -> None:
    await open_and_choose_vietnamese(chat)
    await chat.act("phuong quy nhon nam", "Có phải bạn ở Phường Quy Nhơn Nam?")
    await chat.act("[✅ Đúng]", "Xã/phường của bạn: Phường Quy Nhơn Nam", "Menu chính")
    await chat.act("[☎️ Đường dây nóng]", "113", "Công an tỉnh: 069 3822 113")
    # The log follows the conversation: the newest message's buttons are on screen to tap.
    home = chat.page.get_by_role("button", name="🏠 Menu chính").last
    await expect(home).to_be_in_viewport(ratio=1)
    # What the resident typed is echoed on their side.
    typed = chat.page.locator("#log > .msg.me", has_text="phuong quy nhon nam")
    await expect(typed).to_have_count(1)

    shot = tmp_path / "webchat.png"
    await chat.page.screenshot(path=shot)
    data = shot.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000
    shutil.copyfile(shot, "/tmp/webchat.png")  # to look at by hand
    chat.assert_stayed_local()


async def test_html_typed_by_a_resident_is_shown_as_text(chat: Chat) -> None:
    await open_and_choose_vietnamese(chat)
    await chat.act(HTML, "chưa tìm thấy xã/phường")
    mine = chat.page.locator("#log > .msg.me").last
    assert await mine.text_content() == HTML
    await expect(chat.page.locator("#log img")).to_have_count(0)
    assert not chat.dialogs
    chat.assert_stayed_local()


async def test_reload_keeps_the_conversation(chat: Chat) -> None:
    await open_and_choose_vietnamese(chat)
    await chat.act("phuong quy nhon nam", "Có phải bạn ở Phường Quy Nhơn Nam?")
    bot = chat.page.locator("#log > .msg.bot")
    shown = await bot.count()

    await chat.page.reload()
    # Same cookie: every bot message comes back, and the page does not start over.
    await expect(bot).to_have_count(shown)
    await expect(bot.first).to_contain_text("Chọn ngôn ngữ")
    await expect(bot.last).to_contain_text("Có phải bạn ở Phường Quy Nhơn Nam?")
    await chat.act("[✅ Đúng]", "Menu chính")
    await chat.act("[☎️ Đường dây nóng]", "113")
    await expect(bot.filter(has_text="Chọn ngôn ngữ")).to_have_count(1)
    chat.assert_stayed_local()
