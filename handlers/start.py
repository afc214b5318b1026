"""/start: choose a language, then a commune, then the main menu."""

from __future__ import annotations

from bot import actions
from bot.core.context import Context
from bot.core.types import Button
from handlers._common import main_menu
from handlers._router import router
from handlers.commune import ask_commune

__all__ = ["finish_onboarding", "start"]

LANGUAGE_BUTTONS = [[Button("🇻🇳 Tiếng Việt", "lang:vi"), Button("🇬🇧 English", "lang:en")]]


@router.command("start")
@router.state("onboarding")
async def start(ctx: Context) -> None:
    if ctx.resident.onboarded:
        if not ctx.resident.subscribed:
            actions.set_subscribed(ctx.session, ctx.resident, True)
        main_menu(ctx, ctx._("Welcome back! Main menu:"))
        return
    ctx.set_state("onboarding")
    ctx.reply(
        "Xin chào! Đây là kênh của Công an tỉnh về phong trào toàn dân bảo vệ an ninh Tổ quốc.\n"
        "Hello! This is the provincial police channel of the movement "
        '"All people protect national security".\n\n'
        "Chọn ngôn ngữ / Choose your language:",
        LANGUAGE_BUTTONS,
    )


@router.payload("lang")
async def language_chosen(ctx: Context, lang: str = "vi") -> None:
    actions.set_language(ctx.session, ctx.resident, "en" if lang == "en" else "vi")
    if ctx.state == "onboarding" or not ctx.resident.onboarded:
        ask_commune(ctx, "onboard")
        return
    from handlers.settings import show_settings

    ctx.reply(ctx._("Language saved."))
    await show_settings(ctx)


async def finish_onboarding(ctx: Context, commune: str | None) -> None:
    ctx.resident.onboarded = True
    actions.record_event(ctx.session, ctx.resident, "onboarded")
    if commune:
        intro = ctx._("Thank you! Your commune: {name}.", name=commune)
    else:
        intro = ctx._("Thank you! You can set your commune later in Settings.")
    main_menu(ctx, intro + "\n\n" + ctx._("Main menu — choose what you need:"))
