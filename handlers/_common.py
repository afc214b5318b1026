"""Pieces every flow uses: the main menu, the back button, localized content access."""

from __future__ import annotations

from bot.core.context import Context
from bot.core.types import Button
from content.locality import get_unit

__all__ = ["back_row", "commune_name", "main_menu", "menu_buttons"]


def commune_name(code: int | None) -> str | None:
    """The official name of the commune with `code`; None if there is none."""
    unit = get_unit(code) if code is not None else None
    return unit.name if unit else None


def menu_buttons(ctx: Context) -> list[list[Button]]:
    _ = ctx._
    return [
        [Button(_("📚 Legal education"), "lib")],
        [Button(_("☎️ Hotlines"), "hot"), Button(_("🇻🇳 Festival 19/8"), "fest")],
        [Button(_("🚨 Report a crime"), "tip")],
        [Button(_("💬 Feedback"), "fb"), Button(_("⚙️ Settings"), "set")],
    ]


def main_menu(ctx: Context, intro: str | None = None) -> None:
    """Show the main menu (and leave any half-finished flow)."""
    ctx.clear_state()
    ctx.reply(intro or ctx._("Main menu — choose what you need:"), menu_buttons(ctx))


def back_row(ctx: Context, payload: str = "m", label: str | None = None) -> list[Button]:
    row = []
    if payload != "m":
        row.append(Button(label or ctx._("⬅️ Back"), payload))
    row.append(Button(ctx._("🏠 Main menu"), "m"))
    return row
