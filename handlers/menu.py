"""Main menu, help, and the answer to anything unexpected (never silence)."""

from __future__ import annotations

import re
from typing import Final

from bot.core.context import Context
from bot.core.render import NO_WORDS, choices_of, resolve_choice
from bot.core.text import fold
from bot.core.types import Button, Reply
from bot.tips.workflow import ANSWER_PAYLOAD
from content import answers
from content.library import load_library
from content.unanswered import record_unanswered
from handlers import tip_followup
from handlers._common import main_menu, menu_buttons
from handlers._router import router
from handlers.tip_intake import discard_draft

__all__ = ["answer_question", "fallback", "help_command", "show_menu", "unsupported"]

#: What an intent of content/answers.py opens (greeting and thanks get a word and the menu).
_INTENT_PAYLOADS: Final[dict[str, str]] = {
    "hotline": "hot",
    "tip": "tip",
    "follow": "tipf",
    "festival": "fest",
    "feedback": "fb",
    "settings": "set",
    "unsubscribe": "sub:off",
    "library": "lib",
    "help": "help",
    "menu": "m",
}
#: Intents never acted on without the resident choosing them: stopping the news.
_ASK_FIRST: Final = frozenset({"unsubscribe"})
#: Typed to answer an officer's question (handlers.tip_followup).
_ANSWER_WORDS: Final = frozenset({"tra loi", "traloi", "answer", "reply"})
#: A phone number alone ("0905 123 456", "+84 905123456").
_PHONE_NUMBER: Final = re.compile(r"\+?[\d .\-()]{8,18}")
#: From this many words, a text the bot cannot answer may be an account of something that
#: happened: the way to report it is pointed out.
_TELLING_WORDS: Final = 10
#: Most choices under "Did you mean…?".
MAX_GUESSES: Final = 3


@router.payload("m")
async def show_menu(ctx: Context) -> None:
    main_menu(ctx)


@router.payload("cancel")
async def cancel(ctx: Context) -> None:
    await discard_draft(ctx)  # a tip's photos go with it
    main_menu(ctx, ctx._("Cancelled. Main menu:"))


@router.command("help")
@router.payload("help")
async def help_command(ctx: Context) -> None:
    ctx.clear_state()
    how = (
        ctx._("• Press a button, or type its number or its name.")
        if ctx.caps.buttons
        else ctx._("• Type the number or the name of what you choose.")
    )
    ctx.reply(
        "\n".join(
            [
                ctx._(
                    "I am the bot of the provincial police for the movement "
                    '"All people protect national security".'
                ),
                "",
                ctx._(
                    "• Ask in your own words, for example “bị lừa đảo qua mạng thì làm sao” "
                    "or “số điện thoại công an xã”."
                ),
                how,
                ctx._("• Type a report code (TG-…) to follow your report up."),
                ctx._("• /menu shows the main menu, /stop stops news from us, /start starts over."),
                ctx._("• In an emergency call 113 at once."),
            ]
        ),
        menu_buttons(ctx),
    )


@router.command("menu")
async def menu_command(ctx: Context) -> None:
    main_menu(ctx)


async def fallback(ctx: Context) -> None:
    """Free text that no flow expects: a tip code, an answer to an officer, "trả lời", then
    a question for content/answers.py; what it cannot answer is passed on to staff."""
    if fold(ctx.text) in _ANSWER_WORDS:
        await router.run_payload(ctx, ANSWER_PAYLOAD)
        return
    if await tip_followup.follow_code_typed(ctx):
        return
    if await tip_followup.offer_answer(ctx):
        return
    # the main menu's items answer to their names wherever the resident is ("to giac")
    chosen = resolve_choice(ctx.text, choices_of([Reply("", menu_buttons(ctx))]))
    if chosen is not None and await router.run_payload(ctx, chosen):
        return
    await answer_question(ctx, ctx.text)


