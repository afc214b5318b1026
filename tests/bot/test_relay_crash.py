"""The bot process killed with SIGKILL while officers' questions are being relayed to
tipsters: every question the panel accepted is stored, reaches its own tipster after a
restart, and nobody else; no question is lost.

The bot is a real `antq run` subprocess; the officer uses its panel over HTTP; the fake
Telegram server in this test's event loop throttles sending to 3 messages a second, so at
the kill most questions are still waiting in the outbox.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from pathlib import Path

from bot.db import Database
from bot.fakes.telegram import FakeTelegram
from bot.settings import Settings
from tests.admin.panel import PanelClient, add_staff, file_tip
from tests.bot.test_tip_crash import CATCH_UP_TIMEOUT, STEP_TIMEOUT, _bot_env, _rows, _start_bot
from tests.bot.test_tip_crash import _until as until
from tests.harness import MESSAGE_METHODS, RELAY_KEY

QUESTIONS = 24
#: Chat ids long and odd enough that finding one in a tip's columns cannot be chance.
FIRST_CHAT_ID = 7_410_553_001
QN_DONG = 21601
LISTENING = re.compile(r"listening on (http://\S+)")


async def _panel_url(log: Path) -> str:
    found: list[str] = []

    async def listening() -> bool:
        match = LISTENING.search(await asyncio.to_thread(log.read_text, errors="replace"))
        if match:
            found.append(match.group(1))
        return bool(match)

    await until(listening, STEP_TIMEOUT, "the bot to listen", [log])
    return found[0]


async def test_sigkill_while_questions_are_relayed_loses_none(
    database_url: str, tmp_path: Path
) -> None:
    fake = FakeTelegram()
    fake_url = await fake.start("127.0.0.1", 0)
    chats = [FIRST_CHAT_ID + i for i in range(QUESTIONS)]
    for chat in chats:
        fake.add_chat(chat)
    db = Database(database_url)
    env = _bot_env(database_url, fake, fake_url, tmp_path)
    logs = [tmp_path / "bot-before-kill.log", tmp_path / "bot-after-restart.log"]
    bot = _start_bot(env, logs[0])
    officer: PanelClient | None = None
    try:
        url = await _panel_url(logs[0])  # migrated by now
        settings = Settings(_env_file=None, database_url=database_url, tip_relay_keys=RELAY_KEY)  # type: ignore[call-arg]
        tips = [
            await file_tip(db, settings, ("telegram", str(chat)), description=f"Tin báo số {i}")
            for i, chat in enumerate(chats)
        ]
        chat_of = {tip.code: chat for tip, chat in zip(tips, chats, strict=True)}
        question_of = {tip.code: f"Xe máy ở vụ {tip.code} màu gì?" for tip in tips}
        await add_staff(db, "canbo_dong", "officer", [QN_DONG])
        officer = PanelClient.open(url)
        assert await officer.login("canbo_dong") == 303

        since = fake.last_seq()
        fake.set_limits(enforce=True, rate_per_second=3, burst=3)
        started = time.monotonic()
        for code, question in question_of.items():
            page = f"/admin/tips/{code}"
            status, _, _ = await officer.post(f"{page}/ask", {"text": question}, csrf_from=page)
            assert status == 303, (code, status)

        def relayed() -> list[dict[str, object]]:
            return [m for m in fake.sent(since=since) if m["method"] in MESSAGE_METHODS]

        async def some_relayed() -> bool:
            return len(relayed()) >= 3

        await until(some_relayed, STEP_TIMEOUT, "the first questions to arrive", logs[:1])
        # the kill comes the moment a question reaches its tipster
        seen = len(relayed())
        while len(relayed()) == seen:
            await fake.wait_sent(None, len(fake.sent(since=since)) + 1, STEP_TIMEOUT, since=since)
        bot.send_signal(signal.SIGKILL)
        assert await asyncio.to_thread(bot.wait, 30) == -signal.SIGKILL
        killed_at = time.monotonic()
        await asyncio.sleep(0.2)
        fake.set_limits(enforce=False)
        held_at_kill = {
            code
            for code, question in question_of.items()
            if any(question in str(m.get("text")) for m in relayed())
        }
        assert len(held_at_kill) < QUESTIONS, "the kill came after every question: nothing tested"

        # Every question the panel accepted is stored (it and its outbox row are one commit).
        stored = [t for (t,) in await _rows(db, "SELECT text FROM tip_message")]
        assert sorted(stored) == sorted(question_of.values())

        bot = _start_bot(env, logs[1])

        async def all_asked() -> bool:
            return all(
                any(question_of[code] in str(m.get("text")) for m in fake.sent(chat, since=since))
                for code, chat in chat_of.items()
            )

        async def settled() -> bool:
            pending = await _rows(db, "SELECT count(*) FROM outbox WHERE status = 'pending'")
            return pending[0][0] == 0

        await until(all_asked, CATCH_UP_TIMEOUT, "every tipster's question", logs)
        await until(settled, CATCH_UP_TIMEOUT, "the outbox to be sent", logs)
        caught_up_at = time.monotonic()
        bot.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(bot.wait, 60) == 0

        # Each tipster got their own question and no other. A question the dead process had
        # sent but not yet recorded is sent once more by the restarted one (the platforms
        # have no idempotency key; losing it would be worse): only those, and only once.
        repeats = 0
        for code, chat in chat_of.items():
            texts = [str(m.get("text")) for m in fake.sent(chat, since=since)]
            assert texts and all(question_of[code] in t for t in texts), (chat, texts)
            assert len(texts) == 1 or (len(texts) == 2 and code in held_at_kill), (chat, texts)
            repeats += len(texts) - 1
        print(
            f"\n{QUESTIONS} questions asked in the panel, {len(held_at_kill)} delivered at the "
            f"kill "
            f"({killed_at - started:.1f}s in), all delivered {caught_up_at - killed_at:.1f}s "
            f"after it; sent twice: {repeats}"
        )
        # Nothing identifying stayed behind: no private row, no chat id next to a tip.
        assert await _rows(db, "SELECT count(*) FROM outbox WHERE kind = 'private'") == [(0,)]
        for table in ("tip", "tip_message"):
            for row in await _rows(db, f"SELECT * FROM {table}"):
                assert not any(str(c) in repr(row) for c in chats), (table, row)
        for log in logs:
            written = log.read_text(errors="replace")
            assert "Traceback" not in written, written[-3000:]
            assert not any(q in written for q in question_of.values())
    finally:
        if officer is not None:
            await officer.close()
        if bot.poll() is None:
            bot.kill()
            bot.wait(30)
        await db.dispose()
        await fake.stop()
