"""An edit made elsewhere (another instance's staff panel) reaches the residents of a running
bot process within its refresh interval, without a restart.

The bot is a real `antq run` subprocess polling the fake Telegram server of this test; the
edit is made here, through `content.actions`, on the same database."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from bot.db import Database
from bot.fakes.telegram import FakeTelegram
from bot.models import StaffUser
from content import actions
from content.library import LocalizedText, load_files
from content.store import REFRESH_SECONDS
from tests.bot.test_tip_crash import Tipster, _bot_env, _start_bot
from tests.handlers.test_dialogues import ONBOARDING

ITEM_ID = "nd-06-2014"
NEW_BODY = "Nghị định 06/2014/NĐ-CP: bản tóm tắt mới, do cán bộ tuyên truyền sửa."
#: The refresh interval, plus time for the bot to answer.
WITHIN = REFRESH_SECONDS + 10


async def test_an_edit_reaches_a_running_bot_process(database_url: str, tmp_path: Path) -> None:
    fake = FakeTelegram()
    fake_url = await fake.start("127.0.0.1", 0)
    db = Database(database_url)
    log = tmp_path / "bot.log"
    bot = _start_bot(_bot_env(database_url, fake, fake_url, tmp_path), log)
    try:
        resident = Tipster(fake, 7_310_500_001)
        fake.add_chat(resident.chat_id)
        for utterance, expected in ONBOARDING:
            await resident.press(utterance)
            await resident.expect(expected)
        item = load_files().item(ITEM_ID)
        await resident.press("[📚 Tuyên truyền pháp luật]")
        await resident.press(f"[{load_files().topic('law').title.vi}]")
        await resident.press(f"[{item.title.vi}]")
        await resident.expect(item.body.vi[:60])

        async with db.session() as session:
            user = StaffUser(username="tuyentruyen", role="propaganda", password_hash="x")
            session.add(user)
        body = LocalizedText(vi=NEW_BODY, en=item.body.en)
        async with db.session() as session:
            await actions.edit_item(session, user, item.model_copy(update={"body": body}), "")
        edited_at = time.monotonic()

        # the resident opens the item again (its button stays valid) until the edit shows
        while True:
            resident.since = fake.last_seq()
            fake.inject(
                {
                    "chat_id": resident.chat_id,
                    "callback_data": f"lib:i:{ITEM_ID}:0",
                    "any_data": True,
                }
            )
            await resident.expect(item.title.vi.upper())
            if NEW_BODY in "\n".join(m.get("text") or "" for m in resident.last):
                break
            assert time.monotonic() - edited_at < WITHIN, log.read_text(errors="replace")[-3000:]
            await asyncio.sleep(1)
    finally:
        bot.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(bot.wait, 60)
        await db.dispose()
        await fake.stop()
    assert code == 0, log.read_text(errors="replace")[-3000:]
