"""Content pages: the library's items by topic and the national hotlines, as residents get
them from the database; creating and editing both languages with a server-side preview on
Telegram, Zalo Bot and Zalo OA; publishing and unpublishing; every version, and restoring one.

Access: propaganda staff and province administrators; commune officers get 403 on every page
and action. Changes go through `content.actions`, which keeps the versions and audits them;
this process serves a change at once, other instances within `content.store.REFRESH_SECONDS`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from admin._web import DEPS, form, redirect, render, require_staff, whole
from admin.content_form import (
    Errors,
    HotlineForm,
    ItemForm,
    add_problems,
    hotline_preview,
    item_preview,
)
from bot.i18n import N_
from bot.models import ContentHotline, ContentItem
from bot.staff import Staff
from content import actions, store, unanswered
from content.actions import ContentError, Row
from content.library import (
    BODY_MAX_CHARS,
    HOTLINE_NOTE_MAX_CHARS,
    SUMMARY_MAX_CHARS,
    TITLE_MAX_CHARS,
    Hotline,
    Item,
    Problem,
    Topic,
    load_files,
)
from content.store import HOTLINE, ITEM

__all__ = ["setup"]

_ACTIONS = frozenset({"publish", "unpublish", "restore"})
#: The limits the form fields name.
LIMITS = {
    "title": TITLE_MAX_CHARS,
    "summary": SUMMARY_MAX_CHARS,
    "body": BODY_MAX_CHARS,
    "note": HOTLINE_NOTE_MAX_CHARS,
}
#: Messages after a change, by the `done` query parameter of the page it leads to.
_DONE = {
    "saved": N_("Saved."),
    "created": N_("Saved. Residents do not see it until it is published."),
    "publish": N_("Published: residents see it now."),
    "unpublish": N_("Unpublished: residents no longer see it."),
    "restore": N_("Restored as a new version."),
}


def _editor(request: web.Request) -> Staff:
    """Propaganda staff and administrators; anyone else is 403."""
    staff = require_staff(request)
    if staff.user.role not in ("admin", "propaganda"):
        raise web.HTTPForbidden()
    return staff


def _lang(staff: Staff) -> str:
    return "en" if staff.user.language == "en" else "vi"


def _path(kind: str, key: str) -> str:
    return f"/admin/content/{'items' if kind == ITEM else 'hotlines'}/{key}"


async def content_page(request: web.Request) -> web.StreamResponse:
    """Every item by topic (published or not) and the hotlines, in the residents' order."""
    _editor(request)
    panel = request.app[DEPS]
    async with panel.db.session() as session:
        items = list((await session.execute(select(ContentItem))).scalars())
        hotlines = list(
            (
                await session.execute(
                    select(ContentHotline).order_by(
                        col(ContentHotline.position), col(ContentHotline.number)
                    )
                )
            ).scalars()
        )
    topics = load_files().topics
    known = {t.id for t in topics}
    groups: list[tuple[Topic | None, list[ContentItem]]] = []
    for topic in (*topics, None):
        rows = [r for r in items if (r.topic == topic.id if topic else r.topic not in known)]
        rows.sort(key=lambda r: (int(r.data.get("order", 0)), r.id))
        if rows or topic is not None:
            groups.append((topic, rows))
    return render(request, "content.html", groups=groups, hotlines=hotlines)


# --- one item or hotline --------------------------------------------------------------------


async def _row(session: AsyncSession, kind: str, key: str, *, lock: bool = False) -> Row:
    row = await actions.get_row(session, kind, key, lock=lock)
    if row is None:
        raise web.HTTPNotFound()
    return row


def _entry(row: Row) -> Item | Hotline:
    if isinstance(row, ContentItem):
        return Item.model_validate(row.data)
    return Hotline.model_validate(row.data)


async def _hotline_list(
    session: AsyncSession, shown: Hotline | None, position: int
) -> list[Hotline]:
    """The published hotlines in list order, with `shown` in its place (published or not)."""
    rows = (
        await session.execute(select(ContentHotline).where(col(ContentHotline.published)))
    ).scalars()
    placed = [
        (r.position, r.number, Hotline.model_validate(r.data))
        for r in rows
        if shown is None or r.number != shown.number
    ]
    if shown is not None:
        placed.append((position, shown.number, shown))
    return [hotline for _p, _n, hotline in sorted(placed, key=lambda x: (x[0], x[1]))]


