"""Theo dõi tin báo: with the code and the PIN, from any account, a tipster sees the status
of their report and the officers' questions. Nothing of what they wrote is repeated.

The code being followed up is kept sealed in the conversation state; wrong PINs are counted
on the tip and lock it for a while, so PINs cannot be guessed. Codes that do not exist lock
the same way (counted in memory), so the answers never tell which codes exist.

A tip code typed anywhere outside a flow starts the follow-up (`follow_code_typed`, called by
the menu's fallback). Answering officers' questions is `handlers.tip_answer` (re-exported
here: `offer_answer`, `when_not_an_answer`, `answer`).
"""

from __future__ import annotations

import asyncio
import re
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
from bot.tips.workflow import ANSWER_STATE
from handlers._common import back_row
from handlers._router import router
from handlers.tip_answer import (
    REPLY_STATE,
    WHICH_STATE,
    NotAnAnswer,
    answer,
    offer_answer,
    waiting_tips,
    when_not_an_answer,
    words,
)
from handlers.tip_intake import cipher_of

__all__ = [
    "REPLY_STATE",
    "WHICH_STATE",
    "NotAnAnswer",
    "answer",
    "code_in",
    "follow_code_typed",
    "follow_up",
    "offer_answer",
    "when_not_an_answer",
]

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
    code = normalise_code(ctx.text) or code_in(ctx.text)  # asked for: any code, or in words
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
    code = _code_followed(ctx, cipher)
    tip = None
    if code is not None:
        stmt = select(Tip).where(col(Tip.code) == code)
        tip = (await ctx.session.execute(stmt)).scalar_one_or_none()
    now = utcnow()
    if tip is not None:
        locked = pin_locked(tip, now)
    else:
        locked = code is not None and _unknown_codes.locked(code, now)
    pin_ok = tip is not None and not locked and await _pin_right(ctx, tip, cipher)
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
    reseal = None
    if cipher is not None and is_hashed_pin(tip.pin_hash):  # sealed like new PINs from now on
        reseal = (cipher, typed_pin(ctx.text))
    pin_accepted(tip, reseal)
    await _show_report(ctx, tip, cipher)


def _code_followed(ctx: Context, cipher: RelayCipher | None) -> str | None:
    """The code typed at the step before, as sealed in the state; None if it cannot be read."""
    token = ctx.state_data.get("code")
    try:
        return cipher.open_text(token) if cipher and isinstance(token, str) else None
    except RelayKeyError:
        return None


async def _pin_right(ctx: Context, tip: Tip, cipher: RelayCipher | None) -> bool:
    """Whether the typed text is the tip's PIN."""
    check = partial(verify_pin, tip.pin_hash, ctx.text, cipher)
    if not is_hashed_pin(tip.pin_hash):
        return check()  # sealed: microseconds
    # An argon2 hash from before PINs were sealed: about 0.1 s of CPU, in a worker thread so
    # the event loop goes on. The batch of updates this one is handled with waits for it;
    # such hashes are only left on tips filed before PINs were sealed, each until it is
    # followed up once, and the lock caps the wrong tries (`MAX_PIN_FAILURES` per `PIN_LOCK`).
    return await asyncio.to_thread(check)


async def _show_report(ctx: Context, tip: Tip, cipher: RelayCipher | None) -> None:
    """Code and PIN were right: the report's status and the officers' questions, and this
    chat may answer them, whoever's account it is."""
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
        if tip.status not in CLOSED and cipher is not None:
            ctx.set_state(ANSWER_STATE, tip=cipher.seal_text(str(tip.id)))
            lines += ["", ctx._("To answer, type your answer now.")]
    else:
        lines += ["", ctx._("The officers have no questions for you at the moment.")]
    _say(ctx, "\n".join(lines), [back_row(ctx)])


# --- a code typed outside any flow (called by handlers.menu's fallback) ------------------

_CODE_AFTER_PREFIX = re.compile(r"(?<!\w)TG[\s\-_.:#]*((?:[A-Z0-9][\-_.]?){5}[A-Z0-9])(?!\w)")
_BARE_CODE = re.compile(r"(?<!\w)(?:[A-Z0-9][\-_.]?){5}[A-Z0-9](?!\w)")
_SEPARATORS = re.compile(r"[\s\-_.]+")


def code_in(text: str) -> str | None:
    """The tip code in what a resident typed ("TG-7K3M9Q", "mã tg7k3m9q nhé", "7K3M-9Q"),
    canonical, or None. Without the "TG" prefix, inside a sentence, only a word of six code
    characters with both a digit and a letter counts ("camera" or "NGUYEN" are no codes)."""
    whole = normalise_code(text)
    if whole is not None and (_mixed(whole) or len(_SEPARATORS.sub("", text)) > 6):
        return whole  # "TG7K3M9Q", or six code characters mixing digits and letters
    upper = text.upper()
    for match in _CODE_AFTER_PREFIX.finditer(upper):
        code = normalise_code(match.group(1))
        if code is not None:
            return code
    for match in _BARE_CODE.finditer(upper):
        code = normalise_code(match.group(0))
        if code is not None and _mixed(code):
            return code
    return None


def _mixed(code: str) -> bool:
    body = code.split("-", 1)[1]
    return any(c.isdigit() for c in body) and any(c.isalpha() for c in body)


async def follow_code_typed(ctx: Context) -> bool:
    """A tip code typed outside any flow ("TG-7K3M9Q", "theo dõi tg7k3m9q"): the follow-up
    starts with it and asks for the PIN. False (nothing done) if the text holds no code, if
    tips are not configured, or if the text is more than the code and answers an open
    question of this chat on that very report (`offer_answer` takes it then)."""
    code = code_in(ctx.text)
    cipher = cipher_of(ctx)
    if code is None or cipher is None:
        return False
    if len(words(ctx.text)) > 3 and any(t.code == code for t in await waiting_tips(ctx, cipher)):
        return False
    ctx.set_state("tip:pin", code=cipher.seal_text(code))
    _say(
        ctx,
        ctx._("To follow report {code}, type the 6-digit PIN you received with it.", code=code),
        [back_row(ctx)],
    )
    return True
