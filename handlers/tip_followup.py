"""Theo dõi tin báo: with the code and the PIN, from any account, a tipster sees the status
of their report and the officers' questions. Nothing of what they wrote is repeated.

The code being followed up is kept sealed in the conversation state; wrong PINs are counted
on the tip and lock it for a while, so PINs cannot be guessed.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select
from sqlmodel import col

from bot.core.context import Context
from bot.core.types import Button
from bot.models import Tip, TipMessage, utcnow
from bot.tips.codes import normalise_code, verify_pin
from bot.tips.relay import RelayKeyError
from handlers._common import back_row
from handlers._router import router
from handlers.tip_intake import cipher_of

__all__ = ["MAX_PIN_FAILURES", "follow_up"]

MAX_PIN_FAILURES = 5
PIN_LOCK = timedelta(hours=1)


def _status_label(ctx: Context, status: str) -> str:
    _ = ctx._
    return {
        "new": _("New (not yet taken up)"),
        "accepted": _("Taken up"),
        "verifying": _("Being verified"),
        "transferred": _("Passed to another unit"),
        "resolved": _("Dealt with"),
        "insufficient": _("Not enough grounds"),
        "false": _("Found to be false"),
    }.get(status, status)


def _say(ctx: Context, text: str, buttons: list[list[Button]] | None = None) -> None:
    ctx.reply(text, buttons, private=True)


@router.payload("tipf")
async def follow_up(ctx: Context) -> None:
    ctx.set_state("tip:code")
    _say(
        ctx,
        ctx._("Follow a report: type its code (for example TG-7K3M9Q)."),
        [back_row(ctx)],
    )


@router.state("tip:code")
async def code_typed(ctx: Context) -> None:
    cipher = cipher_of(ctx)
    code = normalise_code(ctx.text)
    if cipher is None or code is None:
        ctx.set_state("tip:code")
        _say(
            ctx, ctx._("That is not a report code. Type it again, e.g. TG-7K3M9Q."), [back_row(ctx)]
        )
        return
    ctx.set_state("tip:pin", code=cipher.seal_text(code))
    _say(ctx, ctx._("Now type the 6-digit PIN you received with the code."), [back_row(ctx)])


@router.state("tip:pin")
async def pin_typed(ctx: Context) -> None:
    cipher = cipher_of(ctx)
    token = ctx.state_data.get("code")
    ctx.clear_state()
    try:
        code = cipher.open_text(token) if cipher and isinstance(token, str) else None
    except RelayKeyError:
        code = None
    tip = None
    if code is not None:
        stmt = select(Tip).where(col(Tip.code) == code)
        tip = (await ctx.session.execute(stmt)).scalar_one_or_none()
    now = utcnow()
    if tip is not None and tip.pin_locked_until is not None and tip.pin_locked_until > now:
        _say(
            ctx, ctx._("Too many wrong PINs for this code. Try again in an hour."), [back_row(ctx)]
        )
        return
    pin_ok = tip is not None and await asyncio.to_thread(verify_pin, tip.pin_hash, ctx.text)
    if tip is None or not pin_ok:
        if tip is not None:
            tip.pin_failures += 1
            if tip.pin_failures >= MAX_PIN_FAILURES:
                tip.pin_locked_until, tip.pin_failures = now + PIN_LOCK, 0
        # the same answer whether the code exists or not
        _say(
            ctx,
            ctx._("The code or the PIN is not right."),
            [[Button(ctx._("🔎 Try again"), "tipf")], back_row(ctx)],
        )
        return
    tip.pin_failures = 0
    questions = (
        (
            await ctx.session.execute(
                select(col(TipMessage.text))
                .where(col(TipMessage.tip_id) == tip.id, col(TipMessage.kind) == "officer")
                .order_by(col(TipMessage.id))
            )
        )
        .scalars()
        .all()
    )
    lines = [ctx._("Report {code}: {status}", code=tip.code, status=_status_label(ctx, tip.status))]
    if questions:
        lines += ["", ctx._("Questions from the officers:"), *(f"• {q}" for q in questions)]
    else:
        lines += ["", ctx._("The officers have no questions for you at the moment.")]
    _say(ctx, "\n".join(lines), [back_row(ctx)])
