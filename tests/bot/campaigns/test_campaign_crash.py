"""The campaign sender killed with SIGKILL half way through a campaign to 2,000 residents on
Telegram, Zalo Bot and Zalo OA, then restarted on the same database: the rest arrive and
nobody gets it twice. What the dead process had claimed but not recorded is `interrupted`:
a message may have left just before the kill, so it is never sent again.

The bot runs as a real `python -m bot.cli run` subprocess; the three fake platforms run in
this test's event loop with their rate limits on, a little above the bot's broadcast rates,
so pacing is what keeps the campaign free of 429s.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path

from bot.campaigns.engine import CampaignSender, QuietHours
from bot.core.outbox import Outbox
from bot.core.pacing import Pacer
from bot.db import Database
from bot.fakes.telegram import FakeTelegram
from bot.fakes.zalo_bot import FakeZaloBot
from bot.fakes.zalo_oa import FakeZaloOA
from bot.models import Resident, utcnow
from tests.bot.campaigns.test_engine import QN_DONG, _campaign, _chat
from tests.bot.test_tip_crash import _bot_env, _rows, _start_bot, _until

RESIDENTS = {"telegram": 800, "zalo_bot": 600, "zalo_oa": 600}
#: The bot's broadcast rates (messages a second): every channel takes about 25 s.
BOT_RATES = {"telegram": 32.0, "zalo_bot": 24.0, "zalo_oa": 24.0}
#: The fakes answer 429 beyond these (Telegram: also 1/s per chat, the bot paces that too).
TELEGRAM_LIMIT = 40.0
ZALO_BOT_LIMIT = 30.0
#: Zalo OA counts per minute and its bucket holds a minute's worth: on, but never reached.
ZALO_OA_LIMIT_PER_MINUTE = 1800
#: The kill comes once this many residents hold the campaign.
KILL_AT = sum(RESIDENTS.values()) // 2
HALF_WAY_TIMEOUT = 90.0
#: The restarted process sends what is still pending at once, but the dead one's `sending`
#: rows become `interrupted` (and the run `done`) only after their 60-second lease has run
#: out and the next 10-second tick has come: up to ~70 s after the kill.
CATCH_UP_TIMEOUT = 150.0
TEXT_MARK = "19/8"  # in the campaign's text


def zalo_env(zb: FakeZaloBot, zb_url: str, oa: FakeZaloOA, oa_url: str) -> dict[str, str]:
    """The bot's settings for the fake Zalo Bot and Zalo OA."""
    access, refresh = oa.initial_tokens()
    return {
        "ZALO_BOT_TOKEN": zb.token,
        "ZALO_BOT_API_BASE": zb_url,
        "ZALO_BOT_WEBHOOK_SECRET": "test-zalo-bot-secret_0123456789",
        "ZALO_OA_APP_ID": oa.app_id,
        "ZALO_OA_APP_SECRET": oa.app_secret,
        "ZALO_OA_SECRET_KEY": oa.oa_secret_key,
        "ZALO_OA_ACCESS_TOKEN": access,
        "ZALO_OA_REFRESH_TOKEN": refresh,
        "ZALO_OA_API_BASE": oa_url,
        "ZALO_OA_OAUTH_BASE": oa_url,
    }


def _received(tg: FakeTelegram, zb: FakeZaloBot, oa: FakeZaloOA) -> Counter[tuple[str, str]]:
    """How many times each (channel, chat) received the campaign."""
    counts: Counter[tuple[str, str]] = Counter()
    for message in tg.sent():
        if message["method"] == "sendMessage" and TEXT_MARK in (message.get("text") or ""):
            counts["telegram", str(message["chat_id"])] += 1
    for message in zb.sent():
        if TEXT_MARK in (message.get("text") or ""):
            counts["zalo_bot", str(message["chat_id"])] += 1
    for message in oa.sent():
        if TEXT_MARK in (message.get("text") or ""):
            counts["zalo_oa", str(message["user_id"])] += 1
    return counts


def _twice(received: Counter[tuple[str, str]]) -> str:
    """Who received the campaign more than once, told briefly ("" if nobody)."""
    twice = sorted(key for key, n in received.items() if n > 1)
    return f"{len(twice)} residents received it twice or more: {twice[:5]}…" if twice else ""


async def _residents(db: Database, tg: FakeTelegram, zb: FakeZaloBot, oa: FakeZaloOA) -> None:
    """Residents who talked to the bot before (so the fakes know them), subscribed."""
    rows = []
    for channel, count in RESIDENTS.items():
        for i in range(count):
            chat = _chat(channel, i)
            if channel == "telegram":
                tg.add_chat(int(chat))
            elif channel == "zalo_bot":
                zb.add_chat(chat)
            else:
                oa.set_last_interaction(chat, seconds_ago=3600)
            rows.append(
                {
                    "channel": channel,
                    "chat_id": chat,
                    "language": "vi",
                    "commune_code": QN_DONG,
                    "subscribed": True,
                    "onboarded": True,
                    "state": "",
                    "state_data": {},
                    "created_at": utcnow(),
                    "last_seen_at": utcnow(),
                }
            )
    async with db.session() as session:
        await session.execute(Resident.__table__.insert(), rows)  # type: ignore[attr-defined]


def _claim_bound(db: Database) -> int:
    """Rows a sender can hold in `sending` at once: one claim batch per channel (each
    channel's loop claims, sends, records, then claims again), sized by the engine."""
    pacers = {
        "telegram": Pacer(BOT_RATES["telegram"], 1.0),
        "zalo_bot": Pacer(BOT_RATES["zalo_bot"]),
        "zalo_oa": Pacer(BOT_RATES["zalo_oa"]),
    }
    sender = CampaignSender(
        db, {}, pacers, Outbox(db, pacers=pacers), QuietHours.parse("", "Asia/Ho_Chi_Minh")
    )
    return sum(sender._batch_size(channel) for channel in RESIDENTS)