@tip_followup.when_not_an_answer
async def answer_question(ctx: Context, text: str) -> None:
    """Answer `text` from the library, its topics and the bot's features (content/answers.py):
    the answer when sure, "Did you mean…?" when less so, and when there is none an honest
    "no answer yet", the menu and 113, the question passed on to staff (masked, no sender).
    Also what a resident said was not their answer to an officer (`offer_answer`)."""
    if not any(c.isalnum() for c in text):  # 👍, 🙂, "?", a sticker's emoji
        main_menu(ctx, ctx._("I am here! Ask me in your own words, or choose below."))
        return
    if _PHONE_NUMBER.fullmatch(text):  # we cannot call anyone back: the numbers to call
        await router.run_payload(ctx, "hot")
        return
    found = [a for a in answers.answer(text) if _choice(ctx, a) is not None]
    if not found:
        if not ctx.confidential:  # not a text first offered as an answer to an officer
            await record_unanswered(ctx.session, text, ctx.lang)
        reply = ctx._(
            "Sorry, I do not have an answer to that yet; our staff will see the question. "
            "Ask in other words, or choose below. In an emergency call 113."
        )
        if len(text.split()) >= _TELLING_WORDS:  # more an account than a question
            reply += "\n\n" + ctx._(
                "If you want to tell the police about something that happened, choose "
                "“🚨 Report a crime”: it reaches them without your name."
            )
        main_menu(ctx, reply)
        return
    best = found[0]
    if best.score >= answers.CONFIDENT and best.id not in _ASK_FIRST:
        await _open(ctx, best)
        return
    choices = [c for a in found[:MAX_GUESSES] if (c := _choice(ctx, a)) and c.payload != "m"]
    rows = [[choice] for choice in choices]
    rows.append([Button(ctx._("🏠 Main menu"), "m", NO_WORDS)])  # "không": none of these
    ctx.reply(ctx._("Did you mean…?"), rows)


async def _open(ctx: Context, found: answers.Answer) -> None:
    if found.kind == "intent" and found.id in ("greeting", "thanks"):
        if found.id == "greeting":
            intro = ctx._(
                "Hello! I am the assistant of the provincial police. Ask me in your own "
                "words, or choose below."
            )
        else:
            intro = ctx._("You are welcome! Anything else? Ask me, or choose below.")
        main_menu(ctx, intro)
        return
    choice = _choice(ctx, found)
    if choice is not None:
        await router.run_payload(ctx, choice.payload)


def _choice(ctx: Context, found: answers.Answer) -> Button | None:
    """The button that opens an answer; None for one that cannot be opened (an item or a
    topic gone since the index was built, small talk)."""
    library = load_library()
    try:
        if found.kind == "item":
            item = library.item(found.id)
            return Button(item.title.get(ctx.lang), f"lib:i:{item.id}:0")
        if found.kind == "topic":
            topic = library.topic(found.id)
            return Button(topic.title.get(ctx.lang), f"lib:t:{topic.id}:0")
    except KeyError:
        return None
    payload = _INTENT_PAYLOADS.get(found.id)
    if payload is None:  # greeting, thanks
        return Button(ctx._("🏠 Main menu"), "m") if found.id in ("greeting", "thanks") else None
    return Button(_intent_label(ctx, found.id), payload)


def _intent_label(ctx: Context, intent: str) -> str:
    _ = ctx._
    labels = {
        "hotline": _("☎️ Hotlines"),
        "tip": _("🚨 Report a crime"),
        "follow": _("🔎 Follow a report"),
        "festival": _("🇻🇳 Festival 19/8"),
        "feedback": _("💬 Feedback"),
        "settings": _("⚙️ Settings"),
        "unsubscribe": _("🔕 Stop news from us"),
        "library": _("📚 Legal education"),
        "help": _("❓ Help"),
        "menu": _("🏠 Main menu"),
    }
    return labels[intent]


async def unsupported(ctx: Context) -> None:
    """Content we cannot read. Mid-flow the resident keeps their place; else, the menu."""
    if ctx.caps.buttons:
        text = ctx._(
            "I can only read text messages and buttons. Choose one of the options below. "
            "In an emergency call 113."
        )
    else:
        text = ctx._(
            "I can only read text messages. Type the number of one of the options below, "
            "or ask in words. In an emergency call 113."
        )
    if ctx.state:
        ctx.reply(ctx._("I can only read text messages. Please answer in text."))
    else:
        main_menu(ctx, text)
