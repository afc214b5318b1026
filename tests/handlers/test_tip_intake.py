"""Filing an anonymous tip on every channel, then proving nothing ties it to its sender:
not in any table, not in any log line."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy import select, text
from sqlmodel import SQLModel

from bot.logging_setup import quiet_libraries
from bot.models import Tip, TipRelay
from bot.tips.relay import RelayCipher
from tests.handlers.test_tip_photos import DONE, gps_jpeg, photo, send, vi
from tests.harness import (
    RELAY_KEY,
    Dialogue,
    Stack,
    TelegramResident,
    WebResident,
    WebStepper,
    ZaloBotResident,
    ZaloOAResident,
    run_dialogue,
    running_stack,
)
from tests.harness import (
    Resident as Chatting,
)

ASK_PHOTOS = vi("Do you have photos? Send up to {max} photos, or {press}.")
DESCRIPTION = "Có nhóm người mua bán ma túy tối nay, đi xe máy biển 77A-123.45 ở hẻm sau chợ."
TIP_FLOW: Dialogue = [
    ("/start", "Chọn ngôn ngữ"),
    ("[🇻🇳 Tiếng Việt]", "xã/phường nào"),
    ("[Bỏ qua]", "Menu chính"),
    ("[🚨 Tố giác tội phạm]", ["Tố giác tội phạm ẩn danh", "gọi ngay 113"]),
    ("[Tiếp tục]", "Vụ việc thuộc loại nào?"),
    ("[Ma túy]", "đang xảy ra"),
    ("[Không]", "xã/phường nào"),
    ("qui nhon", ["Nơi nào dưới đây?", "Phường Quy Nhơn Nam", "Phường Quy Nhơn Bắc"]),
    ("phuong quy nhon dong", ["Nơi xảy ra: Phường Quy Nhơn Đông", "Cụ thể ở đâu"]),
    ("gần chợ, tổ 5", "khi nào"),
    ("[Hôm nay]", "Chuyện gì đã xảy ra"),
    ("ngắn", "vài câu"),
    (DESCRIPTION, ASK_PHOTOS),
    ("[Bỏ qua]", ["Vui lòng kiểm tra tin báo", "Ma túy", "Phường Quy Nhơn Đông — gần chợ, tổ 5"]),
    ("[✅ Gửi tin báo]", ["Mã tin báo: TG-", "Mã PIN:", "Menu chính"]),
]


async def _all_rows(stack: Stack) -> dict[str, list[str]]:
    """Every row of every table, as text."""
    out: dict[str, list[str]] = {}
    async with stack.runtime.db.session() as session:
        for table in SQLModel.metadata.sorted_tables:
            result = await session.execute(select(table))
            out[table.name] = [repr(tuple(row)) for row in result.all()]
    return out


async def _file_tip(stack: Stack, channel: str) -> tuple[str, str]:
    """Play the flow on `channel`; returns (chat id, confirmation text)."""
    if channel == "telegram":  # with a photo on the way
        resident = TelegramResident(stack, 5555)
        await run_dialogue(resident, TIP_FLOW[:-2])
        await send(resident, photo(gps_jpeg()))
        await run_dialogue(resident, [(DONE, TIP_FLOW[-2][1]), TIP_FLOW[-1]])
        return "5555", resident.last[0]["text"]
    if channel == "zalo_bot":
        zalo_bot = ZaloBotResident(stack, "0a1b2c3d4e5f60718293")
        await run_dialogue(zalo_bot, TIP_FLOW)
        return zalo_bot.chat_id, zalo_bot.last[0]
    if channel == "zalo_oa":
        oa = ZaloOAResident(stack, "6142494823000000001")
        await run_dialogue(oa, TIP_FLOW)
        return oa.user_id, oa.last[0]["text"]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        visitor = WebResident(http, stack.runtime.url)
        await visitor.open()
        await run_dialogue(WebStepper(visitor, stack.runtime), TIP_FLOW)
        async with stack.runtime.db.session() as session:
            chat = (await session.execute(text("SELECT chat_id FROM resident"))).scalar_one()
        return str(chat), visitor.last[0]["text"]


@pytest.mark.parametrize("channel", ["telegram", "zalo_bot", "zalo_oa", "web"])
async def test_a_tip_leaves_no_trace_of_its_sender(
    database_url: str, channel: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    quiet_libraries()  # as `antq run` does, whatever LOG_LEVEL says
    async with running_stack(database_url, zalo=True) as stack:
        chat_id, confirmation = await _file_tip(stack, channel)
        code = confirmation.split("Mã tin báo: ")[1].split()[0]
        pin = confirmation.split("Mã PIN: ")[1].split()[0]
        async with stack.runtime.db.session() as session:
            tip = (await session.execute(select(Tip))).scalar_one()
            relay = (await session.execute(select(TipRelay))).scalar_one()
        # the tip is whole, in the right commune's queue, urgent or not as answered
        assert (tip.code, tip.category, tip.commune_code, tip.urgent) == (
            code,
            "drugs",
            21601,
            False,
        )
        assert tip.description == DESCRIPTION and tip.place_detail == "gần chợ, tổ 5"
        assert tip.first_response_due is not None
        # the way back opens only with the key
        assert RelayCipher(RELAY_KEY).open(relay.sealed)[1] == chat_id
        rows = await _all_rows(stack)
        secrets = (code, pin, DESCRIPTION, "gần chợ, tổ 5")
        for table, table_rows in rows.items():
            for row in table_rows:
                if table == "tip":
                    assert chat_id not in row
                    continue
                # nothing about the tip anywhere else; the chat id only where it belongs
                assert not any(s in row for s in secrets), (table, row)
        # and not one log line carries the tip, its code, its PIN or names the sender with it
        for record in caplog.records:
            line = record.getMessage()
            assert not any(s in line for s in secrets), line
            assert chat_id not in line, line


async def test_without_a_relay_key_the_bot_guides_to_the_phone(database_url: str) -> None:
    async with running_stack(database_url, tip_relay_keys="") as stack:
        await run_dialogue(
            TelegramResident(stack, 5556),
            [
                ("/start", "Chọn ngôn ngữ"),
                ("[🇻🇳 Tiếng Việt]", "xã/phường nào"),
                ("[Bỏ qua]", "Menu chính"),
                ("[🚨 Tố giác tội phạm]", ["gọi ngay 113", "Công an tỉnh"]),
            ],
        )


async def test_urgent_tips_show_113_at_once(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        await run_dialogue(
            TelegramResident(stack, 5557),
            [
                ("/start", "Chọn ngôn ngữ"),
                ("[🇻🇳 Tiếng Việt]", "xã/phường nào"),
                ("[Bỏ qua]", "Menu chính"),
                ("[🚨 Tố giác tội phạm]", "ẩn danh"),
                ("[Tiếp tục]", "loại nào"),
                ("[Bạo lực, xâm hại]", "đang xảy ra"),
                ("[🚨 Có, đang xảy ra]", ["gọi ngay 113", "📞 113", "xã/phường nào"]),
            ],
        )


async def _file_on_telegram(stack: Stack, chat_id: int) -> tuple[str, str]:
    """A tip filed from a Telegram chat: the code and PIN its confirmation gave."""
    author = TelegramResident(stack, chat_id)
    await run_dialogue(author, TIP_FLOW)
    confirmation = author.last[0]["text"]
    code = confirmation.split("Mã tin báo: ")[1].split()[0]
    pin = confirmation.split("Mã PIN: ")[1].split()[0]
    return code, pin


async def test_follow_up_from_another_account_with_code_and_pin(database_url: str) -> None:
    from bot.models import TipMessage

    async with running_stack(database_url) as stack:
        code, pin = await _file_on_telegram(stack, 6001)
        wrong = "000000" if pin != "000000" else "111111"
        async with stack.runtime.db.session() as session:
            tip = (await session.execute(select(Tip))).scalar_one()
            session.add(TipMessage(tip_id=tip.id, kind="officer", text="Xe màu gì?"))
            session.add(TipMessage(tip_id=tip.id, kind="note", text="ghi chú nội bộ"))
        other = TelegramResident(stack, 6002)  # another account, another phone
        opening = [
            ("/start", "Chọn ngôn ngữ"),
            ("[🇻🇳 Tiếng Việt]", "xã/phường nào"),
            ("[Bỏ qua]", "Menu chính"),
            ("[🚨 Tố giác tội phạm]", "ẩn danh"),
        ]
        await run_dialogue(
            other,
            [
                *opening,
                ("[🔎 Theo dõi tin báo]", "gõ mã tin báo"),
                ("không phải mã", "không phải mã tin báo"),
                (code.lower().replace("-", " "), "mã PIN 6 chữ số"),
                (wrong, "không đúng"),
                ("[🔎 Thử lại]", "gõ mã tin báo"),
                (code, "mã PIN"),
                (pin, [f"Tin báo {code}: Mới (chưa tiếp nhận)", "Xe màu gì?"]),
            ],
        )
        answer = "\n".join(m.get("text") or "" for m in other.last)
        assert "ghi chú nội bộ" not in answer and DESCRIPTION not in answer
        # guessing is locked after five wrong PINs, even for the right one afterwards
        for _ in range(5):
            await run_dialogue(
                other,
                [
                    ("[🏠 Menu chính]", "Menu chính"),
                    ("[🚨 Tố giác tội phạm]", "ẩn danh"),
                    ("[🔎 Theo dõi tin báo]", "gõ mã"),
                    (code, "PIN"),
                    (wrong, "không đúng"),
                ],
            )
        await run_dialogue(
            other, [("[🔎 Thử lại]", "gõ mã"), (code, "PIN"), (pin, "thử lại sau một giờ")]
        )


async def test_a_pin_hashed_before_pins_were_sealed_still_works_and_is_sealed(
    database_url: str,
) -> None:
    from bot.tips.codes import SEALED_PIN, hash_pin, verify_pin

    async with running_stack(database_url) as stack:
        code, pin = await _file_on_telegram(stack, 6011)
        async with stack.runtime.db.session() as session:  # as an older version stored it
            tip = (await session.execute(select(Tip))).scalar_one()
            tip.pin_hash = hash_pin(pin)
        await run_dialogue(
            TelegramResident(stack, 6012),
            [
                ("/start", "Chọn ngôn ngữ"),
                ("[🇻🇳 Tiếng Việt]", "xã/phường nào"),
                ("[Bỏ qua]", "Menu chính"),
                ("[🚨 Tố giác tội phạm]", "ẩn danh"),
                ("[🔎 Theo dõi tin báo]", "gõ mã tin báo"),
                (code, "mã PIN"),
                (f"{pin[:3]} {pin[3:]}", f"Tin báo {code}: Mới (chưa tiếp nhận)"),
            ],
        )
        async with stack.runtime.db.session() as session:
            stored = (await session.execute(select(Tip))).scalar_one().pin_hash
        assert stored.startswith(SEALED_PIN)
        assert verify_pin(stored, pin, RelayCipher(RELAY_KEY))


async def test_one_resident_cannot_flood_the_queue(database_url: str) -> None:
    # a chat id no other test uses: the daily count lives in this process's memory
    async with running_stack(database_url, tip_daily_limit=1) as stack:
        resident = TelegramResident(stack, 7001 if "sqlite" in database_url else 7002)
        await run_dialogue(resident, TIP_FLOW)
        await run_dialogue(
            resident,
            [
                ("[🚨 Tố giác tội phạm]", "ẩn danh"),
                ("[Tiếp tục]", "đã gửi nhiều tin báo"),
            ],
        )
        other = TelegramResident(stack, 7003 if "sqlite" in database_url else 7004)
        await run_dialogue(other, TIP_FLOW[:5])  # others are not affected


LIMITED = ("[Tiếp tục]", "đã gửi nhiều tin báo")


@contextlib.asynccontextmanager
async def _web_visitor(stack: Stack, forwarded_for: str = "") -> AsyncIterator[WebStepper]:
    """A visitor with a fresh cookie (a fresh resident), coming through a proxy that says the
    client's address is `forwarded_for`."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar, headers=headers) as http:
        visitor = WebResident(http, stack.runtime.url)
        await visitor.open()
        yield WebStepper(visitor, stack.runtime)