async def test_sigkill_half_way_through_a_campaign_sends_the_rest_and_nothing_twice(
    database_url: str, tmp_path: Path
) -> None:
    tg = FakeTelegram()
    zb = FakeZaloBot()
    oa = FakeZaloOA()
    tg_url = await tg.start("127.0.0.1", 0)
    zb_url, oa_url = await zb.start("127.0.0.1", 0), await oa.start("127.0.0.1", 0)
    tg.set_limits(enforce=True, rate_per_second=TELEGRAM_LIMIT)
    zb.set_limits(enforce=True, rate_per_second=ZALO_BOT_LIMIT)
    oa.set_limits(enforce=True, requests_per_minute=ZALO_OA_LIMIT_PER_MINUTE)
    db = Database(database_url)
    env = _bot_env(database_url, tg, tg_url, tmp_path)
    env.update(
        {
            "TELEGRAM_BROADCAST_RATE": str(BOT_RATES["telegram"]),
            "TELEGRAM_BROADCAST_PER_CHAT_SECONDS": "1",
            "ZALO_BOT_BROADCAST_RATE": str(BOT_RATES["zalo_bot"]),
            "ZALO_OA_BROADCAST_RATE": str(BOT_RATES["zalo_oa"]),
            "CAMPAIGN_QUIET_HOURS": "",  # whatever the time of day the test runs at
            # webhook mode without PUBLIC_URL registers nothing: campaigns only send
            **zalo_env(zb, zb_url, oa, oa_url),
        }
    )
    logs = [tmp_path / "bot-before-kill.log", tmp_path / "bot-after-restart.log"]
    residents = sum(RESIDENTS.values())
    bound = _claim_bound(db)
    await _residents(db, tg, zb, oa)
    campaign_id = await _campaign(db)
    started = time.monotonic()
    bot = _start_bot(env, logs[0])
    try:

        async def half_way() -> bool:
            return sum(_received(tg, zb, oa).values()) >= KILL_AT

        await _until(half_way, HALF_WAY_TIMEOUT, f"{KILL_AT} residents reached", logs[:1], 0.02)
        bot.send_signal(signal.SIGKILL)
        assert await asyncio.to_thread(bot.wait, 30) == -signal.SIGKILL
        killed_at = time.monotonic()

        at_kill = _received(tg, zb, oa)
        assert not _twice(at_kill)
        for channel, count in RESIDENTS.items():  # the kill falls inside every channel's run
            assert 0 < sum(n for (c, _), n in at_kill.items() if c == channel) < count
        [(sending_at_kill,)] = await _rows(
            db, "SELECT count(*) FROM campaign_delivery WHERE status = 'sending'"
        )
        assert sending_at_kill <= bound

        bot = _start_bot(env, logs[1])

        async def finished() -> bool:
            [(open_work,)] = await _rows(
                db,
                "SELECT count(*) FROM campaign_delivery WHERE status IN ('pending', 'sending')",
            )
            runs = await _rows(db, "SELECT status FROM campaign_run")
            return bool(open_work == 0 and runs == [("done",)])

        await _until(finished, CATCH_UP_TIMEOUT, "every delivery settled, the run done", logs)
        done_at = time.monotonic()
        bot.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(bot.wait, 60) == 0

        received = _received(tg, zb, oa)
        assert not _twice(received)
        status_of = {
            (channel, chat): status
            for channel, chat, status in await _rows(
                db,
                # a final delivery keeps its resident, not the chat id (docs/anonymity.md)
                "SELECT r.channel, r.chat_id, d.status FROM campaign_delivery AS d "
                "JOIN resident AS r ON r.id = d.resident_id",
            )
        }
        assert len(status_of) == residents
        statuses = Counter(status_of.values())
        assert set(statuses) <= {"sent", "interrupted"}, statuses
        # what the dead process had claimed, and only that, is interrupted: never sent again
        # (at most once: it may have left just before the kill)
        interrupted = [key for key, status in status_of.items() if status == "interrupted"]
        assert 0 < len(interrupted) == sending_at_kill <= bound
        assert all(received[key] <= 1 for key in interrupted)
        # everyone else got it exactly once
        others = [key for key in status_of if status_of[key] != "interrupted"]
        assert {key: received[key] for key in others} == dict.fromkeys(others, 1)
        assert set(received) <= set(status_of)
        [(run_status, total)] = await _rows(db, "SELECT status, total FROM campaign_run")
        [(campaign_status,)] = await _rows(
            db, f"SELECT status FROM campaign WHERE id = {campaign_id}"
        )
        assert (run_status, total, campaign_status) == ("done", residents, "done")
        assert [f.stats()["rate_limited"] for f in (tg, zb, oa)] == [0, 0, 0]
        for log in logs:
            written = log.read_text(errors="replace")
            assert "Traceback" not in written, written[-3000:]
        print(
            f"\nstart to kill {killed_at - started:.1f}s ({sum(at_kill.values())} received), "
            f"kill to done {done_at - killed_at:.1f}s, total {done_at - started:.1f}s; "
            f"interrupted {len(interrupted)} (bound {bound}), of which received before "
            f"the kill {sum(received[key] for key in interrupted)}"
        )
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait(30)
        await db.dispose()
        for fake in (tg, zb, oa):
            await fake.stop()
