"""The campaign engine through the fake platforms: everyone in the audience exactly once,
nobody outside it, outcomes recorded, two senders on one database never sending twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from bot.campaigns.engine import QuietHours, finish_runs, recover_interrupted, start_due
from bot.campaigns.schedule import Schedule
from bot.db import Database
from bot.models import Campaign, CampaignRun, Delivery, Resident, utcnow
from tests.harness import Stack, running_stack

QN_DONG = 21601
OTHER = 21583
FAST = {
    "telegram_broadcast_rate": 3000.0,
    "telegram_broadcast_per_chat_seconds": 0.0,
    "zalo_bot_broadcast_rate": 3000.0,
    "zalo_oa_broadcast_rate": 3000.0,
    "campaign_quiet_hours": "",
}


def _chat(channel: str, i: int) -> str:
    return {
        "telegram": str(20_000_000 + i),
        "zalo_bot": f"{i:020x}",
        "zalo_oa": str(6_142_494_823_100_000_000 + i),
    }[channel]


async def _residents(stack: Stack, per_channel: dict[str, int], **extra: object) -> list[str]:
    """Residents who talked to the bot (known to the fakes); returns their chat ids."""
    rows, chats = [], []
    for channel, count in per_channel.items():
        for i in range(count):
            chat = _chat(channel, i + int(str(extra.get("offset", 0))))
            chats.append(chat)
            if channel == "telegram":
                stack.fake.add_chat(int(chat))
            elif channel == "zalo_bot":
                assert stack.zalo_bot is not None
                stack.zalo_bot.add_chat(chat)
            else:
                assert stack.zalo_oa is not None
                stack.zalo_oa.set_last_interaction(chat, seconds_ago=3600)
            rows.append(
                {
                    "channel": channel,
                    "chat_id": chat,
                    "language": "vi",
                    "commune_code": extra.get("commune", QN_DONG),
                    "subscribed": extra.get("subscribed", True),
                    "onboarded": True,
                    "state": "",
                    "state_data": {},
                    "created_at": utcnow(),
                    "last_seen_at": utcnow(),
                }
            )
    async with stack.runtime.db.session() as session:
        await session.execute(insert(Resident.__table__), rows)  # type: ignore[attr-defined]
    return chats


async def _campaign(db: Database, **fields: object) -> int:
    async with db.session() as session:
        campaign = Campaign(
            title="Ngày hội 19/8",
            text_vi="Mời bà con tham dự Ngày hội toàn dân bảo vệ an ninh Tổ quốc 19/8.",
            text_en="Join the All People Protect National Security festival on 19 August.",
            audience=fields.pop("audience", {"communes": [QN_DONG]}),
            schedule=Schedule.now().to_json(),
            status="scheduled",
            next_run_at=utcnow(),
            **fields,
        )
        session.add(campaign)
        await session.flush()
        assert campaign.id is not None
        return campaign.id


def _received(stack: Stack) -> Counter[str]:
    counts: Counter[str] = Counter()
    for message in stack.fake.sent():
        if message["method"] == "sendMessage" and "19/8" in (message.get("text") or ""):
            counts[str(message["chat_id"])] += 1
    assert stack.zalo_bot is not None and stack.zalo_oa is not None
    for message in stack.zalo_bot.sent():
        if "19/8" in (message.get("text") or ""):
            counts[str(message["chat_id"])] += 1
    for message in stack.zalo_oa.sent():
        if "19/8" in (message.get("text") or ""):
            counts[str(message["user_id"])] += 1
    return counts


async def _until_done(stack: Stack, limit: float = 120.0) -> None:
    sender = stack.runtime.campaigns
    assert sender is not None
    deadline = asyncio.get_running_loop().time() + limit
    while asyncio.get_running_loop().time() < deadline:
        await sender.tick()
        async with stack.runtime.db.session() as session:
            left = (
                await session.execute(
                    select(func.count())
                    .select_from(Delivery)
                    .where(Delivery.status.in_(("pending", "sending")))  # type: ignore[attr-defined]
                )
            ).scalar_one()
            runs = (await session.execute(select(CampaignRun.status))).scalars().all()
        if left == 0 and runs and all(status == "done" for status in runs):
            return
        await asyncio.sleep(0.2)
    raise TimeoutError("the campaign did not finish")


async def test_a_campaign_reaches_2000_residents_on_three_platforms_exactly_once(
    database_url: str,
) -> None:
    async with running_stack(database_url, zalo=True, **FAST) as stack:
        audience = await _residents(stack, {"telegram": 800, "zalo_bot": 600, "zalo_oa": 600})
        elsewhere = await _residents(stack, {"telegram": 20}, offset=5000, commune=OTHER)
        stopped = await _residents(stack, {"zalo_bot": 20}, offset=5000, subscribed=False)
        campaign_id = await _campaign(stack.runtime.db)
        await _until_done(stack)
        received = _received(stack)
        assert len(audience) == 2000
        assert {chat: received[chat] for chat in audience} == {chat: 1 for chat in audience}
        assert not any(received[chat] for chat in elsewhere + stopped)
        async with stack.runtime.db.session() as session:
            statuses = Counter((await session.execute(select(Delivery.status))).scalars().all())
            campaign = await session.get(Campaign, campaign_id)
        assert statuses == {"sent": 2000}
        assert campaign is not None and campaign.status == "done"
        # another tick changes nothing: the run is made once
        await stack.runtime.campaigns.tick()  # type: ignore[union-attr]
        assert _received(stack) == received


async def test_two_senders_on_one_database_send_each_delivery_once(database_url: str) -> None:
    """Two engines with their own connection pools (as two processes have) race for the same
    run: every delivery is sent once."""
    from bot.campaigns.engine import CampaignSender

    # batches of 100 (a second's worth at 100/s): the two engines take turns at the rows
    paced = {**FAST, "telegram_broadcast_rate": 100.0, "zalo_bot_broadcast_rate": 100.0}
    paced["zalo_oa_broadcast_rate"] = 100.0
    async with running_stack(database_url, zalo=True, **paced) as stack:
        audience = await _residents(stack, {"telegram": 400, "zalo_bot": 300, "zalo_oa": 300})
        await _campaign(stack.runtime.db)
        runtime = stack.runtime
        assert runtime.campaigns is not None
        second_db = Database(runtime.db.url)
        second = CampaignSender(
            second_db,
            runtime.channels,
            runtime.outbox.pacers,
            runtime.outbox,
            QuietHours.parse("", "Asia/Ho_Chi_Minh"),
        )
        await second.start()
        try:
            await asyncio.gather(runtime.campaigns.tick(), second.tick())
            second.wake()
            await _until_done(stack)
        finally:
            await second.stop()
            await second_db.dispose()
        received = _received(stack)
        assert {chat: received[chat] for chat in audience} == {chat: 1 for chat in audience}
        assert second.sent_count > 0 and runtime.campaigns.sent_count > 0  # both took part
        assert second.sent_count + runtime.campaigns.sent_count == 1000


async def test_blocked_residents_are_unsubscribed_and_outcomes_recorded(
    database_url: str,
) -> None:
    async with running_stack(database_url, zalo=True, **FAST) as stack:
        chats = await _residents(stack, {"telegram": 5, "zalo_oa": 3})
        stack.fake.block(int(chats[0]))
        assert stack.zalo_oa is not None
        stack.zalo_oa.set_last_interaction(chats[5], seconds_ago=30 * 86400)  # out of window
        await _campaign(stack.runtime.db)
        await _until_done(stack)
        async with stack.runtime.db.session() as session:
            # a final delivery keeps who it was for, not their chat id
            assert not any((await session.execute(select(Delivery.chat_id))).scalars())
            outcome = dict(
                (
                    await session.execute(
                        select(Resident.chat_id, Delivery.status).join(
                            Resident,
                            Resident.id == Delivery.resident_id,  # type: ignore[arg-type]
                        )
                    )
                ).all()
            )
            blocked = (
                await session.execute(select(Resident).where(Resident.chat_id == chats[0]))
            ).scalar_one()
        assert outcome[chats[0]] == "blocked" and not blocked.subscribed
        assert outcome[chats[5]] == "out_of_window"
        assert [outcome[c] for c in chats[1:5] + chats[6:]] == ["sent"] * 6


async def test_a_dead_senders_claims_are_never_sent_again(database_url: str) -> None:
    async with running_stack(database_url, zalo=True, **FAST) as stack:
        chats = await _residents(stack, {"telegram": 10})
        await _campaign(stack.runtime.db)
        async with stack.runtime.db.session() as session:
            [run_id] = await start_due(session, ["telegram"])
        # what a process killed after claiming leaves: three rows in `sending`
        async with stack.runtime.db.session() as session:
            ids = (
                (
                    await session.execute(
                        select(Delivery.id).where(Delivery.run_id == run_id).limit(3)
                    )
                )
                .scalars()
                .all()
            )
            for delivery_id in ids:
                row = await session.get(Delivery, delivery_id)
                assert row is not None
                row.status, row.lease_until = "sending", utcnow() - timedelta(seconds=1)
        async with stack.runtime.db.session() as session:
            assert await recover_interrupted(session) == 3
        await _until_done(stack)
        received = _received(stack)
        assert sum(received.values()) == 7 and all(n == 1 for n in received.values())
        async with stack.runtime.db.session() as session:
            statuses = Counter((await session.execute(select(Delivery.status))).scalars().all())
            assert await finish_runs(session) == []
        assert statuses == {"sent": 7, "interrupted": 3}
        assert set(received) <= set(chats)


def test_quiet_hours() -> None:
    quiet = QuietHours.parse("21:00-07:00", "Asia/Ho_Chi_Minh")
    evening = datetime(2026, 8, 18, 14, 30, tzinfo=UTC)  # 21:30 local
    assert quiet.quiet_until(evening) == datetime(2026, 8, 19, 0, 0, tzinfo=UTC)  # 07:00
    early = datetime(2026, 8, 18, 23, 0, tzinfo=UTC)  # 06:00 local on the 19th
    assert quiet.quiet_until(early) == datetime(2026, 8, 19, 0, 0, tzinfo=UTC)
    assert quiet.quiet_until(datetime(2026, 8, 19, 1, 0, tzinfo=UTC)) is None  # 08:00
    assert QuietHours.parse("", "Asia/Ho_Chi_Minh").quiet_until(evening) is None
    lunch = QuietHours.parse("11:30-13:30", "Asia/Ho_Chi_Minh")
    assert lunch.quiet_until(datetime(2026, 8, 19, 5, 0, tzinfo=UTC)) == datetime(
        2026, 8, 19, 6, 30, tzinfo=UTC
    )


async def test_429s_pause_the_platform_and_every_message_still_goes_once(
    database_url: str,
) -> None:
    """Our pace far above the platform's: its 429s pause the whole platform, the deliveries
    concerned wait their turn (not counted as failed attempts), and all arrive once."""
    async with running_stack(database_url, zalo=True, **FAST) as stack:
        chats = await _residents(stack, {"telegram": 60})
        stack.fake.set_limits(enforce=True, rate_per_second=20, burst=5)
        await _campaign(stack.runtime.db)
        await _until_done(stack)
        assert stack.fake.stats()["rate_limited"] > 0
        received = _received(stack)
        assert {chat: received[chat] for chat in chats} == {chat: 1 for chat in chats}
        async with stack.runtime.db.session() as session:
            statuses = Counter((await session.execute(select(Delivery.status))).scalars().all())
        assert statuses == {"sent": 60}