async def _page(
    request: web.Request,
    session: AsyncSession,
    kind: str,
    row: Row | None,
    data: ItemForm | HotlineForm,
    *,
    shown: Item | Hotline | None = None,
    position: int = 0,
    errors: Errors | None = None,
    message: str = "",
    previewed: bool = False,
    status: int = 200,
) -> web.Response:
    """The item or hotline page: its form, the preview of `shown`, the actions, the history."""
    panel = request.app[DEPS]
    buttons = panel.settings.zalo_oa_max_buttons
    previews: list[Any] = []
    if isinstance(shown, Item):
        previews = item_preview(shown, buttons)
    elif isinstance(shown, Hotline):
        previews = hotline_preview(await _hotline_list(session, shown, position), buttons)
    history = await actions.versions(session, kind, _key(row)) if row is not None else []
    return render(
        request,
        "content_item.html" if kind == ITEM else "content_hotline.html",
        status=status,
        row=row,
        form=data,
        errors=errors or {},
        message=message,
        previews=previews,
        previewed=previewed,
        history=history,
        topics=load_files().topics,
        limits=LIMITS,
        path_of=_path(kind, _key(row)) if row is not None else "",
    )


def _entry_key(entry: Item | Hotline) -> str:
    return entry.id if isinstance(entry, Item) else entry.number


def _key(row: Row | None) -> str:
    if isinstance(row, ContentItem):
        return row.id
    return row.number if row is not None else ""


async def new_page(request: web.Request, kind: str) -> web.StreamResponse:
    """The empty form; an item's pre-filled from unanswered questions (`?unanswered=ids`):
    the question as the title to rewrite and as the first example question."""
    _editor(request)
    panel = request.app[DEPS]
    async with panel.db.session() as session:
        data: ItemForm | HotlineForm = HotlineForm()
        if kind == ITEM:
            data = ItemForm(questions_shown="1")
            ids = unanswered.ids_of([request.query.get("unanswered", "")])
            group = await unanswered.group_of(session, ids) if ids else None
            if group is not None:
                language = "en" if group.language == "en" else "vi"
                setattr(data, f"title_{language}", group.text[:TITLE_MAX_CHARS])
                setattr(data, f"questions_{language}", group.text)
                data.unanswered = ",".join(str(i) for i in group.ids)
        return await _page(request, session, kind, None, data)


async def entry_page(request: web.Request, kind: str) -> web.StreamResponse:
    _editor(request)
    key = request.match_info["key"]
    panel = request.app[DEPS]
    async with panel.db.session() as session:
        row = await _row(session, kind, key)
        entry = _entry(row)
        data: ItemForm | HotlineForm
        if isinstance(entry, Item):
            data = ItemForm.from_item(entry, row.version)
        else:
            assert isinstance(row, ContentHotline)
            data = HotlineForm.from_hotline(entry, row.position, row.version)
        position = row.position if isinstance(row, ContentHotline) else 0
        done = _DONE.get(request.query.get("done", ""), "")
        return await _page(
            request, session, kind, row, data, shown=entry, position=position, message=done
        )


