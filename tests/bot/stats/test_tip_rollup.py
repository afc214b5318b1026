"""The tip rollup (`stat_tip`): kept exact by every change of a tip, and the tip figures read
from it (whole months) and from the tips (the days around them) equal a count of the tips
themselves, for any range and commune filter; on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from sqlalchemy import select, update
from sqlmodel import col

from bot.db import Database
from bot.models import StatTip, Tip
from bot.settings import Settings
from bot.stats.queries import Filters, TipFigures, tip_figures
from bot.stats.tip_rollup import ensure_tips, rebuild_tips
from bot.tips import workflow
from bot.tips.relay import generate_key
from bot.tips.states import CATEGORIES, CLOSED, STATUSES
from tests.admin.panel import QN, QN_DONG, file_tip

TZ = "Asia/Ho_Chi_Minh"
ZONE = ZoneInfo(TZ)
NOW = datetime(2026, 5, 20, 4, tzinfo=UTC)
COMMUNES = (QN_DONG, QN, None)


def _settings(db: Database) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db.url,
        timezone=TZ,
        tip_relay_keys=SecretStr(generate_key()),
    )


async def _rollup(db: Database) -> dict[tuple[date, int, str, str], tuple[int, ...]]:
    """Every non-zero row of `stat_tip`."""
    async with db.session() as session:
        rows = (await session.execute(select(StatTip))).scalars().all()
    out = {}
    for r in rows:
        figures = (
            r.tips,
            r.escalated,
            r.urgent,
            r.responded,
            r.responded_in_time,
            r.response_seconds,
            r.closed,
            r.close_seconds,
        )
        if any(figures):
            out[r.month, r.commune_code, r.category, r.status] = figures
    return out


async def _recounted(db: Database) -> dict[tuple[date, int, str, str], tuple[int, ...]]:
    async with db.session() as session:
        await rebuild_tips(session, ZONE)
    return await _rollup(db)


async def test_every_change_of_a_tip_keeps_the_rollup_exact(db: Database) -> None:
    settings = _settings(db)
    first = await file_tip(db, settings, category="drugs", commune_code=QN_DONG)
    second = await file_tip(db, settings, category="theft", commune_code=None, urgent=True)
    assert await _rollup(db) == await _recounted(db)
    assert sum(v[0] for k, v in (await _rollup(db)).items() if k[2] == "") == 2

    async def step(tip_id: int | None, change: str) -> None:
        async with db.session() as session:
            tip = await session.get(Tip, tip_id)
            assert tip is not None
            if change == "accept":
                await workflow.set_status(session, tip, "accepted", "", workflow.SYSTEM, settings)
            elif change == "transfer":
                await workflow.transfer(session, tip, QN, "Sai địa bàn", workflow.SYSTEM, settings)
            elif change == "close":
                await workflow.set_status(
                    session, tip, "resolved", "Đã xử lý.", workflow.SYSTEM, settings
                )
            elif change == "reopen":
                await workflow.set_status(session, tip, "verifying", "", workflow.SYSTEM, settings)
        kept = await _rollup(db)
        assert kept == await _recounted(db), change

    await step(first.id, "accept")
    await step(first.id, "transfer")
    await step(first.id, "close")
    await step(first.id, "reopen")
    await step(second.id, "transfer")
    # the second one is overdue: escalation moves its figures too
    async with db.session() as session:
        await session.execute(
            update(Tip)
            .where(col(Tip.id) == second.id)
            .values(first_response_due=datetime.now(UTC) - timedelta(minutes=5))
        )
    async with db.session() as session:
        escalated = await workflow.escalate_overdue(session, settings)
    assert [t.id for t in escalated] == [second.id]
    kept = await _rollup(db)
    assert kept == await _recounted(db)
    assert sum(v[1] for k, v in kept.items() if k[2] == "") == 1
    # the province's rows by category add up to the communes'
    province = {k[2]: v[0] for k, v in kept.items() if k[1] == -1}
    assert province == {"drugs": 1, "theft": 1}


async def test_ensure_builds_a_missing_rollup_once(db: Database) -> None:
    settings = _settings(db)
    await file_tip(db, settings)
    kept = await _rollup(db)
    async with db.session() as session:
        await session.execute(StatTip.__table__.delete())  # type: ignore[attr-defined]
    assert await ensure_tips(db, ZONE) is True
    assert await _rollup(db) == kept
    assert await ensure_tips(db, ZONE) is False


def _reference(tips: list[Tip], f: Filters, now: datetime) -> TipFigures:
    """The figures counted tip by tip, in Python."""
    first, last = f.utc_range()
    out = TipFigures()
    response: dict[int, list[int]] = {}
    response_sum = close_sum = 0
    for t in tips:
        code = t.commune_code or 0
        if not first <= t.created_at < last:
            continue
        if f.communes and t.commune_code not in f.communes:
            continue
        out.total += 1
        out.by_commune[code] = out.by_commune.get(code, 0) + 1
        out.by_category[t.category] = out.by_category.get(t.category, 0) + 1
        out.by_status[t.status] = out.by_status.get(t.status, 0) + 1
        out.overdue_by_commune.setdefault(code, 0)
        if t.status not in CLOSED:
            out.open += 1
            out.open_by_commune[code] = out.open_by_commune.get(code, 0) + 1
            if t.first_response_at is None and t.first_response_due < now:  # type: ignore[operator]
                out.overdue += 1
                out.overdue_by_commune[code] += 1
        out.escalated += t.escalated_at is not None
        out.urgent += t.urgent
        if t.response_seconds is not None:
            out.responded += 1
            response_sum += t.response_seconds
            pair = response.setdefault(code, [0, 0])
            pair[0] += t.response_seconds
            pair[1] += 1
            assert t.first_response_at is not None and t.first_response_due is not None
            out.responded_in_time += t.first_response_at <= t.first_response_due
        if t.close_seconds is not None:
            out.closed += 1
            close_sum += t.close_seconds
    if out.responded:
        out.response_hours = response_sum / out.responded / 3600
    if out.closed:
        out.close_days = close_sum / out.closed / 86400
    out.response_by_commune = {c: s / n / 3600 for c, (s, n) in response.items()}
    return out


async def test_figures_from_the_rollup_and_the_edges_equal_a_count_of_the_tips(
    db: Database,
) -> None:
    rng = random.Random(52)
    tips = []
    start = datetime(2026, 1, 31, 16, tzinfo=UTC)  # 23:00 local on 31 January
    for n in range(400):
        created = start + timedelta(minutes=rng.randrange(0, 110 * 24 * 60))
        due = created + timedelta(hours=rng.choice((4, 8, 24)))
        answered = None if rng.random() < 0.2 else created + timedelta(hours=rng.uniform(0, 30))
        status = "new" if answered is None else rng.choice(STATUSES[1:])
        closed = created + timedelta(days=rng.uniform(1, 9)) if status in CLOSED else None
        tips.append(
            Tip(
                code=f"R{n:05d}",
                pin_hash="x",
                category=rng.choice(CATEGORIES),
                commune_code=rng.choice(COMMUNES),
                description="d",
                status=status,
                urgent=rng.random() < 0.1,
                created_at=created,
                first_response_due=due,
                first_response_at=answered,
                response_seconds=int((answered - created).total_seconds()) if answered else None,
                closed_at=closed,
                close_seconds=int((closed - created).total_seconds()) if closed else None,
                escalated_at=due if answered is None or answered > due else None,
            )
        )
    async with db.session() as session:
        session.add_all(tips)
    async with db.session() as session:
        await rebuild_tips(session, ZONE)
    ranges = [
        (date(2026, 2, 1), date(2026, 2, 28)),  # one whole month
        (date(2026, 2, 1), date(2026, 4, 30)),  # whole months only
        (date(2026, 2, 10), date(2026, 5, 3)),  # edges on both sides
        (date(2026, 1, 31), date(2026, 5, 20)),  # the first tip's day, up to today
        (date(2026, 3, 5), date(2026, 3, 25)),  # inside one month: tips only
        (date(2026, 3, 31), date(2026, 4, 1)),  # two days across a month
    ]
    for first_day, last_day in ranges:
        for communes in ((), (QN_DONG,), (QN, QN_DONG)):
            f = Filters(first_day, last_day, communes=communes, timezone=TZ)
            async with db.session() as session:
                got = await tip_figures(session, f, now=NOW, months=False)
            want = _reference(tips, f, NOW)
            where = (first_day, last_day, communes)
            for name in (
                "total",
                "open",
                "overdue",
                "escalated",
                "urgent",
                "by_commune",
                "by_category",
                "by_status",
                "responded",
                "responded_in_time",
                "closed",
                "open_by_commune",
                "overdue_by_commune",
            ):
                assert getattr(got, name) == getattr(want, name), (name, where)
            for name in ("response_hours", "close_days"):
                a, b = getattr(got, name), getattr(want, name)
                assert (a is None) == (b is None) and abs((a or 0) - (b or 0)) < 1e-6, name
            assert got.response_by_commune.keys() == want.response_by_commune.keys()
            assert got.total > 0, where
