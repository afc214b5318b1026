"""Settings: commune, language, and whether the resident receives news (subscribe/stop)."""

from __future__ import annotations

from bot import actions
from bot.core.context import Context
from bot.core.types import Button
from handlers._common import back_row, commune_name
from handlers._router import router
from handlers.onboarding import LANGUAGE_BUTTONS, ask_commune

__all__ = ["show_settings", "stop"]


@router.payload("set")
async def show_settings(ctx: Context, what: str = "") -> None:
    if what == "com":
        ask_commune(ctx, "settings")
        return
    if what == "lang":
        ctx.reply(ctx._("Choose your language:"), [*LANGUAGE_BUTTONS, back_row(ctx, "set")])
        return
    ctx.clear_state()
    resident = ctx.resident
    commune = commune_name(resident.commune_code) or ctx._("not set")
    news = ctx._("on") if resident.subscribed else ctx._("off")
    toggle = (
        Button(ctx._("🔕 Stop news"), "sub:off")
        if resident.subscribed
        else Button(ctx._("🔔 Receive news"), "sub:on")
    )
    ctx.reply(
        ctx._(
            "Settings\n• Commune: {commune}\n• Language: Tiếng Việt / English\n"
            "• News and campaign messages: {news}",
            commune=commune,
            news=news,
        ),
        [
            [Button(ctx._("📍 Change commune"), "set:com")],
            [Button(ctx._("🌐 Language"), "set:lang"), toggle],
            back_row(ctx),
        ],
    )


@router.payload("sub")
async def subscription(ctx: Context, value: str = "on") -> None:
    on = value == "on"
    actions.set_subscribed(ctx.session, ctx.resident, on)
    if on:
        ctx.reply(ctx._("You will receive news and campaign messages again."))
    else:
        ctx.reply(
            ctx._(
                "You will no longer receive news or campaign messages. "
                "You can still use the menu at any time."
            )
        )
    await show_settings(ctx)


@router.command("stop")
async def stop(ctx: Context) -> None:
    actions.set_subscribed(ctx.session, ctx.resident, False)
    ctx.clear_state()
    ctx.reply(
        ctx._(
            "Done: you will no longer receive news or campaign messages from us. "
            "Send /start or open Settings to turn them back on."
        ),
        [[Button(ctx._("🔔 Receive news"), "sub:on"), Button(ctx._("🏠 Main menu"), "m")]],
    )