async def save(request: web.Request, kind: str) -> web.StreamResponse:
    """POST of the form: "Preview" (do=preview) shows it without saving; else it is saved."""
    staff = _editor(request)
    panel = request.app[DEPS]
    key = request.match_info.get("key")
    posted = await form(request)
    data: ItemForm | HotlineForm
    entry: Item | Hotline | None
    position = 0
    if kind == ITEM:
        data = ItemForm.from_post(posted)
        if key is not None:
            data.id = key  # an item keeps its id
        entry, errors = data.parse()
    else:
        data = HotlineForm.from_post(posted)
        if key is not None:
            data.number = key
        entry, position, errors = data.parse()
    async with panel.db.session() as session:
        row = await _row(session, kind, key) if key is not None else None
        if entry is None:
            return await _page(request, session, kind, row, data, errors=errors, status=400)
        if row is None and await actions.get_row(session, kind, _entry_key(entry)) is not None:
            errors = {}
            add_problems(errors, [Problem("id" if kind == ITEM else "number", "exists")], kind)
            return await _page(request, session, kind, row, data, errors=errors, status=400)
        if posted.get("do") == "preview":
            return await _page(
                request, session, kind, row, data, shown=entry, position=position, previewed=True
            )
        try:
            async with session.begin_nested():  # a refused save changes nothing
                saved = await _save(
                    session, staff, kind, entry, position, data, creating=row is None
                )
        except ContentError as exc:
            errors = {}
            add_problems(errors, exc.problems, kind)
            conflict = any(p.code == "conflict" for p in exc.problems)
            if conflict and row is not None:
                await session.refresh(row)
                data.base_version = str(row.version)  # saving again replaces it, knowingly
            return await _page(
                request,
                session,
                kind,
                row,
                data,
                errors=errors,
                status=409 if conflict else 400,
            )
    await store.changed(panel.db)
    raise redirect(f"{_path(kind, saved)}?done={'created' if row is None else 'saved'}")


async def _save(
    session: AsyncSession,
    staff: Staff,
    kind: str,
    entry: Item | Hotline,
    position: int,
    data: ItemForm | HotlineForm,
    *,
    creating: bool,
) -> str:
    """Create or edit; returns the key of what was saved."""
    note = data.change_note
    if isinstance(entry, Item):
        if creating:
            await actions.create_item(session, staff.user, entry, note)
            if isinstance(data, ItemForm) and data.unanswered:  # written from those questions
                ids = unanswered.ids_of([data.unanswered])
                await unanswered.resolve(session, staff.user, ids, entry.id)
        else:
            await actions.edit_item(session, staff.user, entry, note, data.version)
        return _entry_key(entry)
    if creating:
        await actions.create_hotline(session, staff.user, entry, position, note)
    else:
        await actions.edit_hotline(session, staff.user, entry, position, note, data.version)
    return _entry_key(entry)


async def act(request: web.Request, kind: str) -> web.StreamResponse:
    """Publish, unpublish, or restore a version: one POST route, the action in the URL."""
    staff = _editor(request)
    panel = request.app[DEPS]
    key = request.match_info["key"]
    action = request.match_info["action"]
    if action not in _ACTIONS:
        raise web.HTTPNotFound()
    posted = await form(request)
    async with panel.db.session() as session:
        row = await _row(session, kind, key)
        try:
            async with session.begin_nested():  # a refused action changes nothing
                if action == "restore":
                    number = posted.get("version", "")
                    if not whole(number):
                        raise ContentError([Problem("", "unknown_version")])
                    note = posted.get("change_note", "")
                    await actions.restore(session, staff.user, kind, key, int(number), note)
                else:
                    await actions.set_published(session, staff.user, kind, key, action == "publish")
        except ContentError as exc:
            errors: Errors = {}
            add_problems(errors, exc.problems, kind)
            await session.refresh(row)
            entry = _entry(row)
            data: ItemForm | HotlineForm
            if isinstance(entry, Item):
                data = ItemForm.from_item(entry, row.version)
            else:
                assert isinstance(row, ContentHotline)
                data = HotlineForm.from_hotline(entry, row.position, row.version)
            return await _page(request, session, kind, row, data, errors=errors, status=409)
    await store.changed(panel.db)
    raise redirect(f"{_path(kind, key)}?done={action}")


def _kind(
    handler: Callable[[web.Request, str], Awaitable[web.StreamResponse]], kind: str
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def for_kind(request: web.Request) -> web.StreamResponse:
        return await handler(request, kind)

    return for_kind


def setup(app: web.Application) -> None:
    app.router.add_get("/content", content_page)
    for kind, plural in ((ITEM, "items"), (HOTLINE, "hotlines")):
        base = f"/content/{plural}"
        app.router.add_get(f"{base}/new", _kind(new_page, kind))
        app.router.add_post(f"{base}/new", _kind(save, kind))
        app.router.add_get(f"{base}/{{key}}", _kind(entry_page, kind))
        app.router.add_post(f"{base}/{{key}}", _kind(save, kind))
        app.router.add_post(f"{base}/{{key}}/{{action}}", _kind(act, kind))
