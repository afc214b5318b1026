"""A tip's whole life, on every channel: filed (on Telegram with a GPS-tagged photo), alerted,
asked about in the panel, answered through the bot, noted and closed. Afterwards no table row
and no log line puts the tipster's chat id next to anything about the tip, and the photo the
panel serves carries no metadata."""

from __future__ import annotations

import io
import logging
import re

import aiohttp
import pytest
from PIL import Image
from sqlalchemy import select

from bot.logging_setup import quiet_libraries
from bot.models import CommuneChat, Resident, Tip, TipPhoto
from tests.admin.panel import QN_DONG, PanelClient, add_staff, receive
from tests.handlers.test_tip_intake import TIP_FLOW, _all_rows
from tests.handlers.test_tip_photos import DONE, gps_jpeg, photo, send
from tests.harness import (
    Resident as Chatting,
)
from tests.harness import (
    TelegramResident,
    WebResident,
    WebStepper,
    ZaloBotResident,
    ZaloOAResident,
    run_dialogue,
    running_stack,
)

CHATS = {
    "telegram": "777001",
    "zalo_bot": "0a1b2c3d4e5f60718293",
    "zalo_oa": "6142494823000000001",
}
QUESTION = "Người đó cao khoảng bao nhiêu, mặc áo gì?"
ANSWER = "Cao khoảng 1m7, áo khoác đen, đội mũ lưỡi trai."
NOTE = "Ghi chú nội bộ: đối chiếu với vụ tháng trước."
OUTCOME = "Đã bắt giữ, chuyển cơ quan điều tra."


@pytest.mark.parametrize("channel", ["telegram", "zalo_bot", "zalo_oa", "web"])
async def test_a_tips_whole_life_leaves_no_trace_of_its_sender(
    database_url: str, channel: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    quiet_libraries()
    async with (
        running_stack(database_url, known_chats=[777001, 990001], zalo=True) as stack,
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,
    ):
        db = stack.runtime.db
        await add_staff(db, "canbo_dong", "officer", [QN_DONG])
        async with db.session() as session:
            session.add(CommuneChat(commune_code=QN_DONG, channel="telegram", chat_id="990001"))
        resident: Chatting
        if channel == "telegram":
            telegram = resident = TelegramResident(stack, 777001)
            await run_dialogue(resident, TIP_FLOW[:-2])
            assert "1" in await send(telegram, photo(gps_jpeg()))
            await resident.step(DONE)
        elif channel == "zalo_bot":
            resident = ZaloBotResident(stack, CHATS[channel])
            await run_dialogue(resident, TIP_FLOW[:-1])
        elif channel == "zalo_oa":
            resident = ZaloOAResident(stack, CHATS[channel])
            await run_dialogue(resident, TIP_FLOW[:-1])
        else:
            visitor = WebResident(http, stack.runtime.url)
            await visitor.open()
            resident = WebStepper(visitor, stack.runtime)
            await run_dialogue(resident, TIP_FLOW[:-1])
        confirmation = await resident.step(TIP_FLOW[-1][0])
        code = re.search(r"TG-[0-9A-Z]{6}", confirmation).group(0)  # type: ignore[union-attr]
        pin = confirmation.split("Mã PIN: ")[1].split()[0]
        await stack.runtime.outbox.sweep_once()  # the commune's alert
        await stack.fake.wait_sent(990001, 1, timeout=10)

        officer = PanelClient.open(stack.runtime.url)
        assert await officer.login("canbo_dong") == 303
        page = f"/admin/tips/{code}"
        await officer.post(f"{page}/ask", {"text": QUESTION}, csrf_from=page)
        assert QUESTION in await receive(resident, stack)
        reply = await resident.step("trả lời" if channel == "zalo_bot" else "[✍️ Trả lời]")
        assert "Nhập câu trả lời" in reply
        assert "đã được chuyển" in await resident.step(ANSWER)
        await officer.post(f"{page}/note", {"text": NOTE}, csrf_from=page)
        await officer.post(
            f"{page}/status", {"status": "resolved", "outcome": OUTCOME}, csrf_from=page
        )
        html = await officer.page(page)
        assert ANSWER in html and NOTE in html and OUTCOME in html

        if channel == "telegram":  # the copy the panel serves: pixels only
            async with db.session() as session:
                photo_id = (await session.execute(select(TipPhoto.id))).scalar_one()
            async with officer.http.get(f"{officer.base}{page}/photos/{photo_id}") as response:
                assert response.status == 200 and response.content_type == "image/jpeg"
                served = await response.read()
            image = Image.open(io.BytesIO(served))
            assert len(image.getexif()) == 0 and image.getexif().get_ifd(0x8825) == {}
            assert "exif" not in image.info and "xmp" not in image.info
            assert b"GPS" not in served and b"SERIAL" not in served and b"PhoneMaker" not in served
        await officer.close()

        async with db.session() as session:
            if channel == "web":
                chat_id = (await session.execute(select(Resident.chat_id))).scalar_one()
            else:
                chat_id = CHATS[channel]
            tip = (await session.execute(select(Tip))).scalar_one()
        assert tip.status == "resolved"
        secrets = (code, pin, tip.description, QUESTION, ANSWER, NOTE, OUTCOME)
        for table, rows in (await _all_rows(stack)).items():
            for row in rows:
                if chat_id in row:  # where the chat id is (resident, …), nothing of the tip
                    assert not any(s in row for s in secrets), (table, row)
                if table in ("tip", "tip_message", "tip_photo", "tip_relay", "audit_log"):
                    assert chat_id not in row, (table, row)
        for record in caplog.records:
            line = record.getMessage()
            assert not any(s in line for s in secrets), line
            assert chat_id not in line, line
