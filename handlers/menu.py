"""Main menu, help, and the answer to anything unexpected (never silence)."""

from __future__ import annotations

from bot.core.context import Context
from bot.core.text import fold
from handlers._common import main_menu, menu_buttons
from handlers._router import router
from handlers.tip_intake import discard_draft

__all__ = ["fallback", "help_command", "show_menu", "unsupported"]

#: Words residents type instead of pressing a button, folded (no diacritics, lower case).
_INTENTS: dict[str, tuple[str, ...]] = {
    "tipa": ("tra loi", "answer"),  # an officer's question (handlers.tip_followup)
    "m": ("menu", "trang chu", "bat dau", "quay lai", "home", "main menu"),
    "hot": ("duong day nong", "hotline", "so dien thoai", "goi cong an", "sdt"),
    "tip": ("to giac", "bao tin", "to cao", "report"),
    "fb": ("gop y", "phan anh", "feedback"),
    "fest": ("ngay hoi", "19/8", "19-8", "festival"),
    "lib": ("tuyen truyen", "phap luat", "tai lieu", "luat", "legal"),
    "set": ("cai dat", "settings", "doi xa", "ngon ngu", "language"),
    "help": ("help", "tro giup", "huong dan", "giup"),
}


def intent_of(text: str) -> str | None:
    folded = fold(text)
    for payload, words in _INTENTS.items():
        if any(word in folded for word in words):
            return payload
    return None


@router.payload("m")
async def show_menu(ctx: Context) -> None:
    main_menu(ctx)


@router.payload("cancel")
async def cancel(ctx: Context) -> None:
    await discard_draft(ctx)  # a tip's photos go with it
    main_menu(ctx, ctx._("Cancelled. Main menu:"))


@router.command("help")
@router.payload("help")
async def help_command(ctx: Context) -> None:
    ctx.clear_state()
    ctx.reply(
        ctx._(
            "I am the bot of the provincial police for the movement "
            '"All people protect national security".\n\n'
            "• Press a button, or type its number.\n"
            "• /menu shows the main menu, /stop stops news from us, /start starts over.\n"
            "• In an emergency call 113 at once."
        ),
        menu_buttons(ctx),
    )


@router.command("menu")
async def menu_command(ctx: Context) -> None:
    main_menu(ctx)


async def fallback(ctx: Context) -> None:
    """Free text that no flow expects: guess the intent, else show the menu with a hint."""
    payload = intent_of(ctx.text) if ctx.text else None
    if payload is not None and await router.run_payload(ctx, payload):
        return
    main_menu(
        ctx,
        ctx._(
            "Sorry, I did not understand that. Choose one of the options below "
            "(you can type its number). In an emergency call 113."
        ),
    )


async def unsupported(ctx: Context) -> None:
    """Content we cannot read. Mid-flow the resident keeps their place; else, the menu."""
    text = ctx._(
        "I can only read text messages and buttons. Choose one of the options below. "
        "In an emergency call 113."
    )
    if ctx.state:
        ctx.reply(ctx._("I can only read text messages. Please answer in text."))
    else:
        main_menu(ctx, text)
