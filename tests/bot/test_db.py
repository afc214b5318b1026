"""`Database`: the reading sessions used by the statistics."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlmodel import col

from bot.db import Database
from bot.models import Resident


async def test_reading_sees_what_was_committed_and_cannot_write(db: Database) -> None:
    async with db.session() as session:
        session.add(Resident(channel="telegram", chat_id="1"))
    async with db.reading() as session:
        count = (await session.execute(select(func.count()).select_from(Resident))).scalar()
        assert count == 1
    if db.is_sqlite:  # its own connections, which refuse to write
        assert db.read_engine is not db.engine
        with pytest.raises(OperationalError, match="readonly"):
            async with db.reading() as session:
                session.add(Resident(channel="telegram", chat_id="2"))
                await session.flush()
    async with db.session() as session:
        ids = (await session.execute(select(col(Resident.chat_id)))).scalars().all()
    assert ids == ["1"]


async def test_a_long_read_does_not_hold_up_writes(db: Database) -> None:
    async with db.reading() as reader:
        await reader.execute(select(func.count()).select_from(Resident))
        # the reading transaction is still open: a write goes through beside it
        async with db.session() as session:
            session.add(Resident(channel="telegram", chat_id="3"))
        # and the reader keeps its snapshot on SQLite (WAL), or sees the commit (PostgreSQL,
        # read committed): either way it is not blocked
        await reader.execute(select(func.count()).select_from(Resident))
