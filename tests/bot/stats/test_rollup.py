"""The daily figures rebuilt from events and residents, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, select
from sqlmodel import col

from bot.db import Database
from bot.models import Event, Resident, StatDaily, StatPeriod
from bot.stats.counters import ALL_COMMUNES, MessageCounter
from bot.stats.rollup import rebuild, refresh

TZ = "Asia/Ho_Chi_Minh"
# 2026-03-02 is a Monday; 17:30 UTC is 00:30 the next day in Vietnam
MONDAY = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


async def _residents(
    db: Database, n: int, commune: int = 21601, channel: str = "telegram"
) -> list[int]:
    async with db.session() as session:
        rows = [
            Resident(
                channel=channel, chat_id=f"{commune}-{i}", commune_code=commune, created_at=MONDAY
            )
            for i in range(n)
        ]
        session.add_all(rows)
        await session.flush()
        return [r.id or 0 for r in rows]


async def _events(db: Database, events: list[dict[str, object]]) -> None:
    """Insert `events`; each resident's in the order given (`seq`: ids are random)."""
    events = [{"seq": n, **event} for n, event in enumerate(events, start=1)]
    async with db.session() as session:
        await session.execute(insert(Event.__table__), events)  # type: ignore[attr-defined]


def _ev(
    resident: int, kind: str, ref: str | None, at: datetime, commune: int = 21601
) -> dict[str, object]:
    return {
        "kind": kind,
        "ref": ref,
        "channel": "telegram",
        "commune_code": commune,
        "resident_id": resident,
        "created_at": at,
    }


async def _daily(db: Database, grain: str = "d") -> dict[tuple[date, str, str, int], int]:
    async with db.session() as session:
        rows = await session.execute(select(StatDaily).where(col(StatDaily.grain) == grain))
        return {(r.day, r.metric, r.ref, r.commune_code): r.value for r in rows.scalars()}


async def test_rebuild_counts_events_actives_paths_and_local_days(db: Database) -> None:
    a, b, c = await _residents(db, 3)
    t = MONDAY
    await _events(
        db,
        [
            _ev(a, "tap", "lib", t),
            _ev(a, "topic", "scam", t + timedelta(seconds=5)),
            _ev(a, "content", "khi-bi-lua-dao", t + timedelta(seconds=9)),
            _ev(b, "tap", "lib", t + timedelta(minutes=1)),
            _ev(b, "topic", "scam", t + timedelta(minutes=2)),
            _ev(b, "hotlines", None, t + timedelta(minutes=3)),
            # 23:30 UTC Monday is Tuesday 06:30 in Vietnam
            _ev(c, "content", "khi-bi-lua-dao", datetime(2026, 3, 2, 23, 30, tzinfo=UTC)),
        ],
    )
    days = await rebuild(db, TZ, now=datetime(2026, 3, 3, 12, tzinfo=UTC))
    assert days == 2
    daily = await _daily(db)
    monday, tuesday = date(2026, 3, 2), date(2026, 3, 3)
    assert daily[monday, "content", "khi-bi-lua-dao", 21601] == 1
    assert daily[tuesday, "content", "khi-bi-lua-dao", 21601] == 1
    assert daily[monday, "tap", "lib", 21601] == 2
    assert daily[monday, "reads", "", 21601] == 1  # every item together
    assert daily[monday, "active", "", 21601] == 2
    assert daily[tuesday, "active", "", 21601] == 1
    assert daily[monday, "new_residents", "", 21601] == 3
    assert daily[monday, "path", "tap:lib → topic:scam", 21601] == 2
    assert daily[monday, "path", "topic:scam → content:khi-bi-lua-dao", 21601] == 1
    assert daily[monday, "path", "topic:scam → hotlines", 21601] == 1
    async with db.session() as session:
        periods = {
            (p.period, p.start): p.residents
            for p in (await session.execute(select(StatPeriod))).scalars()
        }
    assert periods["w", monday] == 3  # a, b on Monday and c on Tuesday: one week
    assert periods["m", date(2026, 3, 1)] == 3
    # weeks and months are the sums of their days (actives too: the days' sum, for averages)
    week, month = await _daily(db, "w"), await _daily(db, "m")
    assert week[monday, "content", "khi-bi-lua-dao", 21601] == 2
    assert month[date(2026, 3, 1), "active", "", 21601] == 3
    assert month[date(2026, 3, 1), "path", "tap:lib → topic:scam", 21601] == 2
    # the province's totals (commune ALL_COMMUNES) are the sums of every commune's rows
    for grain in ("d", "w", "m"):
        rows = await _daily(db, grain)
        sums: dict[tuple[date, str, str], int] = {}
        for (day, metric, ref, commune), value in rows.items():
            if commune != ALL_COMMUNES:
                sums[day, metric, ref] = sums.get((day, metric, ref), 0) + value
        totals = {k[:3]: v for k, v in rows.items() if k[3] == ALL_COMMUNES}
        assert totals == sums, grain
    # idempotent: a second rebuild gives the same rows
    await rebuild(db, TZ, now=datetime(2026, 3, 3, 12, tzinfo=UTC))
    assert await _daily(db) == daily


async def test_refresh_keeps_counted_messages_and_counts_add_up(db: Database) -> None:
    [a] = await _residents(db, 1)
    counter = MessageCounter(TZ)
    counter.add("messages_in", "telegram", 21601, 3, moment=MONDAY)
    counter.add("messages_out", "telegram", None, 5, moment=MONDAY)
    assert await counter.flush(db) == 8
    counter.add("messages_in", "telegram", 21601, 2, moment=MONDAY)
    assert await counter.flush(db) == 2
    assert await counter.flush(db) == 0
    await _events(db, [_ev(a, "hotlines", None, MONDAY)])
    await refresh(db, TZ, now=MONDAY)
    await refresh(db, TZ, now=MONDAY)
    daily = await _daily(db)
    monday = date(2026, 3, 2)
    assert daily[monday, "messages_in", "", 21601] == 5
    assert daily[monday, "messages_out", "", 0] == 5
    assert daily[monday, "hotlines", "", 21601] == 1
    # the province's totals: counted messages as they are flushed, the rest by the rollup
    assert daily[monday, "messages_in", "", ALL_COMMUNES] == 5
    assert daily[monday, "messages_out", "", ALL_COMMUNES] == 5
    assert daily[monday, "hotlines", "", ALL_COMMUNES] == 1
    month = await _daily(db, "m")
    assert month[date(2026, 3, 1), "messages_in", "", ALL_COMMUNES] == 5


async def test_unsubscribed_residents_are_counted_on_the_day_they_left(db: Database) -> None:
    ids = await _residents(db, 4)
    async with db.session() as session:
        for resident in (
            await session.execute(select(Resident).where(col(Resident.id).in_(ids[:2])))
        ).scalars():
            resident.subscribed = False
            resident.unsubscribed_at = MONDAY + timedelta(days=1)
    await rebuild(db, TZ, now=MONDAY + timedelta(days=2))
    daily = await _daily(db)
    assert daily[date(2026, 3, 3), "left", "", 21601] == 2
    assert daily[date(2026, 3, 2), "new_residents", "", 21601] == 4


async def test_nothing_to_rebuild(db: Database) -> None:
    assert await rebuild(db, TZ) == 0
