"""Periodic clean-up, woken by APScheduler: old dedup records, unread web-chat messages, the
sealed way back to tipsters of tips closed long enough ago, the photos of tip drafts nobody
sent, and residents' unanswered questions older than 30 days.

Telegram redelivers an update for at most a day and may reuse update ids after a week of
silence, so dedup records are kept for 3 days: long enough to catch every redelivery, short
enough never to swallow a reused id.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import CursorResult, delete
from sqlmodel import col

from bot.db import BUSY_TIMEOUT_MS, Database
from bot.models import InboundUpdate, TipRelay, WebChatMessage, utcnow
from bot.tips.draft_photos import prune_abandoned
from content import unanswered

__all__ = ["INBOUND_RETENTION", "WEBCHAT_RETENTION", "prune", "start_scheduler"]

log = logging.getLogger(__name__)
INBOUND_RETENTION = timedelta(days=3)
#: Web-chat messages no page confirmed having (confirmed ones go at once): a closed page's
#: replies, codes and PINs included, must not wait in the database for anyone.
WEBCHAT_RETENTION = timedelta(minutes=10)
#: How often housekeeping runs (web-chat messages are gone within retention + this).
PRUNE_EVERY = timedelta(minutes=2)
#: How long the -wal checkpoint may wait for readers before giving up until the next run.
CHECKPOINT_WAIT_MS = 200


async def prune(db: Database, now: datetime | None = None) -> dict[str, int]:
    """Delete records past their retention (as of `now`); returns how many of each went."""
    now = now or utcnow()
    async with db.session() as session:
        inbound = await session.execute(
            delete(InboundUpdate).where(col(InboundUpdate.received_at) < now - INBOUND_RETENTION)
        )
        webchat = await session.execute(
            delete(WebChatMessage).where(col(WebChatMessage.created_at) < now - WEBCHAT_RETENTION)
        )
        # the way back to a tipster, once its tip has been closed long enough
        relays = await session.execute(
            delete(TipRelay).where(
                col(TipRelay.delete_after).is_not(None), col(TipRelay.delete_after) < now
            )
        )
        draft_photos = await prune_abandoned(session, now)
        questions = await unanswered.prune(session, now)
    if db.is_sqlite:
        # SQLite's -wal file keeps every page written since the last checkpoint, deleted rows
        # included, and a quiet instance may not reach the automatic one (1,000 pages) for
        # days: fold it into the database (where deleted rows are zeroed) and empty it.
        # Briefly: a TRUNCATE checkpoint holds writers while it waits for readers (a long
        # statistics read), and residents' replies must not wait; the next run tries again.
        async with db.engine.connect() as connection:
            await connection.exec_driver_sql(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
            try:
                await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                await connection.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    assert isinstance(inbound, CursorResult) and isinstance(webchat, CursorResult)
    assert isinstance(relays, CursorResult)
    removed = {
        "inbound_update": inbound.rowcount,
        "webchat_message": webchat.rowcount,
        "tip_relay": relays.rowcount,
        "tip_photo_draft": draft_photos,
        "unanswered_question": questions,
    }
    if any(removed.values()):
        log.info("housekeeping removed %s", removed)
    return removed


def start_scheduler(db: Database) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        prune,
        "interval",
        seconds=PRUNE_EVERY.total_seconds(),
        args=[db],
        id="prune",
        coalesce=True,
        max_instances=1,
        next_run_time=utcnow() + timedelta(minutes=1),
    )
    scheduler.start()
    return scheduler
