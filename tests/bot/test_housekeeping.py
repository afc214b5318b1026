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
    assert await prune(db) == {"inbound_update": 1, "webchat_message": 1}
    async with db.session() as session:
        left = (await session.execute(select(InboundUpdate.update_id))).scalars().all()
    assert left == ["new"]
