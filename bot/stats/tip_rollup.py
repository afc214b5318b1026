"""Tips counted by local month of arrival (`stat_tip`): per commune by status, per commune by
category and for the province by category, so that a year of tips is read as a few thousand
rows instead of every tip.

Every change of a tip that moves a figure (arrival, first response, status, closing,
reopening, transfer, escalation) calls `record` with the tip's figures before and after, in
the change's own transaction: the rollup is never behind the tips. `rebuild_tips` recounts it
whole (`antq stats rebuild`, and at start when it is empty while tips exist). Figures that
depend on the clock (overdue) are not kept: the few unanswered tips are read live.

Only counts and sums by month, commune, category and status: nothing here names a tip.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, delete, exists, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.db import Database, dialect_of
from bot.models import StatTip, Tip

from .calendar import day_bounds, month_start, next_month
from .counters import ALL_COMMUNES

__all__ = [
    "FIGURES",
    "TipState",
    "ensure_tips",
    "grouped_tips",
    "rebuild_tips",
    "record",
]

#: The summed columns of `stat_tip`, in the order `grouped_tips` returns them.
FIGURES = (
    "tips",
    "escalated",
    "urgent",
    "responded",
    "responded_in_time",
    "response_seconds",
    "closed",
    "close_seconds",
)
_KEY = ("month", "commune_code", "category", "status")
_LOCK_ID = 0x5A7A12  # pg_advisory_xact_lock key while the tip rollup is rebuilt


@dataclass(frozen=True)
class TipState:
    """What one tip adds to `stat_tip`: its row's key and its figures."""

    month: date
    commune_code: int
    category: str
    status: str
    figures: tuple[int, ...]  # as FIGURES

    @classmethod
    def of(cls, tip: Tip, zone: ZoneInfo) -> TipState:
        answered = tip.response_seconds is not None
        in_time = (
            tip.first_response_at is not None
            and tip.first_response_due is not None
            and tip.first_response_at <= tip.first_response_due
        )
        return cls(
            month=month_start(tip.created_at.astimezone(zone).date()),
            commune_code=tip.commune_code or 0,
            category=tip.category,
            status=tip.status,
            figures=(
                1,
                int(tip.escalated_at is not None),
                int(bool(tip.urgent)),
                int(answered),
                int(in_time),
                tip.response_seconds or 0,
                int(tip.close_seconds is not None),
                tip.close_seconds or 0,
            ),
        )

    @property
    def keys(self) -> tuple[tuple[date, int, str, str], ...]:
        return tuple(
            (self.month, *key) for key in _rows_of(self.commune_code, self.category, self.status)
        )

    def without(self, figure: str) -> TipState:
        """The same tip with one figure at 0 (as it was before it was escalated, say)."""
        at = FIGURES.index(figure)
        return replace(self, figures=(*self.figures[:at], 0, *self.figures[at + 1 :]))


def _rows_of(commune: int, category: str, status: str) -> tuple[tuple[int, str, str], ...]:
    """The rows a tip counts in: its commune by status, its commune by category, and the
    province by category ("" stands for every status or category)."""
    return ((commune, "", status), (commune, category, ""), (ALL_COMMUNES, category, ""))


async def record(session: AsyncSession, before: TipState | None, after: TipState | None) -> None:
    """Move one tip's figures from `before` (None: it is new) to `after`."""
    deltas: dict[tuple[date, int, str, str], Counter[str]] = {}
    for state, sign in ((before, -1), (after, 1)):
        if state is None:
            continue
        for key in state.keys:
            counter = deltas.setdefault(key, Counter())
            for name, value in zip(FIGURES, state.figures, strict=True):
                counter[name] += sign * value
    rows = [
        {**dict(zip(_KEY, key, strict=True)), **{name: delta[name] for name in FIGURES}}
        # in key order, so two transactions lock shared rows in the same order
        for key, delta in sorted(deltas.items())
        if any(delta.values())
    ]
    if not rows:
        return
    table = StatTip.__table__  # type: ignore[attr-defined]
    dialect = postgresql if dialect_of(session) == "postgresql" else sqlite
    statement = dialect.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=list(_KEY),
        set_={name: table.c[name] + statement.excluded[name] for name in FIGURES},
    )
    await session.execute(statement, rows)


