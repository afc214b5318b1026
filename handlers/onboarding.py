"""Onboarding: /start, then a language, then a commune (typed, picked from a list, or from a
shared location), then the main menu. Settings (handlers/settings.py) leads into the same
language and commune steps; the state's `next` says where a choice goes on to: "onboard" (the
main menu, onboarding done) or "settings" (back to the Settings screen).
"""

from __future__ import annotations

from bot import actions
from bot.core.context import Context
from bot.core.render import NO_WORDS, YES_WORDS
from bot.core.types import Button
from bot.i18n import N_, gettext
from content.locality import lookup, nearest
from handlers._common import commune_name, main_menu
from handlers._router import router

__all__ = ["LANGUAGE_BUTTONS", "ask_commune", "location_shared", "start"]

LANGUAGE_BUTTONS = [
    [
        Button("🇻🇳 Tiếng Việt", "lang:vi", ("viet", "vn", "vi", "tv")),
        Button("🇬🇧 English", "lang:en", ("anh", "en", "eng", "tieng anh")),
    ]
]
#: A best candidate at least this good, and this far ahead of the next, is asked as yes/no.
CONFIDENT_SCORE = 0.85
CLEAR_LEAD = 0.08
MAX_CHOICES = 5


@router.command("start")
@router.state("onboarding")
async def start(ctx: Context) -> None:
    if ctx.resident.onboarded:
        if not ctx.resident.subscribed:
            actions.set_subscribed(ctx.session, ctx.resident, True)
        main_menu(ctx, ctx._("Welcome back! Main menu:"))
        return
    ctx.set_state("onboarding")
    ctx.reply(_welcome(), LANGUAGE_BUTTONS)


def _welcome() -> str:
    """The greeting before a language is chosen: in both, Vietnamese first."""
    hello = N_(
        "Hello! This is the provincial police channel of the movement "
        '"All people protect national security".'
    )
    choose = N_("Choose your language")
    return (
        f"{gettext('vi', hello)}\n{gettext('en', hello)}\n\n"
        f"{gettext('vi', choose)} / {gettext('en', choose)}:"
    )


@router.payload("lang")
async def language_chosen(ctx: Context, lang: str = "vi") -> None:
    actions.set_language(ctx.session, ctx.resident, "en" if lang == "en" else "vi")
    if ctx.state == "onboarding" or not ctx.resident.onboarded:
        ask_commune(ctx, "onboard")
        return
    ctx.reply(ctx._("Language saved."))
    await _show_settings(ctx)


# --- the commune ---------------------------------------------------------------------------


def _escape_row(ctx: Context) -> list[Button]:
    if ctx.state_data.get("next") == "onboard":
        return [Button(ctx._("Skip"), "com:skip", ("bo qua", "skip", "de sau", "later"))]
    return [Button(ctx._("Cancel"), "cancel", ("huy", "huy bo", "cancel"))]


def ask_commune(ctx: Context, next_step: str) -> None:
    """Ask for the commune; `next_step` ("onboard" or "settings") is where the choice leads."""
    ctx.set_state("await_commune", next=next_step)
    text = ctx._(
        "Which commune or ward do you live in? Type its name, for example "
        '"Quy Nhơn Nam" or "xa Tay Son". Old addresses are fine too '
        '("phường Lê Lợi, TP Quy Nhơn").'
    )
    if ctx.caps.location:
        text += "\n" + ctx._("You can also share your location.")
    ctx.reply(text, [_escape_row(ctx)])


async def location_shared(ctx: Context) -> None:
    """A shared location: offer the nearest communes (the resident confirms)."""
    if ctx.state != "await_commune":
        ctx.set_state("await_commune", next="settings" if ctx.resident.onboarded else "onboard")
    location = ctx.inbound.location
    found = []
    if location is not None:
        found = nearest(location.latitude, location.longitude, ctx.settings.province_code)
    if not found:
        ctx.reply(
            ctx._("That location is not in our province. Please type the name of your commune."),
            [_escape_row(ctx)],
        )
        return
    best, *others = found
    rows = [[Button(ctx._("✅ Yes"), f"com:{best.code}", YES_WORDS)]]
    rows += [[Button(c.name, f"com:{c.code}", exact=True)] for c in others]
    rows.append([Button(ctx._("✏️ No, type again"), "com:retry", NO_WORDS)])
    ctx.reply(
        ctx._("From your location you are near {name}. Is that your commune?", name=best.name),
        rows,
    )


@router.state("await_commune")
async def commune_typed(ctx: Context) -> None:
    if not ctx.text:
        ctx.reply(ctx._("Please type the name of your commune or ward."), [_escape_row(ctx)])
        return
    candidates = lookup(ctx.text, ctx.settings.province_code, limit=MAX_CHOICES)
    if not candidates:
        ctx.reply(
            ctx._(
                "I could not find that commune in the province. Please type the name again, "
                'for example "Quy Nhơn Đông".'
            ),
            [_escape_row(ctx)],
        )
        return
    best = candidates[0]
    lead = best.score - (candidates[1].score if len(candidates) > 1 else 0.0)
    if best.score >= CONFIDENT_SCORE and lead >= CLEAR_LEAD:
        ctx.reply(
            ctx._("Do you live in {name}?", name=best.name),
            [
                [Button(ctx._("✅ Yes"), f"com:{best.code}", YES_WORDS)],
                [Button(ctx._("✏️ No, type again"), "com:retry", NO_WORDS)],
            ],
        )
        return
    rows = [[Button(c.name, f"com:{c.code}", exact=True)] for c in candidates]
    rows.append([Button(ctx._("None of these — type again"), "com:retry", NO_WORDS)])
    ctx.reply(ctx._("Which one is yours?"), rows)


@router.payload("com")
async def commune_chosen(ctx: Context, arg: str = "") -> None:
    next_step = ctx.state_data.get("next", "settings")
    if arg == "retry":
        ask_commune(ctx, next_step)
        return
    if arg == "skip":
        await _continue(ctx, next_step, None)
        return
    name = commune_name(int(arg)) if arg.isdigit() else None
    if name is None:
        ask_commune(ctx, next_step)
        return
    actions.set_commune(ctx.session, ctx.resident, int(arg))
    await _continue(ctx, next_step, name)


# --- where a choice leads ------------------------------------------------------------------


async def _continue(ctx: Context, next_step: str, name: str | None) -> None:
    if next_step == "onboard":
        await _finish_onboarding(ctx, name)
    else:
        ctx.clear_state()
        if name:
            ctx.reply(ctx._("Saved: {name}.", name=name))
        await _show_settings(ctx)


async def _finish_onboarding(ctx: Context, commune: str | None) -> None:
    actions.mark_onboarded(ctx.session, ctx.resident)
    if commune:
        intro = ctx._("Thank you! Your commune: {name}.", name=commune)
    else:
        intro = ctx._("Thank you! You can set your commune later in Settings.")
    main_menu(ctx, intro + "\n\n" + ctx._("Main menu — choose what you need:"))


async def _show_settings(ctx: Context) -> None:
    """Back to the Settings screen a change was made from, as its button opens it: through
    the router, since handlers/settings.py imports this module (not the other way round)."""
    await router.run_payload(ctx, "set")
