"""Đường dây nóng: national emergency numbers, then province and commune police from settings."""

from __future__ import annotations

from bot import actions
from bot.core.context import Context
from bot.core.types import Button
from bot.directory import commune_phone
from content.library import Hotline, load_library
from handlers._common import back_row, commune_name
from handlers._router import router

__all__ = ["hotline_line", "hotline_lines", "hotlines"]


def hotline_lines(ctx: Context) -> list[str]:
    """Numbers to call, the resident's own commune police first when it is configured."""
    lines: list[str] = []
    name = commune_name(ctx.resident.commune_code)
    phone = commune_phone(ctx.settings, ctx.resident.commune_code)
    if name and phone:
        lines.append(ctx._("👮 Police of {commune}: {phone}", commune=name, phone=phone))
    if ctx.settings.province_police_phone:
        lines.append(
            ctx._("🏛 Provincial police: {phone}", phone=ctx.settings.province_police_phone)
        )
    lines += [hotline_line(hotline, ctx.lang) for hotline in load_library().hotlines]
    return lines


def hotline_line(hotline: Hotline, language: str) -> str:
    """A national hotline as residents read it (the staff panel previews it with this)."""
    return f"📞 {hotline.number} — {hotline.title.get(language)} ({hotline.note.get(language)})"


@router.payload("hot")
async def hotlines(ctx: Context) -> None:
    actions.record_event(ctx.session, ctx.resident, "hotlines")
    text = (
        ctx._("Hotlines (113, 114, 115 and 111 are free of charge):")
        + "\n\n"
        + "\n".join(hotline_lines(ctx))
    )
    rows = [back_row(ctx)]
    if ctx.resident.commune_code is None:
        text += "\n\n" + ctx._("Set your commune to see its police number here.")
        rows.insert(0, [Button(ctx._("📍 Set my commune"), "set:com")])
    elif not commune_phone(ctx.settings, ctx.resident.commune_code):
        text += "\n\n" + ctx._(
            "Your commune police number is not in our list yet; in an emergency call 113."
        )
    ctx.reply(text, rows)
