"""The unanswered questions page: what residents asked that the bot could not answer in the
last 30 days, grouped by similarity, with how often and on which day last; identifiers and
names masked, and nothing about who asked (`content.unanswered`).

Staff attach a group's question to an item as an example question (the item is saved as a
new version and residents asking it get the item at once), start a new item from it (the
new-item form, pre-filled; creating the item ends the group), or dismiss it. Access:
propaganda staff and province administrators; officers get 403. Changes go through
`content.unanswered`, which audits them.
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy import select

from admin._web import DEPS, form, language_of, redirect, render, require_staff
from bot.i18n import N_, format_date, gettext
from bot.models import ContentItem
from bot.staff import Staff
from content import answers, store, unanswered
from content.library import load_files, load_library
from content.unanswered import Group, UnansweredError

__all__ = ["PAGE", "new_item_link", "setup"]

PAGE = "/admin/questions"
#: Groups shown on the page, most asked first.
MAX_SHOWN = 100
#: What each refusal (`UnansweredError.code`) says to staff.
_ERRORS = {
    "question_required": N_("Give the example question."),
    "question_too_long": N_("The example question is too long."),
    "question_invisible": N_(
        "The example question contains an invisible or control character: type it again."
    ),
    "gone": N_("These questions were dealt with already."),
    "unknown_item": N_("Choose an item from the list."),
    "item_invalid": N_("The item cannot be saved as it is: open it and correct it first."),
}
_DONE = {
    "attached": N_("Added to the item as an example question: residents asking it get the item."),
    "dismissed": N_("Dismissed."),
}


def _editor(request: web.Request) -> Staff:
    """Propaganda staff and administrators; anyone else is 403."""
    staff = require_staff(request)
    if staff.user.role not in ("admin", "propaganda"):
        raise web.HTTPForbidden()
    return staff


def new_item_link(group: Group) -> str:
    """The new-item form, pre-filled from `group`."""
    return "/admin/content/items/new?unanswered=" + ",".join(str(i) for i in group.ids)


def _suggestion(group: Group) -> str:
    """The item the bot ranks first for the question, if it would at least list it as a
    choice ("" when nothing comes close)."""
    library = load_library()
    for found in answers.prepare(library).scores(group.text):
        if found.score < answers.LISTED:
            break
        if found.kind == "item" and found.id in library.items:
            return found.id
    return ""


async def page(request: web.Request) -> web.StreamResponse:
    staff = _editor(request)
    panel = request.app[DEPS]
    lang = language_of(request)
    async with panel.db.session() as session:
        found, left_out = await unanswered.groups(session)
        rows = list((await session.execute(select(ContentItem))).scalars())
    order = {t.id: n for n, t in enumerate(load_files().topics)}
    rows.sort(key=lambda r: (order.get(r.topic, len(order)), int(r.data.get("order", 0)), r.id))
    topics = {t.id: t.title.get(lang) for t in load_files().topics}
    shown = found[:MAX_SHOWN]
    return render(
        request,
        "questions.html",
        groups=shown,
        hidden=len(found) - len(shown),
        left_out=left_out,
        items=rows,
        topics=topics,
        suggestions={g.ids: _suggestion(g) for g in shown},
        new_item_link=new_item_link,
        day=lambda value: format_date(value, lang),
        days=unanswered.RETENTION_DAYS,
        max_chars=unanswered.QUESTION_MAX_CHARS,
        message=_DONE.get(request.query.get("done", ""), ""),
        error=_ERRORS.get(request.query.get("error", ""), ""),
        staff_lang="en" if staff.user.language == "en" else "vi",
    )


def _ids(posted: MultiDictProxy[str]) -> list[int]:
    ids = unanswered.ids_of(posted.getall("ids", []))
    if not ids:
        raise web.HTTPBadRequest()
    return ids


async def attach(request: web.Request) -> web.StreamResponse:
    staff = _editor(request)
    panel = request.app[DEPS]
    posted = await form(request)
    ids = _ids(posted)
    lang = language_of(request)
    question = posted.get("question", "")
    note = N_("Example question added from the unanswered questions")
    try:
        async with panel.db.session() as session:
            await unanswered.attach(
                session,
                staff.user,
                ids,
                posted.get("item", ""),
                question,
                posted.get("language", "vi"),
                note=gettext(lang, note),
            )
    except UnansweredError as exc:
        raise redirect(f"{PAGE}?error={quote(exc.code)}") from None
    await store.changed(panel.db)
    raise redirect(f"{PAGE}?done=attached")


async def dismiss(request: web.Request) -> web.StreamResponse:
    staff = _editor(request)
    panel = request.app[DEPS]
    ids = _ids(await form(request))
    try:
        async with panel.db.session() as session:
            await unanswered.dismiss(session, staff.user, ids)
    except UnansweredError as exc:
        raise redirect(f"{PAGE}?error={quote(exc.code)}") from None
    raise redirect(f"{PAGE}?done=dismissed")


def setup(app: web.Application) -> None:
    app.router.add_get("/questions", page)
    app.router.add_post("/questions/attach", attach)
    app.router.add_post("/questions/dismiss", dismiss)
