"""Answers to officers' questions: after a question, the tipster just replies.

An officer's question reaches the tipster with nothing stored on their side (`bot.tips.
workflow.ask_tipster`). Whatever the tipster types next outside a flow, the menu's fallback
hands to `offer_answer`: when this chat has open questions, the text is offered as the answer,
naming the report ("Gửi câu trả lời này cho cán bộ về tin báo TG-…?"; with several reports,
which one). "✍️ Answer" or typing "trả lời" asks for the answer (which report, if several).

Nothing stored says which chat waits on which tip: the tips are found by opening the sealed
routes (`bot.tips.workflow.open_questions`), and the text being confirmed lives only in the
sealed conversation state; the states are "tip:…" ones, confidential. Choices are "tipa:N"
payloads (the N-th report of the sealed list, 0: not an answer), under the "tipa" prefix that
is never recorded as an engagement event. Typed answers are forgiving: yes and no words,
numbers, a report's code or a part of it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from bot.core.context import Context
from bot.core.text import fold
from bot.core.types import Button
from bot.models import Tip
from bot.tips.codes import CODE_ALPHABET
from bot.tips.relay import RelayCipher, RelayKeyError
from bot.tips.states import CLOSED
from bot.tips.workflow import (
    ANSWER_PAYLOAD,
    ANSWER_STATE,
    awaiting_answer,
    open_questions,
    record_answer,
)
from handlers._common import back_row, main_menu
from handlers._router import router
from handlers.tip_intake import cipher_of

__all__ = [
    "REPLY_STATE",
    "WHICH_STATE",
    "NotAnAnswer",
    "answer",
    "offer_answer",
    "waiting_tips",
    "when_not_an_answer",
    "words",
]

MAX_ANSWER = 4000
#: A typed text offered as the answer to an officer's question, waiting for "yes" or a
#: report's code: the text and the tips it may answer are sealed in the state.
REPLY_STATE = "tip:reply"
#: "Answer" (or "trả lời") with open questions on several reports: which one.
WHICH_STATE = "tip:which"
#: Most reports offered at once (the latest questions first).
MAX_OFFERED = 5
#: Of the text being confirmed, what is quoted back when the question is asked again.
PREVIEW_CHARS = 120

#: What becomes of a text the resident said is not an answer: (ctx, text) -> replies.
NotAnAnswer = Callable[[Context, str], Awaitable[None]]


def _say(ctx: Context, text: str, buttons: list[list[Button]] | None = None) -> None:
    ctx.reply(text, buttons, private=True)


@router.payload(ANSWER_PAYLOAD)
async def answer(ctx: Context, pick: str = "") -> None:
    """ "Answer" under an officer's question, or "trả lời" typed: the tip this chat sent with
    an open question, found through the sealed routes (several: which one is asked); else
    the code and PIN are asked. "tipa:N" picks the N-th report of the choice shown last."""
    if pick and ctx.state == REPLY_STATE:
        await _reply_picked(ctx, pick)
        return
    if pick and ctx.state == WHICH_STATE:
        await _which_picked(ctx, pick)
        return
    cipher = cipher_of(ctx)
    tips = await waiting_tips(ctx, cipher) if cipher is not None else []
    if not tips and cipher is not None:  # answered already: more can be added
        route = (ctx.resident.channel, ctx.resident.chat_id)
        latest = await awaiting_answer(ctx.session, route, cipher)
        tips = [latest] if latest is not None else []
    if cipher is None or not tips:  # the code and the PIN, then
        await router.run_payload(ctx, "tipf")
        return
    if len(tips) == 1:
        _ask_for_answer(ctx, cipher, tips[0])
        return
    ctx.set_state(WHICH_STATE, tips=cipher.seal_text(json.dumps([t.id for t in tips])))
    _ask_which(ctx, tips)


def _ask_for_answer(ctx: Context, cipher: RelayCipher, tip: Tip) -> None:
    ctx.set_state(ANSWER_STATE, tip=cipher.seal_text(str(tip.id)))
    _say(
        ctx,
        ctx._("Type your answer to the officer about report {code} in one message.", code=tip.code),
        [[Button(ctx._("Cancel"), "m")]],
    )


def _ask_which(ctx: Context, tips: list[Tip], again: bool = False) -> None:
    text = ctx._("Officers have asked you about several reports. Which report do you answer?")
    if again:
        text = ctx._("Please choose the report: its number or its code.") + "\n\n" + text
    _say(ctx, text, [*_code_rows(tips), [Button(ctx._("Cancel"), "m")]])


@router.state(WHICH_STATE)
async def which_typed(ctx: Context) -> None:
    """A report's code (or a part of it) typed at "which report?"."""
    opened = await _held(ctx, "tips")
    if opened is None:
        return
    cipher, held = opened
    tips = await _tips(ctx, held)
    if _cancels(ctx.text) or _yes_or_no(ctx.text) is False:
        main_menu(ctx, ctx._("Cancelled. Main menu:"))
    elif (tip := _by_code(ctx.text, tips)) is not None:
        _ask_for_answer(ctx, cipher, tip)
    elif tips:
        _ask_which(ctx, tips, again=True)
    else:
        _no_longer(ctx)


