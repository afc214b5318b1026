"""The bot process killed with SIGKILL during a burst of tip submissions: every tip whose
confirmation a resident received is in the database, none twice, and after a restart every
resident who pressed "send" ends with exactly one code and exactly one tip.

The bot runs as a real `antq run` subprocess, polling the fake Telegram server that runs in
this test's event loop. Polling is what makes the crash honest: the fake hands out updates
until the bot acknowledges them with a higher offset, so whatever the dead process fetched
but had not acknowledged comes again to the restarted one, as Telegram does.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bot.db import Database
from bot.fakes.telegram import FakeTelegram
from bot.settings import Settings
from bot.tips.relay import RelayCipher
from tests.handlers.test_tip_intake import TIP_FLOW
from tests.harness import MESSAGE_METHODS, RELAY_KEY

RESIDENTS = 40
#: The kill comes with the first confirmation delivered after this many tips are committed
#: (the rest of the burst still to be handled).
KILL_AT_COMMITTED = 10
#: During the burst Telegram answers 429 beyond this many messages a second, so that at the
#: kill some committed tips still have their confirmation waiting in the outbox.
BURST_MESSAGES_PER_SECOND = 3
#: Chat ids long and odd enough that finding one inside a tip's columns cannot be chance.
FIRST_CHAT_ID = 7_310_442_001
#: The restarted process leaves the dead one's outbox rows alone until their 30-second lease
#: runs out, then its sweeper (every 5 s) sends them: catching up takes up to ~35 s.
CATCH_UP_TIMEOUT = 120.0
STEP_TIMEOUT = 60.0
REPO_ROOT = Path(__file__).resolve().parents[2]
SEND = "[✅ Gửi tin báo]"
CODE = re.compile(r"Mã tin báo: (TG-[0-9A-Z]{6})")


def _shown(message: dict[str, Any]) -> str:
    """What the resident sees of a message: its text, then each button as [label]."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return "\n".join([message.get("text") or "", *(f"[{b['text']}]" for r in rows for b in r)])


def _codes(messages: Sequence[dict[str, Any]]) -> list[str]:
    return [m.group(1) for msg in messages if (m := CODE.search(msg.get("text") or ""))]


@dataclass
class Tipster:
    """A Telegram resident acting on the in-process fake (the bot is another process)."""

    fake: FakeTelegram
    chat_id: int
    #: The messages of the bot's last answer (their buttons are what can be pressed).
    last: list[dict[str, Any]] = field(default_factory=list)
    since: int = 0

    def _answer(self) -> list[dict[str, Any]]:
        sent = self.fake.sent(self.chat_id, since=self.since)
        return [m for m in sent if m["method"] in MESSAGE_METHODS]

    async def _more(self, deadline: float, what: str) -> None:
        """Wait for the next record sent to this chat, or fail saying what was awaited."""
        have = len(self.fake.sent(self.chat_id, since=self.since))
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            await self.fake.wait_sent(
                self.chat_id, have + 1, timeout=max(remaining, 0.01), since=self.since
            )
        except TimeoutError:
            shown = "\n---\n".join(_shown(m) for m in self._answer())
            raise AssertionError(f"chat {self.chat_id}: no {what} in:\n{shown}") from None

    async def press(self, utterance: str) -> None:
        """Type the text, or press the button "[label]" of the last answer."""
        deadline = asyncio.get_running_loop().time() + STEP_TIMEOUT
        update: dict[str, Any] = {"chat_id": self.chat_id, "text": utterance}
        if utterance.startswith("[") and utterance.endswith("]"):
            while (data := self._button(utterance[1:-1])) is None:
                await self._more(deadline, f"button {utterance}")  # the answer is not all here
            update = {"chat_id": self.chat_id, "callback_data": data}
        self.since = self.fake.last_seq()
        self.fake.inject(update)

    async def expect(self, expected: str | Sequence[str]) -> None:
        """Wait until the answer to the last press shows every expected fragment."""
        fragments = [expected] if isinstance(expected, str) else list(expected)
        deadline = asyncio.get_running_loop().time() + STEP_TIMEOUT
        while True:
            self.last = self._answer()
            shown = "\n".join(_shown(m) for m in self.last)
            if all(f in shown for f in fragments):
                return
            await self._more(deadline, f"{fragments!r}")

    def _button(self, label: str) -> str | None:
        for message in reversed(self._answer() or self.last):
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if button["text"] == label:
                        return str(button["callback_data"])
        return None


