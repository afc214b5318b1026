"""Messages in and out, counted in memory and added to the day's `stat_daily` rows every
minute (weeks and months take them up at the next rollup refresh).

Counting per message in the database would put a write on every reply's path; counting per
resident would put who wrote when next to the tips' times. These counts are per local day,
channel and commune only, and a crash loses at most the last minute of them.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.dialects import postgresql, sqlite

from bot.db import Database, dialect_of
from bot.models import StatDaily, utcnow

__all__ = ["ALL_COMMUNES", "MESSAGES_IN", "MESSAGES_OUT", "MessageCounter"]

log = logging.getLogger(__name__)

MESSAGES_IN = "messages_in"
MESSAGES_OUT = "messages_out"
#: The commune code of the province's totals in `stat_daily` (sums over every commune, 0
#: included): a page without a commune filter reads a year of them, not every commune's rows.
ALL_COMMUNES = -1


class MessageCounter:
    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)
        self._counts: Counter[tuple[date, str, str, int]] = Counter()

    def add(
        self,
        metric: str,
        channel: str,
        commune_code: int | None,
        n: int = 1,
        moment: datetime | None = None,
    ) -> None:
        if n <= 0:
            return
        day = (moment or utcnow()).astimezone(self.zone).date()
        self._counts[day, metric, channel, commune_code or 0] += n

    def pending(self) -> int:
        return sum(self._counts.values())

    async def flush(self, db: Database) -> int:
        """Add what was counted to `stat_daily`; returns the number of messages written.
        What could not be written is kept for the next flush."""
        counts, self._counts = self._counts, Counter()
        if not counts:
            return 0
        written = Counter(counts)
        for (day, metric, channel, _commune), value in counts.items():
            written[day, metric, channel, ALL_COMMUNES] += value
        rows = [
            {
                "grain": "d",
                "day": day,
                "metric": metric,
                "ref": "",
                "channel": channel,
                "commune_code": commune,
                "value": value,
            }
            # in key order: two instances adding to the same rows then lock them in the same
            # order (unordered, PostgreSQL found them deadlocked)
            for (day, metric, channel, commune), value in sorted(written.items())
        ]
        table = StatDaily.__table__  # type: ignore[attr-defined]
        try:
            async with db.session() as session:
                dialect = postgresql if dialect_of(session) == "postgresql" else sqlite
                statement = dialect.insert(table)
                statement = statement.on_conflict_do_update(
                    index_elements=["grain", "day", "metric", "ref", "channel", "commune_code"],
                    set_={"value": table.c.value + statement.excluded.value},
                )
                await session.execute(statement, rows)
        except Exception:
            self._counts.update(counts)
            raise
        return sum(counts.values())
