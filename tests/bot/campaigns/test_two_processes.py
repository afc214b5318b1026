"""Two bot processes on one database send the same campaign: every delivery exactly once,
and both processes do part of the work."""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path

from bot.db import Database
from bot.fakes.telegram import FakeTelegram
from bot.fakes.zalo_bot import FakeZaloBot
from bot.fakes.zalo_oa import FakeZaloOA
from tests.bot.campaigns.test_campaign_crash import (
    RESIDENTS,
    _received,
    _residents,
    _twice,
    zalo_env,
)
from tests.bot.campaigns.test_engine import _campaign
from tests.bot.test_tip_crash import _bot_env, _rows, _start_bot, _until

#: Batches of 100 (a second's worth): the two processes take turns at the rows.
RATE = "100"


async def test_two_processes_send_each_delivery_once(database_url: str, tmp_path: Path) -> None:
    tg, zb, oa = FakeTelegram(), FakeZaloBot(), FakeZaloOA()
    tg_url = await tg.start("127.0.0.1", 0)
    zb_url, oa_url = await zb.start("127.0.0.1", 0), await oa.start("127.0.0.1", 0)
    db = Database(database_url)
    env = _bot_env(database_url, tg, tg_url, tmp_path)
    env.update(
        {
            "TELEGRAM_BROADCAST_RATE": RATE,
            "TELEGRAM_BROADCAST_PER_CHAT_SECONDS": "0",
            "ZALO_BOT_BROADCAST_RATE": RATE,
            "ZALO_OA_BROADCAST_RATE": RATE,
            "CAMPAIGN_QUIET_HOURS": "",
            "LOG_LEVEL": "INFO",
            **zalo_env(zb, zb_url, oa, oa_url),
        }
    )
    residents = sum(RESIDENTS.values())
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    try:
        await _residents(db, tg, zb, oa)
        await _campaign(db)
        bots = [_start_bot(env, log) for log in logs]
        try:

            async def finished() -> bool:
                [(open_work,)] = await _rows(
                    db,
                    "SELECT count(*) FROM campaign_delivery WHERE status IN ('pending', 'sending')",
                )
                runs = await _rows(db, "SELECT status FROM campaign_run")
                return bool(open_work == 0 and runs == [("done",)])

            await _until(finished, 120, "the campaign sent by two processes", logs)
        finally:
            for bot in bots:
                bot.send_signal(signal.SIGTERM)
            codes = [await asyncio.to_thread(bot.wait, 60) for bot in bots]
        tails = [log.read_text(errors="replace")[-3000:] for log in logs]
        assert codes == [0, 0], f"exit codes {codes}; logs:\n" + "\n---\n".join(tails)
        received = _received(tg, zb, oa)
        assert not _twice(received)
        assert sum(received.values()) == residents == len(received)
        [(runs,)] = await _rows(db, "SELECT count(*) FROM campaign_run")
        assert runs == 1  # made once, though both processes saw it due
        statuses = await _rows(db, "SELECT status, count(*) FROM campaign_delivery GROUP BY 1")
        assert statuses == [("sent", residents)]
        shares = []
        for log in logs:
            written = log.read_text(errors="replace")
            assert "Traceback" not in written, written[-3000:]
            found = re.search(r"campaign sender stopped: (\d+) campaign messages sent", written)
            shares.append(int(found.group(1)) if found else 0)
        assert sum(shares) == residents and min(shares) > 0, shares  # both took part
        print(f"\nshares of the two processes: {shares}")
    finally:
        await db.dispose()
        for fake in (tg, zb, oa):
            await fake.stop()
