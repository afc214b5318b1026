"""The live copy of the content library: the database holds it, the files in content/ seed it.

* :func:`seed` inserts the items and hotlines of the files that the database does not have
  yet (version 1, published), keyed by item id and hotline number with ``INSERT … ON CONFLICT
  DO NOTHING``, so two instances starting at once insert each one once. It never touches a
  row that exists: an item edited in the staff panel is not overwritten by its file at the
  next start, while an item added to the files later appears.
* :func:`read` builds the :class:`~content.library.Library` residents see: the files' topics
  (those with a published item) and festival, the database's published items and hotlines,
  each checked with the same models and limits as the files.
* :class:`LiveLibrary` (one per runtime) seeds, reads and installs that library for
  ``load_library()``; it reloads when the revision counter moved, which costs one query: right
  after a change made in this process (:func:`changed`) and every ``REFRESH_SECONDS`` for
  changes made by other instances.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.db import Database, dialect_of
from bot.models import ContentHotline, ContentItem, ContentRevision, ContentVersion, utcnow
from content import answers
from content.library import (
    Hotline,
    Item,
    Library,
    hotline_problems,
    install_live,
    item_problems,
    live_library,
    load_files,
    validate,
)

__all__ = [
    "HOTLINE",
    "ITEM",
    "REFRESH_SECONDS",
    "LiveLibrary",
    "bump_revision",
    "changed",
    "current_revision",
    "dump",
    "read",
    "seed",
]

log = logging.getLogger(__name__)

#: The kinds of content in `ContentVersion.kind`.
ITEM: Final[str] = "item"
HOTLINE: Final[str] = "hotline"
#: How often every instance checks for changes made elsewhere (the panel of another process).
REFRESH_SECONDS: Final[int] = 10


def dump(entry: Item | Hotline) -> dict[str, Any]:
    """An item or hotline as the database keeps it (JSON)."""
    return entry.model_dump(mode="json")


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert if dialect_of(session) == "postgresql" else sqlite.insert


async def current_revision(session: AsyncSession) -> int:
    """The content revision: it moves with every change of the live copy."""
    found = await session.execute(
        select(col(ContentRevision.revision)).where(col(ContentRevision.id) == 1)
    )
    return found.scalar_one_or_none() or 0


async def bump_revision(session: AsyncSession) -> None:
    """Count a change, in the caller's transaction (every instance reloads on seeing it)."""
    table = ContentRevision.__table__  # type: ignore[attr-defined]
    stmt = (
        _insert(session)(table)
        .values(id=1, revision=1)
        .on_conflict_do_update(index_elements=["id"], set_={"revision": table.c.revision + 1})
    )
    await session.execute(stmt)


async def _insert_absent(
    session: AsyncSession, table: Any, key: str, rows: list[dict[str, Any]]
) -> list[str]:
    """Insert the rows whose `key` is not in `table` yet; returns the keys this call inserted
    (another instance seeding at the same moment inserts the others)."""
    have = set((await session.execute(select(table.c[key]))).scalars())
    missing = sorted((r for r in rows if r[key] not in have), key=lambda r: str(r[key]))
    if not missing:
        return []
    # sorted keys: two instances inserting the same rows wait for each other, never deadlock
    stmt = (
        _insert(session)(table).on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])
    )
    return [str(k) for k in (await session.execute(stmt, missing)).scalars()]


async def seed(session: AsyncSession, files: Library) -> list[str]:
    """Insert what the files have and the database lacks; returns what was inserted, as
    "item:<id>" and "hotline:<number>"."""
    now = utcnow()
    stamps = {
        "version": 1,
        "published": True,
        "updated_by": "",
        "created_at": now,
        "updated_at": now,
    }
    items = await _insert_absent(
        session,
        ContentItem.__table__,  # type: ignore[attr-defined]
        "id",
        [{"id": i.id, "topic": i.topic, "data": dump(i), **stamps} for i in files.items.values()],
    )
    hotlines = await _insert_absent(
        session,
        ContentHotline.__table__,  # type: ignore[attr-defined]
        "number",
        [
            {"number": h.number, "position": index, "data": dump(h), **stamps}
            for index, h in enumerate(files.hotlines, start=1)
        ],
    )
    versions = [(ITEM, key, dump(files.items[key])) for key in items]
    by_number = {h.number: h for h in files.hotlines}
    versions += [(HOTLINE, key, dump(by_number[key])) for key in hotlines]
    if versions:
        table = ContentVersion.__table__  # type: ignore[attr-defined]
        await session.execute(
            _insert(session)(table).on_conflict_do_nothing(
                index_elements=["kind", "key", "number"]
            ),
            [
                {
                    "kind": kind,
                    "key": key,
                    "number": 1,
                    "data": data,
                    "author": "",
                    "note": "",
                    "created_at": now,
                }
                for kind, key, data in versions
            ],
        )
        await bump_revision(session)
        log.info("content seeded from the files: %d items, %d hotlines", len(items), len(hotlines))
    return [f"{ITEM}:{k}" for k in items] + [f"{HOTLINE}:{k}" for k in hotlines]