async def _tips(stack: Stack) -> int:
    async with stack.runtime.db.session() as session:
        return len((await session.execute(select(Tip))).scalars().all())


async def test_one_web_client_cannot_flood_the_queue_with_fresh_cookies(
    database_url: str,
) -> None:
    settings = {"tip_daily_limit_per_address": 2, "admin_trust_forwarded": True}
    async with running_stack(database_url, **settings) as stack, contextlib.AsyncExitStack() as s:
        flooder = "203.0.113.7"
        drafts = [await s.enter_async_context(_web_visitor(stack, flooder)) for _ in range(3)]
        for draft in drafts:  # three tips written at once, each from a fresh cookie
            await run_dialogue(draft, TIP_FLOW[:-1])
        for draft in drafts[:2]:
            await run_dialogue(draft, [TIP_FLOW[-1]])
        await run_dialogue(drafts[2], [("[✅ Gửi tin báo]", "đã gửi nhiều tin báo")])
        # what the client puts before the address our proxy adds is not believed
        async with _web_visitor(stack, f"198.51.100.1, {flooder}") as again:
            await run_dialogue(again, [*TIP_FLOW[:4], LIMITED])
        async with _web_visitor(stack, "203.0.113.8") as neighbour:
            await run_dialogue(neighbour, TIP_FLOW[:5])  # another address is not affected
        assert await _tips(stack) == 2


