"""Residents who type instead of pressing: every step of onboarding and of a tip answered in
words (partial labels, no diacritics, yes/no words, typos), a number the list does not have,
a location at the tip's place step, a tip left for the menu and taken up again. The same
tables on Telegram with buttons, on Telegram with numbered choices, on the Zalo Bot (no
buttons at all) and in the web chat; no step may answer "that is not one of the choices"
or "no answer" unless the table says so."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import aiohttp
import pytest

from content import unanswered
from content.library import load_library
from handlers import tip_intake
from tests.harness import (
    Dialogue,
    Resident,
    TelegramResident,
    WebResident,
    WebStepper,
    ZaloBotResident,
    ZaloOAResident,
    running_stack,
)

#: What the bot says when it did not understand: never on a typed answer that fits a step.
NOT_UNDERSTOOD = (
    "không phải một trong các lựa chọn",
    "chưa có câu trả lời",
    "chưa hiểu",
    "Đã huỷ",
)

ONBOARDING_TYPED: Dialogue = [
    ("/start", "Chọn ngôn ngữ"),
    ("tieng viet", "Bạn đang sống ở xã/phường nào?"),
    ("phuong quy nhon nam", "Có phải bạn ở Phường Quy Nhơn Nam?"),
    ("ừ", ["Xã/phường của bạn: Phường Quy Nhơn Nam", "Menu chính"]),
]

#: A tip by typing at every step; `{place}` is how the place is given on the channel.
TIP_TYPED: Dialogue = [
    ("to giac", ["Tố giác tội phạm ẩn danh", "gọi ngay 113"]),
    ("tiep tuc", "Vụ việc thuộc loại nào?"),
    ("lua dao", "đang xảy ra"),  # a part of "Lừa đảo qua mạng, điện thoại"
    ("ko", "xã/phường nào"),
    ("9", "không phải một trong các lựa chọn"),  # a number the list does not have
    ("phuong quy nhon dong", ["Nơi xảy ra: Phường Quy Nhơn Đông", "Cụ thể ở đâu"]),
    ("gan cho Dam, hem 12", "khi nào"),
    ("hom nay", "Chuyện gì đã xảy ra"),
    (
        "Có người gọi điện giả danh công an, bắt chuyển tiền vào tài khoản lạ để xác minh.",
        "Bạn có ảnh không?",
    ),
    ("khong co", "Vui lòng kiểm tra tin báo"),
    ("sao nữa", "không phải một trong các lựa chọn"),  # the draft is kept
    ("gui", ["Mã tin báo", "PIN"]),
]

#: A tip left for the menu half-way, and taken up again where it was.
TIP_LEFT_AND_RESUMED: Dialogue = [
    ("tố giác", "Tố giác tội phạm ẩn danh"),
    ("1", "Vụ việc thuộc loại nào?"),
    ("ma tuy", "đang xảy ra"),
    ("co", ["113", "xã/phường nào"]),
    ("/menu", "Menu chính"),
    ("Tố giác", ["tin báo đang viết dở", "Ma túy"]),
    ("viet tiep", "xã/phường nào"),
    ("khong biet", "Cụ thể ở đâu"),
    ("bỏ qua", "khi nào"),
    ("vua xong", "Chuyện gì đã xảy ra"),
    ("Hai người bán ma túy ở quán nước đầu hẻm, đi xe máy màu đỏ.", "Bạn có ảnh không?"),
    ("bo qua", ["Vui lòng kiểm tra tin báo", "Ma túy"]),
    ("ok", ["Mã tin báo", "PIN"]),
]


async def run_typed(resident: Resident, dialogue: Dialogue) -> None:
    """Play the table: each answer holds every expected fragment, and no "did not
    understand" that the table does not expect."""
    for number, (utterance, expected) in enumerate(dialogue, start=1):
        answer = await resident.step(utterance)
        fragments: Sequence[str] = [expected] if isinstance(expected, str) else expected
        for fragment in fragments:
            assert fragment in answer, (
                f"step {number}: {utterance!r} expected {fragment!r}:\n{answer}"
            )
        for refusal in NOT_UNDERSTOOD:
            if not any(refusal in fragment for fragment in fragments):
                assert refusal not in answer, f"step {number}: {utterance!r} refused:\n{answer}"