async def _which_picked(ctx: Context, pick: str) -> None:
    opened = await _held(ctx, "tips")
    if opened is None:
        return
    cipher, held = opened
    tip = _picked(await _tips(ctx, held), pick)
    if tip is None:
        await answer(ctx)  # a stale choice: look again
        return
    _ask_for_answer(ctx, cipher, tip)


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
    await _send_answer(ctx, tip, ctx.text)


async def _send_answer(ctx: Context, tip: Tip, text: str) -> None:
    ctx.clear_state()
    if tip.status in CLOSED:
        _no_longer(ctx)
        return
    await record_answer(ctx.session, tip, text[:MAX_ANSWER], ctx.settings)
    _say(
        ctx,
        ctx._(
            "Thank you. Your answer about report {code} has been passed to the officers.",
            code=tip.code,
        ),
        [back_row(ctx)],
    )


def _no_longer(ctx: Context) -> None:
    ctx.clear_state()
    _say(ctx, ctx._("This report can no longer be answered here."), [back_row(ctx)])


_not_an_answer: NotAnAnswer | None = None


def when_not_an_answer(handler: NotAnAnswer) -> NotAnAnswer:
    """Register (as a decorator, at import time) what is done with a text `offer_answer`
    offered and the resident said is not an answer: called as `handler(ctx, text)` with the
    state cleared and `ctx.text` set to that text, in the later update of the "no" (possibly
    in another process, hence registered, not passed along). That update is part of a
    follow-up: `ctx.confidential` is already True (it is not counted in the statistics, and
    the text was typed while an officer's question waited). Without one, the main menu is
    shown."""
    global _not_an_answer
    _not_an_answer = handler
    return handler


async def offer_answer(ctx: Context, on_declined: NotAnAnswer | None = None) -> bool:
    """Free text outside any flow while this chat has open questions from officers: offer
    the text as the answer, naming the report ("Send this answer to the officer about report
    TG-…?"; with several reports, which one). Yes, a number or a report's code records it;
    no hands it to the `when_not_an_answer` handler. "trả lời" alone is the "Answer" button.
    False (nothing done) when no question waits: one query, no decryption then.

    `on_declined`, if given, is registered as with `when_not_an_answer` (a module-level
    function, the same on every call: the "no" comes in a later update)."""
    if on_declined is not None and on_declined is not _not_an_answer:
        when_not_an_answer(on_declined)
    cipher = cipher_of(ctx)
    if cipher is None or not ctx.text or words(ctx.text) in _NOT_OFFERED:
        return False
    tips = await waiting_tips(ctx, cipher)
    if not tips:
        return False
    if words(ctx.text) in _ANSWER_WORDS:
        await answer(ctx)
        return True
    text = ctx.text[:MAX_ANSWER]
    data = {"text": text, "tips": [t.id for t in tips]}
    ctx.set_state(REPLY_STATE, reply=cipher.seal_text(json.dumps(data, ensure_ascii=False)))
    _offer(ctx, text, tips)
    return True


def _offer(ctx: Context, text: str, tips: list[Tip], again: bool = False) -> None:
    if len(tips) == 1:
        ask = ctx._("Send this answer to the officer about report {code}?", code=tips[0].code)
        buttons = [[Button(ctx._("✅ Yes, send"), f"{ANSWER_PAYLOAD}:1")], [_not_answer(ctx)]]
    else:
        ask = ctx._("Is this your answer to an officer's question? Choose the report:")
        buttons = [*_code_rows(tips), [_not_answer(ctx)]]
    if again:
        preview = text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS].rstrip() + "…"
        ask = f"“{preview}”\n\n{ask}"
    _say(ctx, ask, buttons)


def _not_answer(ctx: Context) -> Button:
    return Button(ctx._("No, this is not an answer"), f"{ANSWER_PAYLOAD}:0")


@router.state(REPLY_STATE)
async def reply_typed(ctx: Context) -> None:
    """Typed at "send this answer?": yes or no words, or a report's code (or part of it)."""
    opened = await _held(ctx, "reply")
    if opened is None:
        return
    _, held = opened
    text = str(held.get("text", ""))
    tips = await _tips(ctx, held)
    yes = _yes_or_no(ctx.text)
    if _cancels(ctx.text):
        main_menu(ctx, ctx._("Cancelled. Main menu:"))
    elif yes is False:
        await _declined(ctx, text)
    elif yes and len(tips) == 1:
        await _send_answer(ctx, tips[0], text)
    elif (tip := _by_code(ctx.text, tips)) is not None:
        await _send_answer(ctx, tip, text)
    elif tips:
        _offer(ctx, text, tips, again=True)
    else:
        _no_longer(ctx)


