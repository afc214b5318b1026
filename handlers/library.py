"""Tuyên truyền pháp luật: the content library by topic, paginated, one item per message."""

from __future__ import annotations

from collections.abc import Callable

from bot import actions
from bot.core.context import Context
from bot.core.types import Button
from content.library import Item, load_library
from handlers._common import back_row
from handlers._router import router

__all__ = ["item_text", "library"]


@router.payload("lib")
async def library(ctx: Context, what: str = "", key: str = "", page: str = "0") -> None:
    lib = load_library()
    if what == "t":
        await _topic(ctx, key, int(page) if page.isdigit() else 0)
        return
    if what == "i":
        await _item(ctx, key, page)
        return
    rows = [[Button(t.title.get(ctx.lang), f"lib:t:{t.id}:0")] for t in lib.topics]
    rows.append(back_row(ctx))
    ctx.reply(ctx._("Legal education — choose a topic:"), rows)


async def _topic(ctx: Context, topic_id: str, page: int) -> None:
    lib = load_library()
    try:
        topic, items = lib.topic(topic_id), lib.items_by_topic(topic_id)
    except KeyError:  # a button from an older version of the library
        await library(ctx)
        return
    size = max(1, ctx.settings.content_page_size)
    pages = max(1, -(-len(items) // size))
    page = min(max(page, 0), pages - 1)
    rows = [
        [Button(item.title.get(ctx.lang), f"lib:i:{item.id}:{page}")]
        for item in items[page * size : (page + 1) * size]
    ]
    nav = []
    if page > 0:
        nav.append(Button(ctx._("◀️ Previous"), f"lib:t:{topic_id}:{page - 1}"))
    if page < pages - 1:
        nav.append(Button(ctx._("Next ▶️"), f"lib:t:{topic_id}:{page + 1}"))
    if nav:
        rows.append(nav)
    rows.append(back_row(ctx, "lib", ctx._("⬅️ Topics")))
    title = topic.title.get(ctx.lang)
    header = ctx._("{topic} (page {page}/{pages})", topic=title, page=page + 1, pages=pages)
    actions.record_event(ctx.session, ctx.resident, "topic", topic_id)
    ctx.reply(header, rows)


async def _item(ctx: Context, item_id: str, page: str) -> None:
    try:
        item = load_library().item(item_id)
    except KeyError:
        await library(ctx)
        return
    actions.record_event(ctx.session, ctx.resident, "content", item.id)
    ctx.reply(
        item_text(item, ctx.lang, ctx._),
        [back_row(ctx, f"lib:t:{item.topic}:{page or 0}", ctx._("⬅️ Back to the list"))],
    )


def item_text(item: Item, language: str, _: Callable[..., str]) -> str:
    """An item as residents read it, `_` translating into `language` (the staff panel
    previews it with this)."""
    parts = [item.title.get(language).upper(), "", item.body.get(language)]
    source = item.source.get(language) if item.source else ""
    if source:
        parts += ["", _("Source: {source}", source=source)]
    return "\n".join(parts)


@router.payload("cmp")
async def campaign_item(ctx: Context, campaign_id: str = "", item_id: str = "") -> None:
    """A content item offered under a campaign message: counted as that campaign's tap."""
    if campaign_id.isdigit():
        actions.record_event(ctx.session, ctx.resident, "campaign_tap", campaign_id)
    await _item(ctx, item_id, "0")