def _figures() -> list[Any]:
    """The summed figures of a group of tips, as FIGURES."""
    answered = col(Tip.response_seconds)
    in_time = and_(
        col(Tip.first_response_at).is_not(None),
        col(Tip.first_response_at) <= col(Tip.first_response_due),
    )
    return [
        func.count(),
        func.sum(case((col(Tip.escalated_at).is_not(None), 1), else_=0)),
        func.sum(case((col(Tip.urgent).is_(True), 1), else_=0)),
        func.count(answered),
        func.sum(case((in_time, 1), else_=0)),
        func.coalesce(func.sum(answered), 0),
        func.count(col(Tip.close_seconds)),
        func.coalesce(func.sum(col(Tip.close_seconds)), 0),
    ]


async def grouped_tips(
    session: AsyncSession, where: Sequence[ColumnElement[bool]]
) -> list[tuple[Any, ...]]:
    """(commune, category, status, *FIGURES) of the tips matching `where`, read from `tip`."""
    rows = await session.execute(
        select(col(Tip.commune_code), col(Tip.category), col(Tip.status), *_figures())
        .where(*where)
        .group_by(col(Tip.commune_code), col(Tip.category), col(Tip.status))
    )
    return [(commune or 0, *rest) for commune, *rest in rows]


async def rebuild_tips(session: AsyncSession, zone: ZoneInfo) -> int:
    """Recount `stat_tip` from every tip (one transaction); returns the rows written."""
    if dialect_of(session) == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
        # changes of tips made meanwhile wait for this recount, then add their own deltas
        await session.execute(text("LOCK TABLE stat_tip IN SHARE ROW EXCLUSIVE MODE"))
    # on SQLite the delete takes the write lock first: no tip changes until the commit
    await session.execute(delete(StatTip))
    span = (
        await session.execute(select(func.min(col(Tip.created_at)), func.max(col(Tip.created_at))))
    ).one()
    if span[0] is None:
        return 0
    earliest, latest = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in span)
    month = month_start(earliest.astimezone(zone).date())
    last = latest.astimezone(zone).date()
    written = 0
    table = StatTip.__table__  # type: ignore[attr-defined]
    while month <= last:
        following = next_month(month)
        rows = await grouped_tips(
            session,
            [
                col(Tip.created_at) >= day_bounds(month, zone)[0],
                col(Tip.created_at) < day_bounds(following, zone)[0],
            ],
        )
        sums: dict[tuple[int, str, str], list[int]] = {}
        for commune, category, status, *figures in rows:
            for key in _rows_of(commune, category, status):
                total = sums.setdefault(key, [0] * len(FIGURES))
                for i, value in enumerate(figures):
                    total[i] += int(value or 0)
        values = [
            {
                "month": month,
                "commune_code": commune,
                "category": category,
                "status": status,
                **dict(zip(FIGURES, figures, strict=True)),
            }
            for (commune, category, status), figures in sorted(sums.items())
        ]
        if values:
            await session.execute(insert(table), values)
            written += len(values)
        month = following
    return written


async def ensure_tips(db: Database, zone: ZoneInfo) -> bool:
    """Build the tip rollup if it is empty while there are tips (a database from before it
    existed, or restored without it); returns whether it was built."""
    async with db.session() as session:
        missing = (
            await session.execute(
                select(exists().where(col(Tip.id).is_not(None))).where(
                    ~exists().where(col(StatTip.id).is_not(None))
                )
            )
        ).scalar()
        if not missing:
            return False
        await rebuild_tips(session, zone)
    return True
