"""Góp ý: feedback to the police, stored without any link to who wrote it."""

from __future__ import annotations

from bot import actions
from bot.core.context import Context
from bot.core.types import Button
from handlers._common import main_menu
from handlers._router import router

__all__ = ["feedback"]

MIN_CHARS = 3


@router.payload("fb")
async def feedback(ctx: Context) -> None:
    ctx.set_state("await_feedback")
    ctx.reply(
        ctx._(
            "Write your feedback or suggestion to the police in one message. "
            'We do not store who sent it. To report a crime use "Report a crime" instead.'
        ),
        [[Button(ctx._("Cancel"), "cancel")]],
    )


@router.state("await_feedback")
async def feedback_text(ctx: Context) -> None:
    if len(ctx.text) < MIN_CHARS:
        ctx.reply(
            ctx._("Please write your feedback as text (at least a few words)."),
            [[Button(ctx._("Cancel"), "cancel")]],
        )
        return
    actions.record_feedback(ctx.session, ctx.resident, ctx.text)
    main_menu(ctx, ctx._("Thank you! Your feedback has been sent to the police."))
