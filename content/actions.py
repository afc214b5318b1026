"""Changes to the live content: create, edit, publish, unpublish, restore a version.

HTTP-free; the staff panel calls these inside its transaction. Each one keeps every version
in full (an edit or a restore is a new `ContentVersion`; nothing is overwritten), writes the
audit entry and moves the content revision in the same transaction, so every instance reloads
what residents see. Refusals raise :class:`ContentError` with the problems, as codes (the
panel words them).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.audit import ActionError, AuditAction, audit
from bot.models import ContentHotline, ContentItem, ContentVersion, StaffUser, utcnow
from content.library import (
    Hotline,
    Item,
    Problem,
    Questions,
    hotline_problems,
    item_problems,
    load_files,
    validate,
)
from content.store import HOTLINE, ITEM, bump_revision, dump

__all__ = [
    "MAX_NOTE",
    "ContentError",
    "Row",
    "create_hotline",
    "create_item",
    "edit_hotline",
    "edit_item",
    "get_row",
    "restore",
    "set_published",
    "versions",
]

#: A version's note (what changed and why), in characters.
MAX_NOTE = 500

Row = ContentItem | ContentHotline


class ContentError(ActionError):
    """A change refused; `problems` say why (field, code, figures)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(", ".join(f"{p.field}: {p.code}" for p in problems))
        self.problems = problems


def _kind(row: Row) -> str:
    return ITEM if isinstance(row, ContentItem) else HOTLINE


def _key(row: Row) -> str:
    return row.id if isinstance(row, ContentItem) else row.number


def _check(entry: Item | Hotline) -> None:
    if isinstance(entry, Item):
        problems = item_problems(entry, [t.id for t in load_files().topics])
    else:
        problems = hotline_problems(entry)
    if problems:
        raise ContentError(problems)


async def get_row(session: AsyncSession, kind: str, key: str, *, lock: bool = False) -> Row | None:
    """The item or hotline `key`; `lock` holds it until the transaction ends (PostgreSQL),
    so two saves of one item take turns."""
    if kind == ITEM:
        stmt = select(ContentItem).where(col(ContentItem.id) == key)
    else:
        stmt = select(ContentHotline).where(col(ContentHotline.number) == key)  # type: ignore[assignment]
    if lock:
        stmt = stmt.with_for_update()
    found = (await session.execute(stmt)).scalar_one_or_none()
    return found


def _version(
    row: Row, actor: StaffUser, data: dict[str, Any], note: str, restored_from: int | None = None
) -> ContentVersion:
    return ContentVersion(
        kind=_kind(row),
        key=_key(row),
        number=row.version,
        data=data,
        author_id=actor.id,
        author=actor.username,
        note=note.strip()[:MAX_NOTE],
        restored_from=restored_from,
    )


async def _created(session: AsyncSession, row: Row, actor: StaffUser, note: str) -> None:
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:  # made by someone else a moment ago
        field = "id" if isinstance(row, ContentItem) else "number"
        raise ContentError([Problem(field, "exists")]) from None
    session.add(_version(row, actor, row.data, note))
    audit(session, actor, AuditAction.CONTENT_CREATE, detail=f"{_kind(row)} {_key(row)} v1: {note}")
    await bump_revision(session)


async def create_item(
    session: AsyncSession, actor: StaffUser, item: Item, note: str
) -> ContentItem:
    """A new item, unpublished until someone publishes it."""
    _check(item)
    if await get_row(session, ITEM, item.id) is not None:
        raise ContentError([Problem("id", "exists")])
    now = utcnow()
    row = ContentItem(
        id=item.id,
        topic=item.topic,
        data=dump(item),
        published=False,
        updated_by=actor.username,
        created_at=now,
        updated_at=now,
    )
    await _created(session, row, actor, note)
    return row


async def create_hotline(
    session: AsyncSession, actor: StaffUser, hotline: Hotline, position: int, note: str
) -> ContentHotline:
    """A new hotline, unpublished until someone publishes it."""
    _check(hotline)
    if await get_row(session, HOTLINE, hotline.number) is not None:
        raise ContentError([Problem("number", "exists")])
    now = utcnow()
    row = ContentHotline(
        number=hotline.number,
        position=position,
        data=dump(hotline),
        published=False,
        updated_by=actor.username,
        created_at=now,
        updated_at=now,
    )
    await _created(session, row, actor, note)
    return row