@pytest.mark.parametrize("numbered", [False, True], ids=["buttons", "numbered"])
async def test_typing_every_step_on_telegram(database_url: str, numbered: bool) -> None:
    async with running_stack(database_url) as stack:
        if numbered:
            stack.without_buttons("telegram")
        resident = TelegramResident(stack, chat_id=9101, numbered=numbered)
        await run_typed(resident, [*ONBOARDING_TYPED, *TIP_TYPED, *TIP_LEFT_AND_RESUMED])


@pytest.mark.parametrize("channel", ["zalo_bot", "zalo_oa"])
async def test_typing_every_step_on_zalo(database_url: str, channel: str) -> None:
    async with running_stack(database_url, zalo=True) as stack:
        resident: Resident = (
            ZaloBotResident(stack, "7aa1b2c3d4e5f6a7b8c9")
            if channel == "zalo_bot"
            else ZaloOAResident(stack, "6142494823000000778")
        )
        await run_typed(resident, [*ONBOARDING_TYPED, *TIP_TYPED, *TIP_LEFT_AND_RESUMED])


async def test_typing_every_step_in_the_web_chat(database_url: str) -> None:
    async with (
        running_stack(database_url) as stack,
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session,
    ):
        visitor = WebResident(session, stack.runtime.url)
        await visitor.open()
        await run_typed(
            WebStepper(visitor, stack.runtime),
            [*ONBOARDING_TYPED, *TIP_TYPED, *TIP_LEFT_AND_RESUMED],
        )


@pytest.mark.parametrize("channel", ["telegram", "zalo_oa"])
async def test_a_location_at_the_place_step_is_the_tips_place(
    database_url: str, channel: str
) -> None:
    """Not the resident's home commune: that stays as it was."""
    async with running_stack(database_url, zalo=channel == "zalo_oa") as stack:
        resident: Resident = (
            TelegramResident(stack, chat_id=9102)
            if channel == "telegram"
            else ZaloOAResident(stack, "6142494823000000779")
        )
        await run_typed(resident, ONBOARDING_TYPED)
        await run_typed(
            resident,
            [
                ("bao tin", "ẩn danh"),
                ("ok", "loại nào"),
                ("trom cap", "đang xảy ra"),
                ("không", "gửi vị trí"),
                ("📍13.7765,109.2237", ["Đã nhận vị trí: gần", "Cụ thể ở đâu"]),
                ("trước cổng trường", "khi nào"),
                ("hôm qua lúc 9 giờ tối", "Chuyện gì đã xảy ra"),
                ("Một thanh niên giật túi xách của người đi bộ rồi chạy về hướng biển.", "ảnh"),
                ("skip", ["Vị trí đã gửi: 13.77650, 109.22370 — trước cổng trường", "hôm qua"]),
                ("/menu", "Menu chính"),
                ("cai dat", "Xã/phường: Phường Quy Nhơn Nam"),
            ],
        )


SCAMMED = load_library().item("khi-bi-lua-dao").title.vi

#: Every menu, typed: the library, hotlines, 19/8, feedback and settings.
EVERY_MENU_TYPED: Dialogue = [
    ("tuyen truyen", ["chọn chủ đề", "Lừa đảo qua mạng"]),
    ("lua dao qua mang", "Lừa đảo qua mạng (trang 1/2)"),
    ("trang sau", "Lừa đảo qua mạng (trang 2/2)"),
    ("trang truoc", "Lừa đảo qua mạng (trang 1/2)"),
    ("gia danh ngan hang", "GIẢ DANH NGÂN HÀNG, ĐIỆN LỰC, NHÀ MẠNG, BẢO HIỂM"),
    ("ve danh sach", "Lừa đảo qua mạng (trang 1/2)"),
    ("cac chu de", "chọn chủ đề"),
    ("menu chinh", "Menu chính"),
    ("duong day nong", ["113", "Công an tỉnh"]),
    ("menu", "Menu chính"),
    ("ngay hoi", "19/8"),
    ("gop y", "Hãy viết góp ý"),
    ("Đèn đường ở thôn 3 bị hỏng đã lâu, đề nghị sửa giúp", "Cảm ơn bạn! Góp ý đã được gửi"),
    ("cai dat", ["Xã/phường: Phường Quy Nhơn Nam", "Nhận tin tức, thông báo: bật"]),
    ("doi xa", "Bạn đang sống ở xã/phường nào?"),
    ("phường Lê Lợi, TP Quy Nhơn", "Có phải bạn ở Phường Quy Nhơn?"),
    ("dung roi", ["Đã lưu: Phường Quy Nhơn.", "Xã/phường: Phường Quy Nhơn"]),
    ("ngung nhan tin", "Nhận tin tức, thông báo: tắt"),
    ("nhan tin", "Nhận tin tức, thông báo: bật"),
    ("ngon ngu", "Chọn ngôn ngữ"),
    ("english", ["Language saved.", "News and campaign messages: on"]),
    ("main menu", "Main menu"),
    ("hotlines", ["113", "Provincial police"]),
]