def _bot_env(
    database_url: str, fake: FakeTelegram, fake_url: str, data_dir: Path
) -> dict[str, str]:
    # No setting of the developer's environment leaks in: only what this test says.
    ours = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in ours}
    env.update(
        {
            "DATABASE_URL": database_url,
            "DATA_DIR": str(data_dir),
            "HOST": "127.0.0.1",
            "PORT": "0",
            "TELEGRAM_TOKEN": fake.token,
            "TELEGRAM_API_BASE": fake_url,
            "TELEGRAM_MODE": "polling",
            "TIP_RELAY_KEYS": RELAY_KEY,
            "PROVINCE_POLICE_PHONE": "069 3822 113",
            "LOG_LEVEL": "INFO",
            # the code under test is this checkout's, whatever the venv points at
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _start_bot(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # a file, not a pipe: a full pipe would stall the bot
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"],
            env=env,
            cwd=log.parent,  # no .env of the checkout
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def _rows(db: Database, sql: str) -> list[tuple[Any, ...]]:
    async with db.session() as session:
        return [tuple(row) for row in (await session.execute(text(sql))).all()]


async def _until(
    condition: Callable[[], Awaitable[bool]],
    within: float,
    what: str,
    logs: Sequence[Path],
    poll: float = 0.1,
) -> None:
    """Poll `condition` until it is true; fail naming `what` (with the bot's logs)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await condition():
        if loop.time() > deadline:
            tails = "\n".join(
                f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs
            )
            raise AssertionError(f"timed out after {within}s waiting for {what}\n{tails}")
        await asyncio.sleep(poll)


async def test_sigkill_during_a_burst_of_tips_loses_and_doubles_nothing(
    database_url: str, tmp_path: Path
) -> None:
    fake = FakeTelegram()
    fake_url = await fake.start("127.0.0.1", 0)
    db = Database(database_url)
    env = _bot_env(database_url, fake, fake_url, tmp_path)
    logs = [tmp_path / "bot-before-kill.log", tmp_path / "bot-after-restart.log"]
    started = time.monotonic()
    bot = _start_bot(env, logs[0])
    try:
        tipsters = [Tipster(fake, FIRST_CHAT_ID + i) for i in range(RESIDENTS)]
        review, (send, confirmed) = TIP_FLOW[:-1], TIP_FLOW[-1]
        assert send == SEND

        async def to_review(tipster: Tipster) -> None:
            for utterance, expected in review:
                await tipster.press(utterance)
                await tipster.expect(expected)

        await asyncio.gather(*(to_review(t) for t in tipsters))

        # The burst: every resident presses "send" before the bot fetches any of it.
        burst, burst_at = fake.last_seq(), time.monotonic()
        rate = BURST_MESSAGES_PER_SECOND
        fake.set_limits(enforce=True, rate_per_second=rate, burst=rate)
        for tipster in tipsters:
            await tipster.press(SEND)

        def delivered() -> list[str]:
            return _codes(fake.sent(since=burst))

        async def under_way() -> bool:
            committed = await _rows(db, "SELECT count(*) FROM tip")
            return bool(committed[0][0] >= KILL_AT_COMMITTED)

        await _until(under_way, STEP_TIMEOUT, "the burst to be under way", logs[:1], poll=0.02)
        # The kill comes while the burst is under way, once a confirmation has reached its
        # resident (at once if one has: PINs are hashed outside the batch now, so the rest of
        # the burst commits within a second), else the moment the first one arrives: the
        # sharpest time to ask whether a confirmed tip is stored.
        while not delivered():
            await fake.wait_sent(None, len(fake.sent(since=burst)) + 1, STEP_TIMEOUT, since=burst)
        bot.send_signal(signal.SIGKILL)
        assert await asyncio.to_thread(bot.wait, 30) == -signal.SIGKILL
        await asyncio.sleep(0.2)  # requests the dead process had already written are served
        fake.set_limits(enforce=False)

        # What the dead process left: every confirmation a resident holds is a stored tip.
        held_at_kill = delivered()
        stored_at_kill = [code for (code,) in await _rows(db, "SELECT code FROM tip")]
        assert set(held_at_kill) <= set(stored_at_kill), (held_at_kill, stored_at_kill)
        assert len(stored_at_kill) < RESIDENTS, "the kill came after the burst: nothing tested"
        killed_at = time.monotonic()
        bot = _start_bot(env, logs[1])

        async def all_confirmed() -> bool:
            return all(_codes(fake.sent(t.chat_id, since=burst)) for t in tipsters)

        async def settled() -> bool:
            pending = await _rows(db, "SELECT count(*) FROM outbox WHERE status = 'pending'")
            return fake.stats()["pending_updates"] == 0 and pending[0][0] == 0

        await _until(all_confirmed, CATCH_UP_TIMEOUT, "every resident's confirmation", logs)
        await _until(settled, CATCH_UP_TIMEOUT, "updates acknowledged, outbox sent", logs)
        caught_up_at = time.monotonic()
        bot.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(bot.wait, 60) == 0

        # Each resident: one code for one press (a confirmation the dead process sent but
        # had not yet recorded is sent again, the same message, and only then).
        code_of: dict[int, str] = {}
        repeats = 0
        for tipster in tipsters:
            codes = _codes(fake.sent(tipster.chat_id, since=burst))
            assert len(set(codes)) == 1, (tipster.chat_id, codes)
            code_of[tipster.chat_id] = codes[0]
            if len(codes) > 1:
                assert codes[0] in stored_at_kill, (tipster.chat_id, codes)
                repeats += len(codes) - 1
            answer = "\n".join(_shown(m) for m in fake.sent(tipster.chat_id, since=burst))
            assert all(f in answer for f in confirmed), answer
        print(
            f"\n{RESIDENTS} residents to review {burst_at - started:.1f}s, burst to kill "
            f"{killed_at - burst_at:.1f}s ({len(set(held_at_kill))} confirmed, "
            f"{len(stored_at_kill)} committed), restart to caught up "
            f"{caught_up_at - killed_at:.1f}s, confirmations sent twice: {repeats}"
        )

        # Each confirmed code is stored exactly once, and nothing else is.
        tips = await _rows(db, "SELECT id, code FROM tip")
        stored = Counter(code for _, code in tips)
        assert all(stored[code] == 1 for code in code_of.values()), stored
        assert sorted(stored) == sorted(code_of.values())
        assert len(tips) == RESIDENTS
        # The sealed way back of each tip leads to the resident who holds its code.
        cipher = RelayCipher(RELAY_KEY)
        relays = dict(await _rows(db, "SELECT tip_id, sealed FROM tip_relay"))
        for tip_id, code in tips:
            assert code_of[int(cipher.open(bytes(relays[tip_id]))[1])] == code

        # Privacy survives the crash: no chat id in any column of a tip or its thread, no
        # draft left in a conversation state, no delivered code left next to a chat id,
        # no code in the logs.
        chat_ids = [str(t.chat_id) for t in tipsters]
        for table in ("tip", "tip_message"):
            for row in await _rows(db, f"SELECT * FROM {table}"):
                assert not any(c in repr(row) for c in chat_ids), (table, row)
        for sealed in relays.values():
            assert not any(c.encode() in bytes(sealed) for c in chat_ids)
        states = await _rows(db, "SELECT state FROM resident")
        assert not [s for (s,) in states if s.startswith("tip:")], states
        assert await _rows(db, "SELECT count(*) FROM outbox WHERE kind = 'private'") == [(0,)]
        for log in logs:
            written = log.read_text(errors="replace")
            assert "Traceback" not in written, written[-3000:]
            assert not any(code in written for code in code_of.values())
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait(30)
        await db.dispose()
        await fake.stop()