async def _new_version(
    session: AsyncSession,
    actor: StaffUser,
    row: Row,
    data: dict[str, Any],
    note: str,
    action: AuditAction,
    restored_from: int | None = None,
) -> None:
    row.version += 1
    row.data = data
    if isinstance(row, ContentItem):
        row.topic = str(data["topic"])
    row.updated_by, row.updated_at = actor.username, utcnow()
    session.add(row)
    session.add(_version(row, actor, data, note, restored_from))
    detail = f"{_kind(row)} {_key(row)} v{row.version}"
    if restored_from is not None:
        detail += f" (from v{restored_from})"
    audit(session, actor, action, detail=f"{detail}: {note}" if note else detail)
    await bump_revision(session)


async def _locked(session: AsyncSession, kind: str, key: str, base_version: int | None) -> Row:
    row = await get_row(session, kind, key, lock=True)
    if row is None:
        raise ContentError([Problem("", "not_found")])
    if base_version is not None and row.version != base_version:
        # saved by someone else since this form was opened: do not silently overwrite it
        raise ContentError([Problem("", "conflict", {"version": row.version})])
    return row


async def edit_item(
    session: AsyncSession,
    actor: StaffUser,
    item: Item,
    note: str,
    base_version: int | None = None,
) -> ContentItem:
    """Save `item` (its id names the item) as a new version; `base_version` is the version
    the editor started from. An item without example questions keeps the ones saved (the
    panel's form does not edit them yet)."""
    _check(item)
    row = await _locked(session, ITEM, item.id, base_version)
    assert isinstance(row, ContentItem)
    if item.questions is None and row.data.get("questions"):
        item = item.model_copy(update={"questions": Questions(**row.data["questions"])})
    await _new_version(session, actor, row, dump(item), note, AuditAction.CONTENT_EDIT)
    return row


async def edit_hotline(
    session: AsyncSession,
    actor: StaffUser,
    hotline: Hotline,
    position: int,
    note: str,
    base_version: int | None = None,
) -> ContentHotline:
    """Save `hotline` and its place in the list as a new version."""
    _check(hotline)
    row = await _locked(session, HOTLINE, hotline.number, base_version)
    assert isinstance(row, ContentHotline)
    row.position = position
    await _new_version(session, actor, row, dump(hotline), note, AuditAction.CONTENT_EDIT)
    return row


async def set_published(
    session: AsyncSession, actor: StaffUser, kind: str, key: str, published: bool
) -> bool:
    """Show it to residents, or hide it; False when it already was so (nothing written)."""
    row = await _locked(session, kind, key, None)
    if row.published == published:
        return False
    row.published = published
    row.updated_by, row.updated_at = actor.username, utcnow()
    session.add(row)
    action = AuditAction.CONTENT_PUBLISH if published else AuditAction.CONTENT_UNPUBLISH
    audit(session, actor, action, detail=f"{kind} {key} v{row.version}")
    await bump_revision(session)
    return True


async def restore(
    session: AsyncSession, actor: StaffUser, kind: str, key: str, number: int, note: str = ""
) -> Row:
    """Make version `number` the current one again, as a new version (history only grows).
    Refused when that version no longer passes today's checks (a topic removed…)."""
    row = await _locked(session, kind, key, None)
    old = (
        await session.execute(
            select(ContentVersion).where(
                col(ContentVersion.kind) == kind,
                col(ContentVersion.key) == key,
                col(ContentVersion.number) == number,
            )
        )
    ).scalar_one_or_none()
    if old is None:
        raise ContentError([Problem("", "unknown_version")])
    entry: Item | Hotline | None
    if kind == ITEM:
        entry, problems = validate(Item, old.data)
    else:
        entry, problems = validate(Hotline, old.data)
    if entry is None:
        raise ContentError(problems)
    _check(entry)
    await _new_version(session, actor, row, dump(entry), note, AuditAction.CONTENT_RESTORE, number)
    return row


async def versions(session: AsyncSession, kind: str, key: str) -> list[ContentVersion]:
    """Every version of an item or hotline, newest first."""
    return list(
        (
            await session.execute(
                select(ContentVersion)
                .where(col(ContentVersion.kind) == kind, col(ContentVersion.key) == key)
                .order_by(col(ContentVersion.number).desc())
            )
        ).scalars()
    )