#: Free text outside any flow: a question, small talk, a number, something out of scope.
QUESTIONS: Dialogue = [
    ("xin chào", "Xin chào! Mình là trợ lý"),
    ("cảm ơn", "Không có gì"),
    ("👍", "Mình đây!"),
    ("113", "Công an tỉnh"),
    ("0905 123 456", "Công an tỉnh"),
    ("so dien thoai cong an", "Công an tỉnh"),
    ("what number do I call for the police", "Công an tỉnh"),
    ("giá vàng hôm nay bao nhiêu", ["chưa có câu trả lời", "113", "Tố giác tội phạm"]),
    ("theo dõi tin báo", "gõ mã"),
    ("/menu", "Menu chính"),
    ("bị lừa đảo qua mạng thì làm sao", SCAMMED.upper()),
]


@pytest.mark.parametrize("channel", ["telegram", "zalo_bot"])
async def test_questions_typed_outside_any_flow(database_url: str, channel: str) -> None:
    async with running_stack(database_url, zalo=channel == "zalo_bot") as stack:
        resident: Resident = (
            TelegramResident(stack, chat_id=9103)
            if channel == "telegram"
            else ZaloBotResident(stack, "8bb1b2c3d4e5f6a7b8c9")
        )
        await run_typed(resident, [*ONBOARDING_TYPED, *QUESTIONS])
        async with stack.runtime.db.session() as session:
            kept, _ = await unanswered.groups(session)
        assert [group.text for group in kept] == ["giá vàng hôm nay bao nhiêu"]


@pytest.mark.parametrize("channel", ["telegram", "numbered", "zalo_bot", "zalo_oa", "web"])
async def test_every_menu_typed(database_url: str, channel: str) -> None:
    async with (
        running_stack(database_url, zalo=channel.startswith("zalo")) as stack,
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session,
    ):
        resident: Resident
        if channel == "web":
            visitor = WebResident(session, stack.runtime.url)
            await visitor.open()
            resident = WebStepper(visitor, stack.runtime)
        elif channel == "zalo_bot":
            resident = ZaloBotResident(stack, "9cc1b2c3d4e5f6a7b8c9")
        elif channel == "zalo_oa":
            resident = ZaloOAResident(stack, "6142494823000000777")
        else:
            if channel == "numbered":
                stack.without_buttons("telegram")
            resident = TelegramResident(stack, chat_id=9104, numbered=channel == "numbered")
        await run_typed(resident, [*ONBOARDING_TYPED, *EVERY_MENU_TYPED])


async def test_a_tip_left_for_more_than_a_day_is_gone(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept a day (as its photos): after that the resident is told, and starts again."""
    async with running_stack(database_url) as stack:
        resident = TelegramResident(stack, chat_id=9105)
        started = [
            ("to giac", "ẩn danh"),
            ("tiep tuc", "loại nào"),
            ("ma tuy", "đang xảy ra"),
            ("ko", "xã/phường nào"),
            ("khong biet", "Cụ thể ở đâu"),
        ]
        await run_typed(resident, [*ONBOARDING_TYPED, *started])
        later = date.today() + timedelta(days=2)
        monkeypatch.setattr(tip_intake, "_today", lambda ctx: later)
        # typed at the step it was left at
        await run_typed(resident, [("gần chợ", ["giữ một ngày", "Tố giác tội phạm ẩn danh"])])
        # or coming back to it from the menu: no offer to go on with it
        await run_typed(resident, [*started, ("/menu", "Menu chính")])
        monkeypatch.setattr(tip_intake, "_today", lambda ctx: later + timedelta(days=2))
        answer = await resident.step("to giac")
        assert "Tố giác tội phạm ẩn danh" in answer and "viết dở" not in answer
