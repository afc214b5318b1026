"""Writing outbox rows: each reply's id is its own, whatever the batch size and database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlmodel import col

from bot.core.outbox import insert_pending
from bot.db import Database
from bot.models import OutboxMessage


async def test_ids_match_their_rows_in_order(db: Database) -> None:
    count = 537  # several statements (SQLite takes at most 999 parameters in one)
    messages = [("telegram", str(100 + n % 7), {"text": f"tin {n}", "n": n}) for n in range(count)]
    async with db.session() as session:
        # a hole at the top of the id range, as a delivered private message leaves
        first = await insert_pending(session, messages[:3], timedelta(seconds=30))
        await session.execute(delete(OutboxMessage).where(col(OutboxMessage.id) == first[-1].id))
    async with db.session() as session:
        rows = await insert_pending(session, messages, timedelta(seconds=30), kind="broadcast")
    assert [r.payload["n"] for r in rows] == list(range(count))
    assert len({r.id for r in rows}) == count
    assert [r.id for r in rows] == sorted(r.id for r in rows)  # the chat's order is the ids'
    async with db.session() as session:
        stored = dict(
            (await session.execute(select(col(OutboxMessage.id), col(OutboxMessage.payload)))).all()
        )
    for row in rows:
        assert stored[row.id] == row.payload and row.kind == "broadcast"


async def test_any_text_survives_the_round_trip(db: Database) -> None:
    texts = [
        "Phường Quy Nhơn",
        "Phu\u031bo\u031bng",
        "🚨👮\u200d♀️",
        "\u200f\u202eabc",
        "a\x00b",
        "\\u0000",
    ]
    messages = [("zalo_bot", "c1", {"text": t, "buttons": [{"label": t}]}) for t in texts]
    async with db.session() as session:
        rows = await insert_pending(session, messages, timedelta(seconds=30))
    async with db.session() as session:
        stored = dict(
            (await session.execute(select(col(OutboxMessage.id), col(OutboxMessage.payload)))).all()
        )
    assert [stored[row.id]["text"] for row in rows] == texts
