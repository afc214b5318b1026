"""Which commune the resident lives in: typed free text -> lookup -> confirm or choose."""

from __future__ import annotations

from bot import actions
from bot.core.context import Context
from bot.core.types import Button
from content.locality import get_unit, lookup, nearest
from handlers._router import router

__all__ = ["ask_commune", "commune_name", "location_shared"]

#: A best candidate at least this good, and this far ahead of the next, is asked as yes/no.
CONFIDENT_SCORE = 0.85
CLEAR_LEAD = 0.08
MAX_CHOICES = 5


def commune_name(code: int | None) -> str | None:
    unit = get_unit(code) if code is not None else None
    return unit.name if unit else None


def _escape_row(ctx: Context) -> list[Button]:
    if ctx.state_data.get("next") == "onboard":
        return [Button(ctx._("Skip"), "com:skip")]
    return [Button(ctx._("Cancel"), "cancel")]


def ask_commune(ctx: Context, next_step: str) -> None:
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
    rows = [[Button(ctx._("✅ Yes"), f"com:{best.code}")]]
    rows += [[Button(c.name, f"com:{c.code}")] for c in others]
    rows.append([Button(ctx._("✏️ No, type again"), "com:retry")])
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
                [Button(ctx._("✅ Yes"), f"com:{best.code}")],
                [Button(ctx._("✏️ No, type again"), "com:retry")],
            ],
        )
        return
    rows = [[Button(c.name, f"com:{c.code}")] for c in candidates]
    rows.append([Button(ctx._("None of these — type again"), "com:retry")])
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


async def _continue(ctx: Context, next_step: str, name: str | None) -> None:
    from handlers.settings import show_settings
    from handlers.start import finish_onboarding

    if next_step == "onboard":
        await finish_onboarding(ctx, name)
    else:
        ctx.clear_state()
        if name:
            ctx.reply(ctx._("Saved: {name}.", name=name))
        await show_settings(ctx)