async def _reply_picked(ctx: Context, pick: str) -> None:
    opened = await _held(ctx, "reply")
    if opened is None:
        return
    _, held = opened
    text = str(held.get("text", ""))
    if pick == "0":
        await _declined(ctx, text)
        return
    tip = _picked(await _tips(ctx, held), pick)
    if tip is None:
        _no_longer(ctx)
        return
    await _send_answer(ctx, tip, text)


async def _declined(ctx: Context, text: str) -> None:
    ctx.clear_state()
    _say(ctx, ctx._("OK, it was not sent to the officer."))
    ctx.text = text
    ctx.confidential = True
    if _not_an_answer is not None:
        await _not_an_answer(ctx, text)
    else:
        main_menu(ctx)


# --- helpers -------------------------------------------------------------------------------


async def waiting_tips(ctx: Context, cipher: RelayCipher) -> list[Tip]:
    """This chat's open tips with a question not answered yet, the latest first."""
    route = (ctx.resident.channel, ctx.resident.chat_id)
    return (await open_questions(ctx.session, route, cipher))[:MAX_OFFERED]


async def _held(ctx: Context, key: str) -> tuple[RelayCipher, dict[str, object]] | None:
    """What the state holds sealed under `key`; if it cannot be read, the resident is told
    and None returned."""
    cipher = cipher_of(ctx)
    token = ctx.state_data.get(key)
    held: object = None
    try:
        if cipher is not None and isinstance(token, str):
            held = json.loads(cipher.open_text(token))
    except (RelayKeyError, ValueError):
        held = None
    if cipher is None or not isinstance(held, dict | list):
        _no_longer(ctx)
        return None
    return cipher, held if isinstance(held, dict) else {"tips": held}


async def _tips(ctx: Context, held: dict[str, object]) -> list[Tip]:
    """The tips a state holds, in its order, those still open."""
    ids = held.get("tips")
    found = []
    for tip_id in ids if isinstance(ids, list) else []:
        tip = await ctx.session.get(Tip, tip_id) if isinstance(tip_id, int) else None
        if tip is not None and tip.status not in CLOSED:
            found.append(tip)
    return found


def _picked(tips: list[Tip], pick: str) -> Tip | None:
    index = int(pick) - 1 if pick.isdigit() else -1
    return tips[index] if 0 <= index < len(tips) else None


def _code_rows(tips: list[Tip]) -> list[list[Button]]:
    return [[Button(tip.code, f"{ANSWER_PAYLOAD}:{n}")] for n, tip in enumerate(tips, start=1)]


def _by_code(text: str, tips: list[Tip]) -> Tip | None:
    """The one tip whose code the text names, whole or in part ("7K3", "tg-7k3m"), or None."""
    pieces = {"".join(words(text)).upper(), *(w.upper() for w in words(text))}
    pieces = {p[2:] if p.startswith("TG") and len(p) > 2 else p for p in pieces}
    pieces = {p for p in pieces if len(p) >= 3 and all(c in CODE_ALPHABET for c in p)}
    named = [t for t in tips if any(p in t.code.split("-", 1)[1] for p in pieces)]
    return named[0] if len(named) == 1 else None


def words(text: str) -> tuple[str, ...]:
    """The text folded (no diacritics, lower case), in words of letters and digits."""
    return tuple("".join(c if c.isalnum() else " " for c in fold(text)).split())


#: Typed at a yes/no step: the first word says which (folded, as `_words` gives them).
_YES = frozenset(
    {"co", "u", "uh", "uhm", "um", "uk", "ok", "oke", "okay", "okie", "yes", "y", "yep",
     "yeah", "gui", "send", "dung", "vang", "da", "duoc", "dc", "dong", "sure"}
)  # fmt: skip
_NO = frozenset(
    {"khong", "ko", "k", "kh", "khg", "kg", "hong", "hok", "khum", "no", "n", "nope", "thoi",
     "sai", "chua"}
)  # fmt: skip
_CANCEL = frozenset({("huy",), ("cancel",), ("menu",), ("thoat",), ("huy", "bo")})
#: Whole texts never offered as an answer: they ask for something else.
_NOT_OFFERED = frozenset({("menu",), ("help",), ("huy",), ("cancel",), ("trang", "chu")})
#: "trả lời" alone: what the officer's question told residents to type before.
_ANSWER_WORDS = frozenset({("tra", "loi"), ("answer",), ("tl",)})


def _yes_or_no(text: str) -> bool | None:
    """True for "có", "ừ", "ok", "gửi đi"…, False for "không", "ko", "k"…; else None."""
    if text.strip() in ("👍", "👌"):
        return True
    if text.strip().lower().startswith("đừng"):  # "don't": folded, it would read "đúng"
        return False
    typed = words(text)
    if not typed or len(typed) > 4:
        return None
    if typed[0] in _NO:
        return False
    if typed[0] in _YES and not any(w in _NO for w in typed[1:]):
        return True
    return None


def _cancels(text: str) -> bool:
    return words(text) in _CANCEL