async def test_without_a_trusted_proxy_a_forwarded_address_is_not_believed(
    database_url: str,
) -> None:
    async with running_stack(database_url, tip_daily_limit_per_address=1) as stack:
        async with _web_visitor(stack, "203.0.113.9") as first:
            await run_dialogue(first, TIP_FLOW)
        async with _web_visitor(stack, "203.0.113.10") as second:  # the same client, really
            await run_dialogue(second, [*TIP_FLOW[:4], LIMITED])
        assert await _tips(stack) == 1


WEB = "https://antq.example.vn"
#: What each channel's tip notice says the platform sees, and the way round it.
SEEN_BY = [
    ("telegram", ["ứng dụng nhắn tin", "biết tài khoản của bạn", "trang web"]),
    ("zalo_bot", ["ứng dụng nhắn tin", "biết tài khoản của bạn", "trang web"]),
    ("zalo_oa", ["Ở đây không ẩn danh", "hồ sơ Zalo", "https://antq.example.vn/chat"]),
    ("web", ["Trang này do Công an quản lý", "không được lưu cùng tin báo"]),
]


@pytest.mark.parametrize(("channel", "expected"), SEEN_BY, ids=[c for c, _ in SEEN_BY])
async def test_the_tip_notice_says_what_the_platform_sees(
    database_url: str, channel: str, expected: list[str]
) -> None:
    """Zalo OA administrators read the OA's conversations in Zalo: the notice says so and
    links the web form (PUBLIC_URL/chat), which passes no Zalo identity."""
    async with (
        # (over https the web chat's cookie is Secure, which this plain-http client drops)
        running_stack(database_url, zalo=True, public_url="" if channel == "web" else WEB) as stack,
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,
    ):
        resident: Chatting
        if channel == "telegram":
            stack.fake.add_chat(4801)
            resident = TelegramResident(stack, 4801)
        elif channel == "zalo_bot":
            resident = ZaloBotResident(stack, "0a1b2c3d4e5f60718299")
        elif channel == "zalo_oa":
            resident = ZaloOAResident(stack, "6142494823000000099")
        else:
            visitor = WebResident(http, stack.runtime.url)
            await visitor.open()
            resident = WebStepper(visitor, stack.runtime)
        await run_dialogue(resident, [*TIP_FLOW[:3], (TIP_FLOW[3][0], expected)])
