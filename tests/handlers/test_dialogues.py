"""A resident goes through every menu: on Telegram with buttons, on Telegram with numbered
choices (the rendering Zalo's bot API needs), and in the web chat. Same table each time."""

from __future__ import annotations

import aiohttp
import pytest

from content.library import load_library
from tests.harness import (
    Dialogue,
    TelegramResident,
    WebResident,
    WebStepper,
    run_dialogue,
    running_stack,
)

LIB = load_library()
FRAUD = LIB.topic("fraud").title.vi
FRAUD_ITEMS = [item.title.vi for item in LIB.items_by_topic("fraud")]
LAW = LIB.topic("law").title.vi
ND06 = LIB.item("nd-06-2014")

ONBOARDING: Dialogue = [
    ("/start", ["Xin chào", "Chọn ngôn ngữ"]),
    ("[🇻🇳 Tiếng Việt]", "Bạn đang sống ở xã/phường nào?"),
    ("xin chào", "chưa tìm thấy xã/phường"),
    ("toi o thon 3 phuong quy nhon nam", "Có phải bạn ở Phường Quy Nhơn Nam?"),
    ("[✏️ Không, nhập lại]", "Bạn đang sống ở xã/phường nào?"),
    ("phuong quy nhon nam", "Có phải bạn ở Phường Quy Nhơn Nam?"),
    ("[✅ Đúng]", ["Xã/phường của bạn: Phường Quy Nhơn Nam", "Menu chính"]),
]

EVERY_MENU: Dialogue = [
    ("[📚 Tuyên truyền pháp luật]", ["chọn chủ đề", LAW, FRAUD]),
    (f"[{FRAUD}]", [f"{FRAUD} (trang 1/2)", FRAUD_ITEMS[0]]),
    ("[Trang sau ▶️]", [f"{FRAUD} (trang 2/2)", FRAUD_ITEMS[5]]),
    (f"[{FRAUD_ITEMS[5]}]", FRAUD_ITEMS[5].upper()),
    ("[⬅️ Về danh sách]", f"{FRAUD} (trang 2/2)"),
    ("[◀️ Trang trước]", f"{FRAUD} (trang 1/2)"),
    ("[⬅️ Các chủ đề]", "chọn chủ đề"),
    (f"[{LAW}]", ND06.title.vi),
    (f"[{ND06.title.vi}]", [ND06.title.vi.upper(), "Nguồn:"]),
    ("[🏠 Menu chính]", "Menu chính"),
    (
        "[☎️ Đường dây nóng]",
        ["113", "114", "115", "111", "Công an tỉnh: 069 3822 113", "chưa có trong danh sách"],
    ),
    ("[🏠 Menu chính]", "Menu chính"),
    (
        "[🇻🇳 Ngày hội 19/8]",
        ["19/8", "Năm nay: từ 01/07/2026 đến 19/08/2026", "Chưa có lịch sự kiện"],
    ),
    ("[🏠 Menu chính]", "Menu chính"),
    ("[🚨 Tố giác tội phạm]", ["Tố giác tội phạm ẩn danh", "gọi ngay 113"]),
    ("[Huỷ]", "Đã huỷ"),
    ("[💬 Góp ý]", "Hãy viết góp ý"),
    ("ok", "ít nhất vài từ"),
    ("Đèn đường ở thôn 3 bị hỏng đã lâu, đề nghị sửa giúp", "Cảm ơn bạn! Góp ý đã được gửi"),
    ("[💬 Góp ý]", "Hãy viết góp ý"),
    ("[Huỷ]", "Đã huỷ"),
    ("[⚙️ Cài đặt]", ["Xã/phường: Phường Quy Nhơn Nam", "Nhận tin tức, thông báo: bật"]),
    ("[📍 Đổi xã/phường]", "Bạn đang sống ở xã/phường nào?"),
    ("phường Lê Lợi, TP Quy Nhơn, Bình Định", "Có phải bạn ở Phường Quy Nhơn?"),
    ("[✅ Đúng]", ["Đã lưu: Phường Quy Nhơn.", "Xã/phường: Phường Quy Nhơn"]),
    ("[🔕 Ngừng nhận tin]", ["không nhận tin tức", "Nhận tin tức, thông báo: tắt"]),
    ("[🔔 Nhận tin]", ["nhận lại tin tức", "Nhận tin tức, thông báo: bật"]),
    ("[🌐 Ngôn ngữ]", "Chọn ngôn ngữ"),
    ("[🇬🇧 English]", ["Language saved.", "Settings", "News and campaign messages: on"]),
    ("[🏠 Main menu]", "Main menu"),
    ("[☎️ Hotlines]", ["113", "Provincial police"]),
    ("/help", ["Ask in your own words", "113"]),
    ("what is this?", "I do not have an answer to that yet"),
    ("hotline", "Hotlines"),
    ("/stop", "no longer receive news"),
    ("/start", "Welcome back"),
    ("/nonsense", "/menu shows the main menu"),
]