def _checked_items(rows: Sequence[ContentItem], topic_ids: set[str]) -> dict[str, Item]:
    items: dict[str, Item] = {}
    for row in rows:
        item, problems = validate(Item, row.data)
        if item is not None:
            problems = item_problems(item, topic_ids)
        if item is None or problems or item.id != row.id:
            # saved through the checks, so only a topic removed from the files gets here
            log.error("content item %s is not shown: %s", row.id, problems)
            continue
        items[item.id] = item
    return items


def _checked_hotlines(rows: Sequence[ContentHotline]) -> list[Hotline]:
    hotlines = []
    for row in rows:
        hotline, problems = validate(Hotline, row.data)
        if hotline is not None:
            problems = hotline_problems(hotline)
        if hotline is None or problems or hotline.number != row.number:
            log.error("hotline %s is not shown: %s", row.number, problems)
            continue
        hotlines.append(hotline)
    return hotlines


async def read(session: AsyncSession, files: Library) -> Library:
    """The library residents see, from the database (published entries only)."""
    item_rows = (
        await session.execute(
            select(ContentItem).where(col(ContentItem.published)).order_by(col(ContentItem.id))
        )
    ).scalars()
    hotline_rows = (
        await session.execute(
            select(ContentHotline)
            .where(col(ContentHotline.published))
            .order_by(col(ContentHotline.position), col(ContentHotline.number))
        )
    ).scalars()
    items = _checked_items(list(item_rows), {t.id for t in files.topics})
    shown_topics = {item.topic for item in items.values()}
    return Library(
        topics=tuple(t for t in files.topics if t.id in shown_topics),
        items=MappingProxyType(items),
        hotlines=tuple(_checked_hotlines(list(hotline_rows))),
        festival=files.festival,
    )


class LiveLibrary:
    """The live copy one runtime serves: seeded and installed by `start`, kept current by
    `refresh`, put away by `stop`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.revision = -1
        self.library: Library | None = None

    async def start(self) -> None:
        """Seed the database from the files, read the live copy and serve it."""
        async with self.db.session() as session:
            await seed(session, load_files())
        await self.refresh()
        _registry.active = self
        install_live(self.library)
        await asyncio.to_thread(answers.prepare, self.library)

    async def refresh(self) -> bool:
        """Reload if the revision moved since the copy being served; True if it did."""
        async with self.db.session() as session:
            revision = await current_revision(session)
            if revision == self.revision and self.library is not None:
                return False
            library = await read(session, load_files())
        if revision < self.revision:  # a concurrent refresh installed a newer copy meanwhile
            return False
        self.revision, self.library = revision, library
        if _registry.active is self:
            install_live(library)
            # the residents' questions are answered from the new copy: its index is built
            # here, off the event loop, rather than by the first question that needs it
            await asyncio.to_thread(answers.prepare, library)
        log.info("content library loaded (revision %d)", revision)
        return True

    def stop(self) -> None:
        """Stop serving this copy: `load_library()` returns the files again."""
        if _registry.active is self:
            _registry.active = None
            if live_library() is self.library:
                install_live(None)


class _Registry:
    active: LiveLibrary | None = None


_registry = _Registry()


async def changed(db: Database) -> None:
    """After a change committed through `db`: this process serves it at once (other
    instances within `REFRESH_SECONDS`)."""
    active = _registry.active
    if active is not None and active.db is db:
        await active.refresh()
