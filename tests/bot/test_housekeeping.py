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