@pytest.mark.parametrize("numbered", [False, True], ids=["buttons", "numbered"])
async def test_every_menu_on_telegram(database_url: str, numbered: bool) -> None:
    async with running_stack(database_url) as stack:
        if numbered:
            stack.without_buttons("telegram")
        resident = TelegramResident(stack, chat_id=9001, numbered=numbered)
        await run_dialogue(resident, [*ONBOARDING, *EVERY_MENU])


async def test_every_menu_in_the_web_chat(database_url: str) -> None:
    async with (
        running_stack(database_url) as stack,
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session,
    ):
        visitor = WebResident(session, stack.runtime.url)
        await visitor.open()
        await run_dialogue(WebStepper(visitor, stack.runtime), [*ONBOARDING, *EVERY_MENU])


async def test_english_from_the_start_and_skipping_the_commune(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        resident = TelegramResident(stack, chat_id=9002)
        await run_dialogue(
            resident,
            [
                ("hello", "Choose your language"),  # any first message starts onboarding
                ("what?", "Choose your language"),  # ...and stays there until answered
                ("english", "Which commune or ward do you live in?"),  # a label, typed
                ("[Skip]", ["set your commune later", "Main menu"]),
                ("[☎️ Hotlines]", ["Set your commune to see its police number"]),
                ("[📍 Set my commune]", "Which commune"),
                ("an nhon", "Do you live in Phường An Nhơn?"),
                ("[✏️ No, type again]", "Which commune"),
                # an old district: several of today's communes are close, the resident chooses
                ("huyện Tuy Phước", ["Which one is yours?", "[Xã Tuy Phước Bắc]"]),
                ("[Xã Tuy Phước Bắc]", ["Saved: Xã Tuy Phước Bắc.", "Settings"]),
            ],
        )


async def test_commune_police_number_from_configuration(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot.directory import load_commune_phones

    phones = tmp_path / "phones.csv"
    phones.write_text("commune_code,phone\n21583,0256 3822 000\n", encoding="utf-8")
    load_commune_phones.cache_clear()
    async with running_stack(database_url, commune_phones_file=phones) as stack:
        resident = TelegramResident(stack, chat_id=9003)
        await run_dialogue(
            resident,
            [
                ("/start", "Chọn ngôn ngữ"),
                ("[🇻🇳 Tiếng Việt]", "xã/phường nào"),
                ("phường Quy Nhơn", "Có phải bạn ở Phường Quy Nhơn?"),
                ("[✅ Đúng]", "Menu chính"),
                ("[☎️ Đường dây nóng]", ["👮 Công an Phường Quy Nhơn: 0256 3822 000"]),
            ],
        )


async def test_strange_unicode_is_understood(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        resident = TelegramResident(stack, chat_id=9004)
        await run_dialogue(
            resident,
            [
                ("\u200b/start\u200f", "Chọn ngôn ngữ"),
                ("[🇻🇳 Tiếng Việt]", "xã/phường nào"),
                # NFD, zero-width joiner, RTL mark and emoji around the commune name
                ("🏠 pho\u031bo\u0300ng Quy Nho\u031bn \u200dNam\u200f 🙏", "Phường Quy Nhơn Nam"),
                ("[✅ Đúng]", "Menu chính"),
                ("\u202e2\u202c", "Đường dây nóng"),  # typed "2" wrapped in bidi controls
            ],
        )
