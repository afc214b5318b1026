"""The dashboard's queries on rolled-up figures and tips, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert

from bot.core.platform import Platform
from bot.db import Database
from bot.models import Event, Resident, Tip
from bot.stats.counters import ALL_COMMUNES
from bot.stats.queries import (
    CHANNELS,
    NO_COMMUNE,
    Filters,
    commune_table,
    engagement,
    popular,
    tip_figures,
)
from bot.stats.rollup import rebuild

TZ = "Asia/Ho_Chi_Minh"
DONG, QN = 21601, 21583
NOW = datetime(2026, 4, 30, 5, tzinfo=UTC)


def test_filters_buckets_and_scope() -> None:
    month = Filters(date(2026, 3, 1), date(2026, 3, 31))
    assert month.bucket() == "d" and len(month.buckets()) == 31
    half_year = Filters(date(2026, 1, 1), date(2026, 6, 30))
    assert half_year.bucket() == "w"
    assert half_year.buckets()[0] == date(2025, 12, 29)  # the Monday of 1/1's week
    years = Filters(date(2024, 1, 15), date(2026, 6, 30))
    assert years.bucket() == "m" and years.buckets()[0] == date(2024, 1, 1)
    assert len(years.buckets()) == 30
    assert Filters(date(2026, 1, 1), date(2026, 6, 30), granularity="m").bucket() == "m"
    # an officer of Quy Nhơn Đông asking for Quy Nhơn gets their own commune
    asked = Filters(date(2026, 3, 1), date(2026, 3, 31), communes=(QN,))
    assert asked.within(frozenset({DONG})).communes == (DONG,)
    assert asked.within(None).communes == (QN,)
    # nobody's commune: nothing (a code no row has, not the province's totals)
    assert asked.within(frozenset()).communes == (NO_COMMUNE,) != (ALL_COMMUNES,)


async def _world(db: Database) -> None:
    """Residents arriving in March and April, some leaving; events; tips."""
    async with db.session() as session:
        residents = []
        for i in range(30):
            arrived = datetime(2026, 3, 1, 3, tzinfo=UTC) + timedelta(days=i)
            residents.append(
                Resident(
                    channel="telegram" if i % 3 else "zalo_oa",
                    chat_id=str(i),
                    commune_code=DONG if i < 20 else QN,
                    created_at=arrived,
                    subscribed=i % 10 != 0,
                    unsubscribed_at=None if i % 10 else arrived + timedelta(days=5),
                )
            )
        session.add_all(residents)
        await session.flush()
        await session.execute(
            insert(Event.__table__),  # type: ignore[attr-defined]
            [
                {
                    "kind": "content",
                    "ref": "khi-bi-lua-dao" if n % 2 else "ma-tuy-dau-hieu",
                    "channel": r.channel,
                    "commune_code": r.commune_code,
                    "resident_id": r.id,
                    "created_at": r.created_at + timedelta(hours=1),
                }
                for n, r in enumerate(residents)
            ],
        )
        created = datetime(2026, 4, 1, 2, tzinfo=UTC)  # 09:00 local
        tips = [
            # answered after 2 hours, in time; closed after 2 days
            Tip(
                code="A1",
                pin_hash="x",
                category="drugs",
                commune_code=DONG,
                description="d",
                status="resolved",
                created_at=created,
                first_response_due=created + timedelta(hours=8),
                first_response_at=created + timedelta(hours=2),
                response_seconds=2 * 3600,
                closed_at=created + timedelta(days=2),
                close_seconds=2 * 86400,
            ),
            # never answered, past its deadline: overdue
            Tip(
                code="A2",
                pin_hash="x",
                category="theft",
                commune_code=DONG,
                description="d",
                created_at=created,
                first_response_due=created + timedelta(hours=8),
            ),
            # answered late (after 10 hours)
            Tip(
                code="A3",
                pin_hash="x",
                category="theft",
                commune_code=QN,
                description="d",
                status="accepted",
                created_at=created,
                first_response_due=created + timedelta(hours=8),
                first_response_at=created + timedelta(hours=10),
                response_seconds=10 * 3600,
            ),
            # 23:30 UTC on 31 March is 06:30 on 1 April in Vietnam
            Tip(
                code="A4",
                pin_hash="x",
                category="theft",
                commune_code=None,
                description="d",
                created_at=datetime(2026, 3, 31, 23, 30, tzinfo=UTC),
                first_response_due=NOW + timedelta(days=1),
            ),
        ]
        session.add_all(tips)
    await rebuild(db, TZ, now=NOW)


async def test_engagement_subscribers_new_left_and_active(db: Database) -> None:
    await _world(db)
    april = Filters(date(2026, 4, 1), date(2026, 4, 30), timezone=TZ)
    async with db.session() as session:
        e = await engagement(session, april)
        # before April: 31 arrived in March (1/3..30/3 = 30 residents); 3 left by 31/3
        tg = e.subscribers.lines["telegram"]
        oa = e.subscribers.lines["zalo_oa"]
        assert tg[0] + oa[0] == 30 - 3  # 0, 10, 20 arrived and left in March
        assert e.subscribers_now == {"telegram": 18, "zalo_oa": 9}
        assert e.new_residents.total("telegram") + e.new_residents.total("zalo_oa") == 0
        march = Filters(date(2026, 3, 1), date(2026, 3, 31), timezone=TZ)
        m = await engagement(session, march)
        assert m.new_residents.total("telegram") + m.new_residents.total("zalo_oa") == 30
        assert m.left.total("telegram") + m.left.total("zalo_oa") == 3
        assert sum(m.active.lines["day"]) == 30
        assert m.active.lines["month"][0] == 30  # March's figure on each of its days
        # Quy Nhơn Đông only: residents 0..19
        dong = await engagement(session, Filters(march.start, march.end, (DONG,), timezone=TZ))
        assert dong.new_residents.total("telegram") + dong.new_residents.total("zalo_oa") == 20
        top = await popular(session, march, "content")
        assert sorted(n for _ref, n in top) == [15, 15]


async def test_web_chat_residents_are_in_the_channel_series(db: Database) -> None:
    # the dashboard once listed them as "webchat", a name no row has, and lost them
    async with db.session() as session:
        session.add(
            Resident(
                channel=Platform.WEB,
                chat_id="w1",
                commune_code=DONG,
                created_at=datetime(2026, 3, 2, 3, tzinfo=UTC),
            )
        )
    await rebuild(db, TZ, now=NOW)
    march = Filters(date(2026, 3, 1), date(2026, 3, 31), timezone=TZ)
    async with db.session() as session:
        e = await engagement(session, march)
    assert Platform.WEB in CHANNELS
    assert e.new_residents.total(Platform.WEB) == 1
    assert e.subscribers.lines[Platform.WEB][-1] == 1


async def test_tip_figures_counts_times_overdue_and_local_months(db: Database) -> None:
    await _world(db)
    spring = Filters(date(2026, 3, 1), date(2026, 4, 30), timezone=TZ)
    async with db.session() as session:
        t = await tip_figures(session, spring, now=NOW)
        assert t.total == 4 and t.open == 3
        assert t.by_category == {"drugs": 1, "theft": 3}
        assert t.by_commune == {DONG: 2, QN: 1, 0: 1}
        assert t.overdue == 1 and t.overdue_by_commune[DONG] == 1
        assert t.responded == 2 and t.responded_in_time == 1
        assert t.response_hours is not None and abs(t.response_hours - 6.0) < 0.01
        assert t.close_days is not None and abs(t.close_days - 2.0) < 0.01
        assert t.by_month == {date(2026, 4, 1): 4}  # A4 is 1 April in Vietnam
        # Quy Nhơn Đông only
        dong = await tip_figures(
            session, Filters(spring.start, spring.end, (DONG,), timezone=TZ), now=NOW
        )
        assert dong.total == 2
        rows = await commune_table(session, spring, [DONG, QN], t)
        by_code = {r.code: r for r in rows}
        assert by_code[DONG].tips == 2 and by_code[DONG].overdue == 1
        assert by_code[DONG].subscribers == 18 and by_code[QN].subscribers == 9
        assert by_code[DONG].new_residents == 20 and by_code[DONG].reads == 20
        # no tip columns for someone who may not see tips
        assert all(r.tips is None for r in await commune_table(session, spring, [DONG], None))


async def test_a_viewer_with_no_commune_sees_nothing(db: Database) -> None:
    await _world(db)
    april = Filters(date(2026, 4, 1), date(2026, 4, 30), timezone=TZ).within(frozenset())
    async with db.session() as session:
        e = await engagement(session, april)
        tips = await tip_figures(session, april, now=NOW)
    assert not any(v for line in e.subscribers.lines.values() for v in line)
    assert not any(v for line in e.messages.lines.values() for v in line)
    assert sum(e.subscribers_now.values()) == 0 and tips.total == 0
