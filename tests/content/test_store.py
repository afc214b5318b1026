"""The live copy of the library: seeded from the files once, read from the database, and
served by `load_library()`; other instances see a change at their next refresh."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.db import Database
from bot.models import ContentHotline, ContentItem, ContentVersion, StaffUser
from content import actions
from content.library import (
    DEFAULT_ROOT,
    Item,
    Library,
    LocalizedText,
    live_library,
    load_files,
    load_library,
)
from content.store import HOTLINE, ITEM, LiveLibrary, changed, current_revision, read, seed

ITEM_ID = "lua-dao-gia-danh-cong-an"
WEAPONS = ("giao-nop-vu-khi", "phao-no")  # every item of the "weapons" topic


async def staff(db: Database, username: str = "tuyentruyen") -> StaffUser:
    async with db.session() as session:
        user = StaffUser(username=username, role="propaganda", password_hash="x")
        session.add(user)
    return user


def edited(item: Item, body_vi: str) -> Item:
    return item.model_copy(update={"body": LocalizedText(vi=body_vi, en=item.body.en)})


async def counts(db: Database) -> tuple[int, int, int]:
    found = []
    async with db.session() as session:
        for model in (ContentItem, ContentHotline, ContentVersion):
            found.append(
                (await session.execute(select(func.count()).select_from(model))).scalar_one()
            )
    return found[0], found[1], found[2]


@pytest.fixture
async def live(db: Database) -> AsyncIterator[LiveLibrary]:
    copy = LiveLibrary(db)
    await copy.start()
    yield copy
    copy.stop()


async def test_the_files_seed_an_empty_database_once(db: Database) -> None:
    files = load_files()
    async with db.session() as session:
        inserted = await seed(session, files)
        revision = await current_revision(session)
    assert len(inserted) == len(files.items) + len(files.hotlines)
    assert await counts(db) == (len(files.items), 4, len(files.items) + 4)
    async with db.session() as session:
        assert await seed(session, files) == []  # a restart writes nothing
        assert await current_revision(session) == revision
        library = await read(session, files)
    assert dict(library.items) == dict(files.items)
    assert library.hotlines == files.hotlines
    assert library.topics == files.topics


async def test_two_instances_starting_at_once_seed_each_item_once(database_url: str) -> None:
    first, second = Database(database_url), Database(database_url)
    files = load_files()

    async def start(db: Database) -> list[str]:
        async with db.session() as session:
            return await seed(session, files)

    try:
        a, b = await asyncio.gather(start(first), start(second))
    finally:
        await first.dispose()
        await second.dispose()
    assert sorted(a + b) == sorted(
        [f"item:{i}" for i in files.items] + [f"hotline:{h.number}" for h in files.hotlines]
    )
    check = Database(database_url)
    try:
        assert await counts(check) == (len(files.items), 4, len(files.items) + 4)
    finally:
        await check.dispose()


async def test_new_files_appear_and_panel_edits_survive_a_restart(
    db: Database, tmp_path: Path
) -> None:
    older = tmp_path / "content"
    shutil.copytree(DEFAULT_ROOT, older, ignore=shutil.ignore_patterns("*.py", "locale", "_*"))
    (older / "items" / "tin-dung-den.yaml").unlink()
    async with db.session() as session:
        await seed(session, load_files(older))
    user = await staff(db)
    files = load_files()
    async with db.session() as session:
        await actions.edit_item(session, user, edited(files.item(ITEM_ID), "Nội dung mới."), "")

    # the next release adds an item; the edited item's file still has the old text
    async with db.session() as session:
        assert await seed(session, files) == ["item:tin-dung-den"]
        library = await read(session, files)
    assert library.item("tin-dung-den") == files.item("tin-dung-den")
    assert library.item(ITEM_ID).body.vi == "Nội dung mới."


async def test_load_library_serves_the_live_copy_while_a_runtime_runs(db: Database) -> None:
    files = load_files()
    copy = LiveLibrary(db)
    await copy.start()
    try:
        assert load_library() is live_library() is copy.library
        assert load_library() is not files and dict(load_library().items) == dict(files.items)
    finally:
        copy.stop()
    assert live_library() is None
    assert load_library() is files


async def test_unpublished_content_is_hidden_from_residents(
    db: Database, live: LiveLibrary
) -> None:
    user = await staff(db)
    async with db.session() as session:
        for item_id in (*WEAPONS, ITEM_ID):
            assert await actions.set_published(session, user, ITEM, item_id, False)
        assert await actions.set_published(session, user, HOTLINE, "111", False)
    await changed(db)
    library = load_library()
    assert ITEM_ID not in library.items and ITEM_ID in load_files().items
    assert "weapons" not in {t.id for t in library.topics}  # no topic without items
    assert [h.number for h in library.hotlines] == ["113", "114", "115"]

    async with db.session() as session:
        assert await actions.set_published(session, user, ITEM, ITEM_ID, True)
    await changed(db)
    assert load_library().item(ITEM_ID) == load_files().item(ITEM_ID)


async def test_an_edit_reaches_another_instance_at_its_refresh(
    database_url: str, db: Database, live: LiveLibrary
) -> None:
    assert not await live.refresh()  # nothing changed: one query, nothing reloaded
    other = Database(database_url)  # another process's panel, on the same database
    try:
        user = await staff(other)
        async with other.session() as session:
            await actions.edit_item(
                session, user, edited(load_files().item(ITEM_ID), "Bản sửa từ máy khác."), "sửa"
            )
        await changed(other)  # not this instance's database: nothing happens here
        assert load_library().item(ITEM_ID).body.vi == load_files().item(ITEM_ID).body.vi
        assert await live.refresh()  # the scheduled check
        assert load_library().item(ITEM_ID).body.vi == "Bản sửa từ máy khác."
    finally:
        await other.dispose()


async def test_a_refresh_never_goes_back_to_an_older_copy(db: Database, live: LiveLibrary) -> None:
    user = await staff(db)
    old: Library | None = live.library
    async with db.session() as session:
        await actions.set_published(session, user, ITEM, ITEM_ID, False)
    first, second = await asyncio.gather(live.refresh(), live.refresh())
    assert first or second
    assert live.library is not old and ITEM_ID not in load_library().items
