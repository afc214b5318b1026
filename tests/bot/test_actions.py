"""The actions layer writes what the statistics will read, and nothing that names a sender."""

from __future__ import annotations

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from bot import actions
from bot.db import Database
from bot.models import Event, Feedback, Resident, day_start


async def _resident(db: Database) -> Resident:
    async with db.session() as session:
        resident = Resident(channel="telegram", chat_id="1", state_data={})
        session.add(resident)
    return resident


async def test_events_are_written_at_commit(db: Database) -> None:
    resident = await _resident(db)
    async with db.session() as session:
        session.add(resident)
        actions.record_event(session, resident, "content", "nd-06-2014")
        actions.set_commune(session, resident, 21583)
        actions.set_subscribed(session, resident, False)
        actions.set_subscribed(session, resident, False)  # no change, no event
    async with db.session() as session:
        events = (await session.execute(select(Event).order_by(Event.seq))).scalars().all()  # type: ignore[arg-type]
        stored = await session.get(Resident, resident.id)
    assert [(e.kind, e.ref) for e in events] == [
        ("content", "nd-06-2014"),
        ("commune", "21583"),
        ("unsubscribe", None),
    ]
    assert all(e.created_at == day_start() for e in events)  # the day, nothing finer
    assert [e.seq for e in events] == [1, 2, 3]  # the resident's own order; ids are random
    assert stored is not None and stored.subscribed is False and stored.commune_code == 21583


async def test_events_are_dropped_with_a_rolled_back_transaction(db: Database) -> None:
    resident = await _resident(db)
    try:
        async with db.session() as session:
            actions.record_event(session, resident, "content", "x")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    async with db.session() as session:
        assert (await session.execute(select(Event))).first() is None


async def test_feedback_row_has_no_sender_column(db: Database) -> None:
    resident = await _resident(db)
    async with db.session() as session:
        actions.record_feedback(session, resident, "  Góp ý\u200b về đèn đường  ")
    async with db.session() as session:
        row = (await session.execute(select(Feedback))).scalar_one()
    assert row.text == "Góp ý về đèn đường"
    columns = {c.key for c in sa_inspect(Feedback).columns}
    assert not columns & {"resident_id", "chat_id", "user_id", "name"}


async def test_database_errors_never_show_parameters(db: Database) -> None:
    from sqlalchemy.exc import IntegrityError

    secret = "nội dung tin báo bí mật"
    try:
        async with db.session() as session:
            session.add(Resident(channel="telegram", chat_id="dup", state_data={}))
            session.add(Resident(channel="telegram", chat_id="dup", state_data={"x": secret}))
    except IntegrityError as exc:
        # (PostgreSQL's own detail may name the duplicate key; the parameters never appear)
        assert secret not in str(exc) and "[parameters:" not in str(exc)
    else:  # pragma: no cover - the unique constraint must refuse the second row
        raise AssertionError("duplicate resident accepted")
