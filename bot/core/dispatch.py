"""The conversation core: one inbound update -> one transaction -> replies in the outbox.

The update is recorded (deduplicated by channel + update id) in the same transaction as its
effects and its outbox rows, and the transaction commits before the webhook answers. A crash
before the commit makes the platform redeliver; a redelivery after it is recognised and dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.context import Context
from bot.core.outbox import Outbox
from bot.core.render import choices_of, render, resolve_choice
from bot.core.text import normalise
from bot.core.types import Capabilities, Inbound
from bot.db import Database, dialect_of
from bot.models import InboundUpdate, OutboxMessage, Resident, utcnow
from bot.settings import Settings

__all__ = ["Core", "Handler", "apology"]

log = logging.getLogger(__name__)

Handler = Callable[[Context], Awaitable[None]]

#: How long the process that wrote an outbox row has to send it before others may.
SEND_LEASE = timedelta(seconds=30)
MAX_TEXT_CHARS = 4000


def apology(ctx: Context) -> str:
    """The text shown when handling an update failed."""
    return ctx._(
        "Sorry, something went wrong on our side. Please try again; in an emergency call 113."
    )


def _apologise(ctx: Context) -> None:
    ctx.clear_state()
    ctx.reply(apology(ctx))


class Core:
    """Runs handlers for inbound updates and hands their replies to the outbox."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        handler: Handler,
        outbox: Outbox,
        capabilities: dict[str, Capabilities],
        on_error: Callable[[Context], None] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.handler = handler
        self.outbox = outbox
        self.capabilities = capabilities
        #: What the resident is told when a handler fails (it must not fail itself).
        self.on_error = on_error or _apologise

    async def handle(self, inbound: Inbound) -> bool:
        """Handle one update. Returns False when it was a duplicate (already handled)."""
        caps = self.capabilities[inbound.channel]
        async with self.db.session() as session:
            if not await self._record_once(session, inbound):
                log.info("duplicate update %s/%s ignored", inbound.channel, inbound.update_id)
                return False
            resident = await self._resident(session, inbound)
            ctx = self._context(session, resident, inbound, caps)
            try:
                async with session.begin_nested():
                    await self.handler(ctx)
            except Exception:
                # A bug must not turn into silence or an endless redelivery: undo the
                # handler's writes, keep the update recorded, and say sorry.
                log.exception("handler failed on %s update %s", inbound.channel, inbound.update_id)
                await session.refresh(resident)
                ctx = self._context(session, resident, inbound, caps)
                self.on_error(ctx)
            rows = self._outbox_rows(ctx, caps)
            session.add_all(rows)
            await session.flush()
        self.outbox.send_soon(rows)
        return True

    async def _record_once(self, session: AsyncSession, inbound: Inbound) -> bool:
        insert = postgresql.insert if dialect_of(session) == "postgresql" else sqlite.insert
        stmt = (
            insert(InboundUpdate)
            .values(channel=inbound.channel, update_id=inbound.update_id, received_at=utcnow())
            .on_conflict_do_nothing(index_elements=["channel", "update_id"])
            .returning(col(InboundUpdate.id))
        )
        return (await session.execute(stmt)).first() is not None

    async def _resident(self, session: AsyncSession, inbound: Inbound) -> Resident:
        stmt = select(Resident).where(
            col(Resident.channel) == inbound.channel,
            col(Resident.chat_id) == inbound.chat_id,
        )
        if dialect_of(session) == "postgresql":
            # Serialises one chat's updates across processes: state is read-modify-write.
            stmt = stmt.with_for_update()
        resident = (await session.execute(stmt)).scalar_one_or_none()
        now = utcnow()
        if resident is None:
            insert = postgresql.insert if dialect_of(session) == "postgresql" else sqlite.insert
            language = self.settings.default_language
            await session.execute(
                insert(Resident)
                .values(
                    channel=inbound.channel,
                    chat_id=inbound.chat_id,
                    language=language,
                    subscribed=True,
                    onboarded=False,
                    state="",
                    state_data={},
                    created_at=now,
                    last_seen_at=now,
                )
                .on_conflict_do_nothing(index_elements=["channel", "chat_id"])
            )
            resident = (await session.execute(stmt)).scalar_one()
        resident.last_seen_at = now
        return resident

    def _context(
        self, session: AsyncSession, resident: Resident, inbound: Inbound, caps: Capabilities
    ) -> Context:
        text = normalise(inbound.text)[:MAX_TEXT_CHARS]
        payload = inbound.payload
        if not payload and text and inbound.kind == "text":
            payload = resolve_choice(text, resident.state_data.get("_choices", [])) or ""
        return Context(
            inbound=inbound,
            resident=resident,
            session=session,
            settings=self.settings,
            caps=caps,
            payload=payload,
            text=text,
        )

    def _outbox_rows(self, ctx: Context, caps: Capabilities) -> list[OutboxMessage]:
        resident = ctx.resident
        # Remember what the numbers mean, so "2" picks the second choice on any channel.
        data = dict(resident.state_data)
        choices = choices_of(ctx.replies)
        if choices:
            data["_choices"] = choices
        else:
            data.pop("_choices", None)
        resident.state_data = data
        lease = utcnow() + SEND_LEASE
        rows: list[OutboxMessage] = []
        for reply in ctx.replies:
            for message in render(reply, caps):
                rows.append(
                    OutboxMessage(
                        channel=resident.channel,
                        chat_id=resident.chat_id,
                        kind="reply",
                        payload=message.to_json(),
                        lease_until=lease,
                    )
                )
        return rows
