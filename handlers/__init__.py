"""Platform-neutral conversation flows. `handle` is the one entry point the core calls."""

from __future__ import annotations

from typing import Any

from bot import actions
from bot.core.context import Context
from bot.core.dispatch import apology
from bot.core.render import stored_buttons, typed_number
from handlers import (  # noqa: F401  (importing a flow registers its routes)
    feedback,
    festival,
    hotlines,
    library,
    menu,
    onboarding,
    report,
    settings,
    tip_followup,
    tip_intake,
)
from handlers._common import main_menu
from handlers._router import router
from handlers.tip_intake import PHOTO_STATE as TIP_PHOTO_STATE

__all__ = [
    "CONFIDENTIAL_PAYLOADS",
    "TIP_PAYLOADS",
    "TIP_PHOTO_STATE",
    "apologise",
    "ask_again",
    "confidential_state",
    "handle",
]

#: Button payloads of the tip-off flows. They are not recorded as engagement events at all:
#: even without a resident id, an event's time and its place in the id sequence, between the
#: events of the resident who tapped, would point at the tipster. Tip figures come from `tip`.
TIP_PAYLOADS = frozenset({"tip", "tipf", "tipa"})
#: Payloads whose use alone says something a resident confides: the tip-off flows, and
#: opening the feedback prompt (an event "opened feedback" next to a feedback row of the same
#: day and commune narrows down who sent it).
CONFIDENTIAL_PAYLOADS = TIP_PAYLOADS | {"fb"}


def confidential_state(state: str) -> bool:
    """A conversation state of a tip-off, a follow-up or feedback: updates in it are not
    counted in the statistics (`Context.confidential`)."""
    return state.startswith("tip:") or state == "await_feedback"


#: A typed number up to this that picks no choice is taken as a choice mistyped.
MAX_CHOICE_NUMBER = 20


def _shown_choices(ctx: Context) -> list[list[Any]]:
    return list(ctx.kept("_choices") or [])


def ask_again(ctx: Context, *, private: bool = False) -> None:
    """What was typed is none of the choices shown last: the same choices again, in the same
    state (nothing the resident gave is lost), with a word on how to choose."""
    choices = _shown_choices(ctx)
    rows = [[button] for button in stored_buttons(choices)]
    if ctx.caps.buttons:
        text = ctx._(
            "Sorry, that is not one of the choices. Press one of the buttons below, or type "
            "its number (1 to {n}) or its name.",
            n=len(choices),
        )
    else:
        text = ctx._(
            "Sorry, that is not one of the choices. Type the number (1 to {n}) or the name "
            "of one of these:",
            n=len(choices),
        )
    ctx.reply(text, rows, private=private)


async def _number_answers_an_officer(ctx: Context) -> bool:
    """A bare number typed outside any flow picks from the last list shown, unless an
    officer's question came after that list ("How many were there?" - "2"): nothing stored
    on the resident's side says when the question came, so while one waits a typed number is
    offered as its answer first (one query, and only for typed numbers)."""
    if ctx.inbound.payload or ctx.state or typed_number(ctx.text) is None:
        return False
    return await tip_followup.offer_answer(ctx)


def apologise(ctx: Context) -> None:
    """Shown when handling an update failed: an apology and the way on."""
    main_menu(ctx, apology(ctx))


async def handle(ctx: Context) -> None:
    """Route one update (`_route`); an update in or into a confidential flow is marked so."""
    before = ctx.state
    prefix = ctx.payload.split(":", 1)[0] if ctx.payload else ""
    try:
        await _route(ctx)
    finally:
        if (
            prefix in CONFIDENTIAL_PAYLOADS
            or confidential_state(before)
            or confidential_state(ctx.state)
        ):
            ctx.confidential = True


async def _route(ctx: Context) -> None:
    """Command, then button/choice, then the flow in progress, then intent."""
    inbound = ctx.inbound
    if inbound.kind == "follow":  # Zalo OA: followed (or followed again)
        actions.set_subscribed(ctx.session, ctx.resident, True)
        await onboarding.start(ctx)
        return
    if inbound.kind == "unfollow":  # nothing can be sent to someone who left
        actions.set_subscribed(ctx.session, ctx.resident, False)
        ctx.clear_state()
        return
    if inbound.kind == "location":
        if ctx.state in router.location_states:  # the place of a tip, say
            await router.states[ctx.state](ctx)
        else:
            await onboarding.location_shared(ctx)
        return
    if inbound.kind == "text" and ctx.text.startswith("/"):
        name = ctx.text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if ctx.text[1:] else ""
        command = router.commands.get(name)
        await (command or menu.help_command)(ctx)
        return
    if ctx.payload and await _number_answers_an_officer(ctx):
        return
    if ctx.payload:
        prefix = ctx.payload.split(":", 1)[0]
        if prefix not in CONFIDENTIAL_PAYLOADS:
            actions.record_event(ctx.session, ctx.resident, "tap", prefix)
        if await router.run_payload(ctx, ctx.payload):
            return
        # A button from an old message that no longer means anything.
        await menu.show_menu(ctx)
        return
    if inbound.kind not in ("text", "button") and ctx.state not in router.media_states:
        # photos (outside the tip's photo step), files, stickers, protected users
        await menu.unsupported(ctx)
        return
    number = typed_number(ctx.text) if inbound.kind == "text" else None
    if number is not None and number <= MAX_CHOICE_NUMBER and _shown_choices(ctx):
        # a number the list does not have (larger ones, "113" say, are not meant as choices)
        ask_again(ctx, private=confidential_state(ctx.state))
        return
    state_handler = router.states.get(ctx.state)
    if state_handler is not None:
        await state_handler(ctx)
        return
    if ctx.state and _shown_choices(ctx):
        # a step answered only by a choice, and what was typed is none of them: ask again,
        # keeping everything given so far
        ask_again(ctx, private=confidential_state(ctx.state))
        return
    if not ctx.resident.onboarded and ctx.state != "onboarding":
        await onboarding.start(ctx)
        return
    if inbound.kind == "text" and ctx.text:
        await menu.fallback(ctx)
        return
    await menu.unsupported(ctx)
