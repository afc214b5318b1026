"""Fetching and cleaning the photos residents attach to a tip, before the update's transaction.

Why before, and not inside the handler: the core handles the updates that arrive together in
one transaction (group commit, bot/core/dispatch.py). A download there would hold the row
locks of every resident in the batch (and SQLite's only writer) for as long as Telegram's or
Zalo's file server takes to answer. So `PhotoPrefetch` runs in `Core.handle`, before the
update joins a batch, and hands the result to the handler on the `Inbound`:

1. Only photos and files are looked at, and only from a resident whose conversation is at the
   tip's photo step: one short read of that resident's state (its own transaction, no lock).
   A photo sent anywhere else is never downloaded. A redelivered update is not fetched again.
2. What the platform says is checked first: a declared size over the limit (Telegram's
   ``file_size`` in the update, then from getFile) or a document that is not an image is
   refused without downloading anything.
3. The download is streamed and cut off once it passes the byte limit, whatever the
   platform announced (bot/core/download.py).
4. `clean_image` decodes and re-encodes it in a worker thread (at most `MAX_CONCURRENT` at
   once, bounding memory); it refuses decompression bombs from the header alone.

If the conversation moved on meanwhile (two updates racing), the handler ignores the photo.
A crash before the commit only means the platform redelivers and the photo is fetched again.
The raw bytes never reach the database or a log line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Final

from sqlalchemy import select
from sqlmodel import col

from bot.core.channel import DownloadError, DownloadTooLarge, PhotoSource
from bot.core.residents import Sealer, open_state
from bot.core.types import FetchedPhoto, Inbound
from bot.db import Database
from bot.models import InboundUpdate, Resident
from bot.tips.photos import MAX_BYTES, MAX_PIXELS, ImageRejected, clean_image

__all__ = ["MAX_CONCURRENT", "PhotoPrefetch"]

log = logging.getLogger(__name__)

#: Photos downloaded and decoded at the same time (each may take tens of MB while decoding).
MAX_CONCURRENT: Final = 2


class PhotoPrefetch:
    """`Core`'s `prepare` step: attaches a `FetchedPhoto` to photos sent at `state`."""

    def __init__(
        self,
        db: Database,
        sources: Mapping[str, PhotoSource],
        state: str,
        *,
        sealer: Sealer | None = None,
        max_bytes: int = MAX_BYTES,
        max_pixels: int = MAX_PIXELS,
    ) -> None:
        self.db, self.sources, self.state, self.sealer = db, sources, state, sealer
        self.max_bytes, self.max_pixels = max_bytes, max_pixels
        self._slots = asyncio.Semaphore(MAX_CONCURRENT)

    async def __call__(self, inbound: Inbound) -> Inbound:
        if inbound.kind not in ("photo", "file") or not inbound.photo_ids:
            return inbound
        source = self.sources.get(inbound.channel)
        if source is None or not await self._wanted(inbound):
            return inbound
        try:
            async with self._slots:
                fetched = await self._fetch(source, inbound)
        except Exception:  # a bug here must not cost the update: the resident is asked again
            log.exception("fetching a photo on %s failed", inbound.channel)
            fetched = FetchedPhoto(problem="download_failed")
        return replace(inbound, fetched=fetched)

    async def _wanted(self, inbound: Inbound) -> bool:
        """True when the sender is at the photo step and this update was not handled yet."""
        async with self.db.session() as session:
            stored = (
                await session.execute(
                    select(col(Resident.state), col(Resident.state_data)).where(
                        col(Resident.channel) == inbound.channel,
                        col(Resident.chat_id) == inbound.chat_id,
                    )
                )
            ).one_or_none()
            if stored is None or open_state(stored[0], stored[1], self.sealer)[0] != self.state:
                return False
            seen = await session.execute(
                select(col(InboundUpdate.id)).where(
                    col(InboundUpdate.channel) == inbound.channel,
                    col(InboundUpdate.update_id) == inbound.update_id,
                )
            )
            return seen.first() is None

    async def _fetch(self, source: PhotoSource, inbound: Inbound) -> FetchedPhoto:
        if inbound.file_mime and not inbound.file_mime.lower().startswith("image/"):
            return FetchedPhoto(problem="not_a_picture")
        if inbound.file_size is not None and inbound.file_size > self.max_bytes:
            return FetchedPhoto(problem="too_large")
        try:
            data = await source.download(inbound.photo_ids[0], self.max_bytes)
        except DownloadTooLarge:
            return FetchedPhoto(problem="too_large")
        except DownloadError as exc:
            log.warning("photo download on %s failed: %s", inbound.channel, exc)
            return FetchedPhoto(problem="download_failed")
        try:
            clean = await asyncio.to_thread(
                clean_image, data, max_bytes=self.max_bytes, max_pixels=self.max_pixels
            )
        except ImageRejected as exc:
            log.info("photo on %s refused: %s", inbound.channel, exc.reason)
            return FetchedPhoto(problem=exc.reason)
        return FetchedPhoto(content=clean.content, width=clean.width, height=clean.height)
