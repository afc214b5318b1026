from datetime import timedelta

from sqlalchemy import select

from bot.db import Database
from bot.housekeeping import INBOUND_RETENTION, prune
from bot.models import InboundUpdate, WebChatMessage, utcnow


async def test_prune_keeps_recent_dedup_records(db: Database) -> None:
    now = utcnow()
    async with db.session() as session:
        session.add(
            InboundUpdate(
                channel="telegram",
                update_id="old",
                received_at=now - INBOUND_RETENTION - timedelta(hours=1),
            )
        )
        session.add(
            InboundUpdate(
                channel="telegram", update_id="new", received_at=now - timedelta(hours=25)
            )
        )
        session.add(
            WebChatMessage(chat_id="w1", payload={"text": "x"}, created_at=now - timedelta(days=31))
        )
    assert await prune(db) == {
        "inbound_update": 1,
        "webchat_message": 1,
        "tip_relay": 0,
        "tip_photo_draft": 0,
        "unanswered_question": 0,
    }
    async with db.session() as session:
        left = (await session.execute(select(InboundUpdate.update_id))).scalars().all()
    assert left == ["new"]


async def test_relays_of_tips_closed_long_ago_are_deleted(db: Database) -> None:
    from bot.models import Tip, TipRelay

    now = utcnow()
    async with db.session() as session:
        for n, delete_after in enumerate((None, now + timedelta(days=1), now - timedelta(days=1))):
            tip = Tip(code=f"TG-AAAAA{n + 2}", pin_hash="x", category="other", description="d")
            session.add(tip)
            await session.flush()
            assert tip.id is not None
            session.add(TipRelay(tip_id=tip.id, sealed=b"sealed", delete_after=delete_after))
    removed = await prune(db)
    assert removed["tip_relay"] == 1
    async with db.session() as session:
        left = (await session.execute(select(TipRelay.delete_after))).scalars().all()
    assert None in left and len(left) == 2


async def test_photos_of_drafts_abandoned_for_a_day_are_deleted(db: Database) -> None:
    from bot.models import TipPhotoDraft
    from bot.tips.draft_photos import DRAFT_PHOTO_RETENTION

    now = utcnow()
    async with db.session() as session:
        for photo_id, age in (
            ("old", DRAFT_PHOTO_RETENTION + timedelta(minutes=1)),
            ("new", timedelta(hours=23)),
        ):
            session.add(
                TipPhotoDraft(
                    id=photo_id,
                    content=b"jpeg",
                    mime="image/jpeg",
                    width=1,
                    height=1,
                    created_at=now - age,
                )
            )
    assert (await prune(db))["tip_photo_draft"] == 1
    async with db.session() as session:
        left = (await session.execute(select(TipPhotoDraft.id))).scalars().all()
    assert left == ["new"]


async def test_sqlite_wal_is_emptied_so_deleted_rows_leave_no_copy(database_url: str) -> None:
    """A delivered message is deleted (and zeroed in the database file), but the -wal file
    still holds the page it was written to until a checkpoint, which a quiet instance may not
    reach for days: housekeeping checkpoints and empties it."""
    import asyncio
    from pathlib import Path

    import pytest
    from sqlalchemy import delete

    from bot.models import OutboxMessage

    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's own files")
    db = Database(database_url)
    async with db.session() as session:
        session.add(OutboxMessage(channel="telegram", chat_id="1", payload={"text": "PIN 771199"}))
    async with db.session() as session:
        await session.execute(delete(OutboxMessage))
    wal = Path(f"{db.engine.url.database}-wal")
    assert b"771199" in await asyncio.to_thread(wal.read_bytes)  # before: there it is
    await prune(db)
    assert b"771199" not in await asyncio.to_thread(wal.read_bytes)
    await db.dispose()
