"""Theo dõi tin báo: with the code and the PIN, from any account, a tipster sees the status
of their report and the officers' questions. Nothing of what they wrote is repeated.

The code being followed up is kept sealed in the conversation state; wrong PINs are counted
on the tip and lock it for a while, so PINs cannot be guessed. Codes that do not exist lock
the same way (counted in memory), so the answers never tell which codes exist.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy import select
from sqlmodel import col

from bot.core.context import Context
from bot.core.types import Button
from bot.models import Tip, TipMessage, utcnow
from bot.tips.codes import is_hashed_pin, normalise_code, typed_pin, verify_pin
from bot.tips.pins import MAX_PIN_FAILURES, PIN_LOCK, pin_accepted, pin_failed, pin_locked
from bot.tips.relay import RelayCipher, RelayKeyError
from bot.tips.states import CLOSED, RESIDENT_STATUS_LABELS
from bot.tips.unknown_codes import UnknownCodeLocks
from bot.tips.workflow import ANSWER_PAYLOAD, ANSWER_STATE, awaiting_answer, record_answer
from handlers._common import back_row
from handlers._router import router
from handlers.tip_intake import cipher_of

__all__ = ["answer", "follow_up"]

MAX_ANSWER = 4000
_unknown_codes = UnknownCodeLocks(MAX_PIN_FAILURES, PIN_LOCK)


def _status_label(ctx: Context, status: str) -> str:
    label = RESIDENT_STATUS_LABELS.get(status)
    return ctx._(label) if label else status


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
    try:
        code = cipher.open_text(token) if cipher and isinstance(token, str) else None
    except RelayKeyError:
        code = None
    tip = None
    if code is not None:
        stmt = select(Tip).where(col(Tip.code) == code)
        tip = (await ctx.session.execute(stmt)).scalar_one_or_none()
    now = utcnow()
    if tip is not None:
        locked = pin_locked(tip, now)
    else:
        locked = code is not None and _unknown_codes.locked(code, now)
    pin_ok = False
    reseal: tuple[RelayCipher, str] | None = None
    if tip is not None and not locked:
        check = partial(verify_pin, tip.pin_hash, ctx.text, cipher)
        if is_hashed_pin(tip.pin_hash):
            # an older argon2 hash: checked outside the transaction (the batch is not held
            # up), so before any change; once right, the PIN is sealed like new ones
            pin_ok = ctx.compute(f"pin:{tip.id}", check)
            if pin_ok and cipher is not None:
                reseal = (cipher, typed_pin(ctx.text))
        else:
            pin_ok = check()
    ctx.clear_state()
    try_again = [[Button(ctx._("🔎 Try again"), "tipf")], back_row(ctx)]
    # the same answers whether the code exists or not; a tipster who mistyped the code is
    # told to check it, one who mistyped the PIN to wait
    if locked:
        _say(
            ctx,
            ctx._(
                "Too many wrong tries with this code. Check that you typed the code right; "
                "if it is right, try again in an hour."
            ),
            try_again,
        )
        return
    if tip is None or not pin_ok:
        if tip is not None:
            pin_failed(tip, now)
        elif code is not None:
            _unknown_codes.failed(code, now)
        _say(ctx, ctx._("The code or the PIN is not right."), try_again)
        return
    pin_accepted(tip, reseal)
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
    buttons = [back_row(ctx)]
    if questions:
        lines += ["", ctx._("Questions from the officers:"), *(f"• {q}" for q in questions)]
        if tip.status not in CLOSED and cipher is not None:
            # code and PIN were right: this chat may answer, whoever's account it is
            ctx.set_state(ANSWER_STATE, tip=cipher.seal_text(str(tip.id)))
            lines += ["", ctx._("To answer, type your answer now.")]
    else:
        lines += ["", ctx._("The officers have no questions for you at the moment.")]
    _say(ctx, "\n".join(lines), buttons)


@router.payload(ANSWER_PAYLOAD)
async def answer(ctx: Context) -> None:
    """ "Answer" under an officer's question, or "trả lời" typed: the tip this chat sent with
    the latest question, found through the sealed routes; else the code and PIN are asked."""
    cipher = cipher_of(ctx)
    route = (ctx.resident.channel, ctx.resident.chat_id)
    tip = await awaiting_answer(ctx.session, route, cipher) if cipher is not None else None
    if cipher is None or tip is None:
        await follow_up(ctx)
        return
    ctx.set_state(ANSWER_STATE, tip=cipher.seal_text(str(tip.id)))
    _say(
        ctx,
        ctx._("Type your answer to the officer in one message."),
        [[Button(ctx._("Cancel"), "m")]],
    )


@router.state(ANSWER_STATE)
async def answer_typed(ctx: Context) -> None:
    cipher = cipher_of(ctx)
    token = ctx.state_data.get("tip")
    ctx.clear_state()
    try:
        tip_id = cipher.open_text(token) if cipher and isinstance(token, str) else ""
    except RelayKeyError:
        tip_id = ""
    tip = await ctx.session.get(Tip, int(tip_id)) if tip_id.isdigit() else None
    if tip is None or tip.status in CLOSED:
        _say(ctx, ctx._("This report can no longer be answered here."), [back_row(ctx)])
        return
    if not ctx.text:
        ctx.set_state(ANSWER_STATE, tip=token)
        _say(ctx, ctx._("Please type your answer as text."), [[Button(ctx._("Cancel"), "m")]])
        return
    await record_answer(ctx.session, tip, ctx.text[:MAX_ANSWER], ctx.settings)
    _say(
        ctx,
        ctx._("Thank you. Your answer has been passed to the officers."),
        [back_row(ctx)],
    )
