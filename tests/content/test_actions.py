"""Changes to the live content: every save a new full version, restores too; publishing;
refusals that change nothing; an audit entry and a new revision with every change."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlmodel import col

from bot.db import Database
from bot.models import AuditEntry, ContentHotline, ContentItem, StaffUser
from content import actions
from content.actions import ContentError
from content.library import Hotline, Item, LocalizedText, load_files
from content.store import HOTLINE, ITEM, current_revision, seed

ITEM_ID = "khi-bi-lua-dao"


@pytest.fixture
async def user(db: Database) -> AsyncIterator[StaffUser]:
    async with db.session() as session:
        await seed(session, load_files())
        account = StaffUser(username="tuyentruyen", role="propaganda", password_hash="x")
        session.add(account)
    yield account


def new_item(**change: object) -> Item:
    data: dict[str, object] = {
        "id": "lua-dao-ve-may-bay",
        "topic": "fraud",
        "order": 90,
        "title": {"vi": "Lừa đảo bán vé máy bay", "en": "Fake plane tickets"},
        "summary": {"vi": "Chỉ mua vé ở đại lý chính thức.", "en": "Buy from real agents."},
        "body": {"vi": "Không chuyển khoản trước cho người lạ.", "en": "Never pay strangers."},
        **change,
    }
    return Item.model_validate(data)


async def audit_actions(db: Database) -> list[tuple[str, str]]:
    async with db.session() as session:
        rows = await session.execute(
            select(col(AuditEntry.action), col(AuditEntry.detail)).order_by(col(AuditEntry.id))
        )
        return [(a, d) for a, d in rows.all()]


async def revision(db: Database) -> int:
    async with db.session() as session:
        return await current_revision(session)


async def test_create_edit_restore_keep_every_version(db: Database, user: StaffUser) -> None:
    start = await revision(db)
    async with db.session() as session:
        created = await actions.create_item(session, user, new_item(), "bài mới")
    assert (created.version, created.published) == (
        1,
        False,
    )  # nobody sees it before it is published
    async with db.session() as session:
        changed = new_item(title={"vi": "Cảnh giác vé máy bay giá rẻ", "en": "Cheap tickets"})
        await actions.edit_item(session, user, changed, "đổi tiêu đề", base_version=1)
    async with db.session() as session:
        row = await actions.restore(session, user, ITEM, "lua-dao-ve-may-bay", 1, "quay lại")
        history = await actions.versions(session, ITEM, "lua-dao-ve-may-bay")
    assert isinstance(row, ContentItem)
    assert row.version == 3 and row.data == history[0].data == history[2].data
    assert [(v.number, v.author, v.note, v.restored_from) for v in history] == [
        (3, "tuyentruyen", "quay lại", 1),
        (2, "tuyentruyen", "đổi tiêu đề", None),
        (1, "tuyentruyen", "bài mới", None),
    ]
    assert history[1].data["title"]["vi"] == "Cảnh giác vé máy bay giá rẻ"
    assert await audit_actions(db) == [
        ("content_create", "item lua-dao-ve-may-bay v1: bài mới"),
        ("content_edit", "item lua-dao-ve-may-bay v2: đổi tiêu đề"),
        ("content_restore", "item lua-dao-ve-may-bay v3 (from v1): quay lại"),
    ]
    assert await revision(db) == start + 3


async def test_publishing_twice_writes_once(db: Database, user: StaffUser) -> None:
    async with db.session() as session:
        assert await actions.set_published(session, user, ITEM, ITEM_ID, False)
        assert not await actions.set_published(session, user, ITEM, ITEM_ID, False)
        assert await actions.set_published(session, user, HOTLINE, "113", False)
        assert await actions.set_published(session, user, HOTLINE, "113", True)
    assert [a for a, _ in await audit_actions(db)] == [
        "content_unpublish",
        "content_unpublish",
        "content_publish",
    ]


async def test_a_stale_form_does_not_overwrite_a_newer_version(
    db: Database, user: StaffUser
) -> None:
    item = load_files().item(ITEM_ID)
    mine = item.model_copy(update={"order": 1})
    async with db.session() as session:
        await actions.edit_item(session, user, item.model_copy(update={"order": 2}), "", 1)
    with pytest.raises(ContentError) as refused:
        async with db.session() as session:
            await actions.edit_item(session, user, mine, "", base_version=1)
    [problem] = refused.value.problems
    assert (problem.code, problem.params) == ("conflict", {"version": 2})


@pytest.mark.parametrize(
    ("entry", "field", "code"),
    [
        (new_item(body={"vi": "ơ" * 1501, "en": "x"}), "body.vi", "too_long"),
        (new_item(topic="weather"), "topic", "unknown_topic"),
        (new_item(id=ITEM_ID), "id", "exists"),
        (
            Hotline.model_validate(
                {"number": "113", "title": {"vi": "a", "en": "b"}, "note": {"vi": "c", "en": "d"}}
            ),
            "number",
            "exists",
        ),
        (
            Hotline.model_validate(
                {
                    "number": "119",
                    "title": {"vi": "a", "en": "b"},
                    "note": {"vi": "c" * 301, "en": "d"},
                }
            ),
            "note.vi",
            "too_long",
        ),
    ],
)
async def test_refused_changes_change_nothing(
    db: Database, user: StaffUser, entry: Item | Hotline, field: str, code: str
) -> None:
    before = await revision(db)
    with pytest.raises(ContentError) as refused:
        async with db.session() as session:
            if isinstance(entry, Item):
                await actions.create_item(session, user, entry, "")
            else:
                await actions.create_hotline(session, user, entry, 9, "")
    assert (refused.value.problems[0].field, refused.value.problems[0].code) == (field, code)
    assert await audit_actions(db) == []
    assert await revision(db) == before


async def test_a_new_hotline_and_its_place(db: Database, user: StaffUser) -> None:
    hotline = Hotline.model_validate(
        {
            "number": "1900",
            "title": {"vi": "Tổng đài thử", "en": "Test line"},
            "note": {"vi": "Chỉ để thử.", "en": "For testing."},
        }
    )
    async with db.session() as session:
        await actions.create_hotline(session, user, hotline, 0, "")
        title = LocalizedText(vi="Tổng đài mới", en="New line")
        await actions.edit_hotline(
            session, user, hotline.model_copy(update={"title": title}), 7, "", 1
        )
        row = await session.get(ContentHotline, "1900")
    assert row is not None and (row.version, row.position, row.published) == (2, 7, False)
    assert row.data["title"] == {"vi": "Tổng đài mới", "en": "New line"}


async def test_restoring_an_unknown_version_is_refused(db: Database, user: StaffUser) -> None:
    with pytest.raises(ContentError) as refused:
        async with db.session() as session:
            await actions.restore(session, user, ITEM, ITEM_ID, 7)
    assert refused.value.problems[0].code == "unknown_version"


async def test_an_edit_without_example_questions_keeps_the_saved_ones(
    db: Database, user: StaffUser
) -> None:
    """The panel's form does not show the example questions yet: saving it loses none."""
    async with db.session() as session:
        row = await actions.get_row(session, ITEM, ITEM_ID)
        assert isinstance(row, ContentItem)
        saved = row.data["questions"]
        assert saved["vi"]
        edited = Item.model_validate({**row.data, "order": 61, "questions": None})
        await actions.edit_item(session, user, edited, "", base_version=row.version)
    async with db.session() as session:
        row = await actions.get_row(session, ITEM, ITEM_ID)
        assert isinstance(row, ContentItem)
        assert (row.data["order"], row.data["questions"]) == (61, saved)
