"""Tố giác tội phạm: an anonymous tip, step by step (category, urgency, place, time, what
happened, optional photos), reviewed and sent; the resident keeps a code and a PIN.

Privacy: every message of this flow is private (deleted from the outbox once delivered); the
tip being written is kept sealed in the conversation state and dropped when the resident
leaves the flow; nothing here writes the resident's id next to anything about the tip.
Photos arrive already downloaded and re-encoded without metadata (bot/tips/photo_fetch.py);
until the tip is sent they are kept under random ids that only the sealed draft lists
(bot/tips/draft_photos.py).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import date, datetime, timedelta
from functools import cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from bot.core.context import Context
from bot.core.render import NO_WORDS, YES_WORDS
from bot.core.types import Button, FetchedPhoto
from bot.tips import draft_photos
from bot.tips.actions import Draft, submit_tip
from bot.tips.draft_photos import MAX_PHOTOS
from bot.tips.photos import MAX_BYTES
from bot.tips.ratelimit import DailyLimit
from bot.tips.relay import RelayCipher, RelayKeyError, cipher_for
from bot.tips.states import CATEGORIES, CATEGORY_LABELS
from content.locality import Candidate, lookup, nearest
from handlers._common import commune_name, main_menu
from handlers._router import router
from handlers.hotlines import hotline_lines
from handlers.onboarding import CLEAR_LEAD, CONFIDENT_SCORE
from handlers.report import report

__all__ = ["PHOTO_STATE", "cipher_of", "discard_draft", "tip"]

MAX_DETAIL = 500
MAX_WHEN = 200
MIN_DESCRIPTION = 10
MAX_DESCRIPTION = 4000
#: The step where photos are fetched and taken (bot/tips/photo_fetch.py downloads only here).
PHOTO_STATE = "tip:photos"
#: The photo step once `MAX_PHOTOS` are attached: further photos are refused undownloaded.
PHOTOS_FULL_STATE = "tip:photos:full"


#: Words residents type for the choices of the steps, folded (`Button.words`).
_NOW = ("dang xay ra", "bay gio", "vua xong", "vua moi", "luc nay", "now", "right now")
_DONT_KNOW = ("khong biet", "ko biet", "k biet", "ko bik", "k bik", "khong ro", "khong nho", "idk")
_SKIP = ("bo qua", "skip", "khong", "ko", "k", "khong co", "ko co", "no", "thoi", "next", "tiep")
_DONE = ("xong", "done", "het", "du roi", "ok", "tiep", "tiep tuc", "next", "thoi", "khong", "ko")
_SEND = ("gui", "gui di", "gui tin", "gui bao cao", "send", "send it", "xong", *YES_WORDS)
_REDO = ("viet lai", "sua", "sua lai", "lam lai", "redo", "edit", "rewrite")
_GO_ON = ("tiep", "tiep tuc", "continue", "go on", "next", *YES_WORDS)

#: What the per-address limit counts under (the web chat's `Inbound.client_tag`).
_ADDRESS = "address"
#: Where the tip being written is kept in the (sealed) conversation state: a "_" key, which
#: `Context.clear_state` keeps, so leaving the flow for the menu does not lose it.
_DRAFT = "_tip"
#: A tip left unsent is kept this long (by its day) before it is dropped; its photos are
#: deleted by housekeeping after `draft_photos.DRAFT_PHOTO_RETENTION`.
DRAFT_KEPT = timedelta(days=1)


@cache
def _daily_limit(limit: int) -> DailyLimit:
    return DailyLimit(limit)


@cache
def _address_limit(limit: int) -> DailyLimit:
    return DailyLimit(limit)


def _counters(ctx: Context) -> list[tuple[DailyLimit, str, str]]:
    """The daily counts a tip from here falls under: the resident's, and on the web chat,
    where a new cookie makes a new resident, also the client address's."""
    counters = [
        (_daily_limit(ctx.settings.tip_daily_limit), ctx.resident.channel, ctx.resident.chat_id)
    ]
    if ctx.inbound.client_tag:
        limit = _address_limit(ctx.settings.tip_daily_limit_per_address)
        counters.append((limit, _ADDRESS, ctx.inbound.client_tag))
    return counters


def _today(ctx: Context) -> date:
    return datetime.now(ZoneInfo(ctx.settings.timezone)).date()


def _limited(ctx: Context) -> bool:
    """True (and the resident is told) when they have sent as many tips today as allowed."""
    today = _today(ctx)
    if all(limit.allowed(kind, who, today) for limit, kind, who in _counters(ctx)):
        return False
    ctx.clear_state()
    _say(
        ctx,
        ctx._(
            "You have sent many reports today. Please call your commune police or 113 if "
            "something else happens."
        ),
        [[Button(ctx._("☎️ Hotlines"), "hot")], [Button(ctx._("🏠 Main menu"), "m")]],
    )
    return True


def cipher_of(ctx: Context) -> RelayCipher | None:
    """The relay cipher from settings, or None when tips are not configured."""
    return cipher_for(ctx.settings.tip_relay_keys.get_secret_value())


def _category_label(ctx: Context, category: str) -> str:
    return ctx._(CATEGORY_LABELS[category]) if category in CATEGORY_LABELS else category


def _load(ctx: Context, cipher: RelayCipher) -> Draft:
    """The tip being written, as sealed in the conversation (`_DRAFT`); a new one if there is
    none, or if it was left for longer than a day."""
    kept = ctx.kept(_DRAFT)
    if not isinstance(kept, dict) or not isinstance(kept.get("draft"), str):
        return Draft()
    if str(kept.get("day", "")) < (_today(ctx) - DRAFT_KEPT).isoformat():
        return Draft()  # its photos went with housekeeping (bot/tips/draft_photos.py)
    try:
        return Draft(**json.loads(cipher.open_text(kept["draft"])))
    except (RelayKeyError, ValueError, TypeError):
        return Draft()


def _kept_step(ctx: Context) -> str:
    """The step the tip being written was left at ("" if there is none)."""
    kept = ctx.kept(_DRAFT)
    step = kept.get("step", "") if isinstance(kept, dict) else ""
    return step if step in _ASK else ""


def _drop(ctx: Context) -> None:
    """Forget the tip being written (sent, or given up)."""
    ctx.forget(_DRAFT)


async def _open_draft(ctx: Context) -> tuple[RelayCipher, Draft] | None:
    """The cipher and the tip being written; None when tips are not configured (phone
    guidance shown) or the draft is gone (the notice shown: start again)."""
    cipher = cipher_of(ctx)
    if cipher is None:
        await report(ctx)
        return None
    draft = _load(ctx, cipher)
    if not draft.category:  # left for more than a day (or lost with a removed key)
        _drop(ctx)
        _say(ctx, ctx._("The report you were writing was kept for a day and has been deleted."))
        _notice(ctx)
        return None
    return cipher, draft


def _save(ctx: Context, cipher: RelayCipher, state: str, draft: Draft) -> None:
    """Go to step `state` with `draft`. The draft is kept under `_DRAFT`, which outlives the
    state: a resident who goes to the menu or the library finds it again (`tip`)."""
    ctx.set_state(state)
    sealed = cipher.seal_text(json.dumps(asdict(draft)))
    ctx.keep(_DRAFT, {"draft": sealed, "step": state, "day": _today(ctx).isoformat()})


def _say(ctx: Context, text: str, buttons: list[list[Button]] | None = None) -> None:
    ctx.reply(text, buttons, private=True)


def _cancel_row(ctx: Context) -> list[Button]:
    return [Button(ctx._("Cancel"), "cancel", ("huy", "huy bo", "cancel"))]


async def _discard_photos(ctx: Context, draft: Draft) -> None:
    """The draft is being given up: its photos go at once, not a day later."""
    await draft_photos.discard(ctx.session, draft.photos)


async def discard_draft(ctx: Context) -> None:
    """Cancel pressed or typed at a step of the tip: the tip being written and its photos
    go. (Cancel elsewhere, in the feedback say, leaves a tip being written alone.)"""
    cipher = cipher_of(ctx)
    if cipher is not None and ctx.state in _ASK:
        await _discard_photos(ctx, _load(ctx, cipher))
        _drop(ctx)


# --- the steps reached by a button, "tip:<step>:<arg>" ---------------------------------------

#: A step gets the cipher, the tip being written (as sealed in the state) and the button's arg.
ButtonStep = Callable[[Context, RelayCipher, Draft, str], Awaitable[None]]


async def _begin(ctx: Context, cipher: RelayCipher, draft: Draft, arg: str) -> None:
    """Continue after the notice: a fresh tip, if the resident may send one more today."""
    await _discard_photos(ctx, draft)
    _drop(ctx)
    if not _limited(ctx):
        _ask_category(ctx, cipher, Draft())


async def _start_again(ctx: Context, cipher: RelayCipher, draft: Draft, arg: str) -> None:
    """ "Start a new report" instead of the one left unsent: that one and its photos go."""
    await _discard_photos(ctx, draft)
    _drop(ctx)
    _notice(ctx)


async def _resume(ctx: Context, cipher: RelayCipher, draft: Draft, arg: str) -> None:
    """Back to the step the tip left unsent was at."""
    _ASK[_kept_step(ctx) or "tip:category"](ctx, cipher, draft)


async def _category_chosen(ctx: Context, cipher: RelayCipher, draft: Draft, arg: str) -> None:
    draft.category = arg
    _ask_urgency(ctx, cipher, draft)


async def _urgency_chosen(ctx: Context, cipher: RelayCipher, draft: Draft, arg: str) -> None:
    draft.urgent = arg == "1"
    if draft.urgent:
        _say(
            ctx,
            "\n".join([ctx._("🚨 Call 113 now, or your commune police:"), *hotline_lines(ctx)[:3]]),
        )
    _ask_place(ctx, cipher, draft)


async def _place_chosen(ctx: Context, cipher: RelayCipher, draft: Draft, arg: str) -> None:
    commune = int(arg)
    draft.commune_code = commune if commune and commune_name(commune) else None
    _ask_detail(ctx, cipher, draft)


async def _detail_skipped(ctx: Context, cipher: RelayCipher, draft: Draft, arg: str) -> None:
    _ask_when(ctx, cipher, draft)


async def _time_chosen(ctx: Context, cipher: RelayCipher, draft: Draft, arg: str) -> None:
    draft.occurred = arg
    _ask_description(ctx, cipher, draft)


async def _write_again(ctx: Context, cipher: RelayCipher, draft: Draft, arg: str) -> None:
    _ask_description(ctx, cipher, draft)


async def _to_review(ctx: Context, cipher: RelayCipher, draft: Draft, arg: str) -> None:
    _review(ctx, cipher, draft)


async def _send(ctx: Context, cipher: RelayCipher, draft: Draft, arg: str) -> None:
    """File the tip (bot/tips/actions.py) and give the resident its code and PIN, once."""
    if _limited(ctx):
        return
    route = (ctx.resident.channel, ctx.resident.chat_id)
    code, pin = await submit_tip(ctx.session, draft, route, cipher, ctx.settings)
    today = _today(ctx)
    for limit, kind, who in _counters(ctx):
        limit.count(kind, who, today)
    ctx.clear_state()
    _drop(ctx)
    _say(
        ctx,
        ctx._(
            "Thank you. Your report has been sent to the police.\n\n"
            "Report code: {code}\nPIN: {pin}\n\n"
            'Keep them to follow up ("Follow a report"); we will never show them again '
            "and never repeat what you wrote. If officers need more details they will ask "
            "here.",
            code=code,
            pin=pin,
        ),
    )
    main_menu(ctx, ctx._("Main menu — choose what you need:"))


def _anything(draft: Draft, arg: str) -> bool:
    return True


def _has_category(draft: Draft, arg: str) -> bool:
    return bool(draft.category)


def _has_description(draft: Draft, arg: str) -> bool:
    return bool(draft.category and draft.description)


class _Step(NamedTuple):
    #: Whether the button fits the tip being written: one from an old message may not.
    fits: Callable[[Draft, str], bool]
    run: ButtonStep


#: The buttons of the flow, in its order. The ones the resident types an answer to instead
#: are states (`place_typed`, `detail_typed`, `when_typed`, `description_typed`, `photo_sent`).
_STEPS: dict[str, _Step] = {
    "go": _Step(_anything, _begin),
    "new": _Step(_anything, _start_again),
    "resume": _Step(_has_category, _resume),
    "cat": _Step(lambda draft, arg: arg in CATEGORIES, _category_chosen),
    "urg": _Step(_has_category, _urgency_chosen),
    "pl": _Step(lambda draft, arg: bool(draft.category) and arg.isdigit(), _place_chosen),
    "nodetail": _Step(_has_category, _detail_skipped),
    "t": _Step(
        lambda draft, arg: bool(draft.category) and arg in ("now", "today", "earlier"),
        _time_chosen,
    ),
    "redo": _Step(_has_category, _write_again),
    "review": _Step(_has_description, _to_review),
    "send": _Step(_has_description, _send),
}


@router.payload("tip")
async def tip(ctx: Context, what: str = "", arg: str = "") -> None:
    """A button of the tip-off: the step it names, if it fits the tip being written (see
    `_STEPS`). Anything else, the menu's "Report a crime" included, offers to go on with a
    tip left unsent (kept a day), or starts with the notice."""
    cipher = cipher_of(ctx)
    if cipher is None:  # no relay key configured: guidance to report by phone only
        await report(ctx)
        return
    draft = _load(ctx, cipher)
    step = _STEPS.get(what)
    if step is not None and step.fits(draft, arg):
        await step.run(ctx, cipher, draft, arg)
        return
    if draft.category and _kept_step(ctx):
        _offer_to_resume(ctx, draft)
        return
    await _discard_photos(ctx, draft)
    _drop(ctx)
    _notice(ctx)


# --- what the steps show -------------------------------------------------------------------


def _seen_by(ctx: Context) -> str:
    """What this channel's platform sees of a conversation, in plain words, and the way
    round it (docs/anonymity.md)."""
    web = f"{ctx.settings.public_url.rstrip('/')}/chat" if ctx.settings.public_url else ""
    if ctx.caps.seen_by == "nobody":
        return ctx._(
            "• This page is the police's own: no messaging app is involved, and your "
            "address is not stored with your report."
        )
    if ctx.caps.seen_by == "inbox":
        text = ctx._(
            "• Not anonymous here: on this Zalo Official Account the staff who manage it "
            "can read this conversation in Zalo, next to your Zalo profile. For a report we "
            "recommend the web form, which passes no Zalo identity."
        )
        return f"{text} {web}" if web else text
    text = ctx._(
        "• What is not anonymous: the messaging app itself knows you wrote to this bot. "
        "The web chat avoids that."
    )
    return f"{text} {web}" if web else text


def _notice(ctx: Context) -> None:
    ctx.clear_state()
    _say(
        ctx,
        "\n".join(
            [
                ctx._("Report a crime anonymously"),
                "",
                ctx._("• We do not store or show who you are: officers see only what you write."),
                _seen_by(ctx),
                ctx._("• In an emergency call 113 now."),
                ctx._(
                    "• Reports with details that can be checked (place, time, what you saw) "
                    "are the ones that can be acted on."
                ),
            ]
        ),
        [
            [Button(ctx._("Continue"), "tip:go", _GO_ON)],
            [Button(ctx._("🔎 Follow a report"), "tipf")],
            [Button(ctx._("☎️ Hotlines"), "hot")],
            _cancel_row(ctx),
        ],
    )


def _offer_to_resume(ctx: Context, draft: Draft) -> None:
    ctx.set_state("tip:resume")
    _say(
        ctx,
        ctx._(
            "You have a report you have not sent yet ({category}). Go on with it, or start "
            "a new one? (Starting a new one deletes it.)",
            category=_category_label(ctx, draft.category),
        ),
        [
            [Button(ctx._("✍️ Go on with it"), "tip:resume", _GO_ON)],
            [Button(ctx._("🗑 Start a new report"), "tip:new", ("moi", "new", "bat dau lai"))],
            [Button(ctx._("🏠 Main menu"), "m")],
        ],
    )


def _press(ctx: Context, label: str) -> str:
    """How to pick the choice `label` on this channel: tap it, or (no buttons) type it."""
    if ctx.caps.buttons:
        return ctx._("tap “{label}”", label=label)
    return ctx._("type “{label}”", label=label)


def _ask_category(ctx: Context, cipher: RelayCipher, draft: Draft) -> None:
    _save(ctx, cipher, "tip:category", draft)
    rows = [[Button(_category_label(ctx, c), f"tip:cat:{c}")] for c in CATEGORIES]
    _say(ctx, ctx._("What is it about?"), [*rows, _cancel_row(ctx)])


def _ask_urgency(ctx: Context, cipher: RelayCipher, draft: Draft) -> None:
    _save(ctx, cipher, "tip:urgent", draft)
    _say(
        ctx,
        ctx._("Is it happening now, or is someone in danger?"),
        [
            [Button(ctx._("🚨 Yes, happening now"), "tip:urg:1", (*YES_WORDS, *_NOW))],
            [Button(ctx._("No"), "tip:urg:0", NO_WORDS)],
            _cancel_row(ctx),
        ],
    )


def _ask_detail(ctx: Context, cipher: RelayCipher, draft: Draft, note: str = "") -> None:
    _save(ctx, cipher, "tip:detail", draft)
    ask = ctx._(
        "Where exactly? (village, street, a landmark…) Type it, or skip if you would rather "
        "not say."
    )
    _say(
        ctx,
        f"{note}\n{ask}" if note else ask,
        [[Button(ctx._("Skip"), "tip:nodetail", _SKIP)], _cancel_row(ctx)],
    )


def _ask_place(ctx: Context, cipher: RelayCipher, draft: Draft) -> None:
    _save(ctx, cipher, "tip:place", draft)
    rows = []
    own = commune_name(ctx.resident.commune_code)
    if own:
        rows.append([Button(own, f"tip:pl:{ctx.resident.commune_code}", exact=True)])
    rows.append([Button(ctx._("I don't know"), "tip:pl:0", _DONT_KNOW)])
    text = ctx._("In which commune or ward did it happen? Type its name.")
    if ctx.caps.location:
        text += " " + ctx._("You can also share the location of the place.")
    _say(ctx, text, [*rows, _cancel_row(ctx)])


def _ask_when(ctx: Context, cipher: RelayCipher, draft: Draft) -> None:
    _save(ctx, cipher, "tip:when", draft)
    _say(
        ctx,
        ctx._("When did it happen? Choose, or type a date or time."),
        [
            [
                Button(ctx._("Now / just now"), "tip:t:now", _NOW),
                Button(ctx._("Today"), "tip:t:today", ("hom nay", "today")),
            ],
            [Button(ctx._("Earlier"), "tip:t:earlier", ("truoc do", "earlier"))],
            _cancel_row(ctx),
        ],
    )


def _ask_description(ctx: Context, cipher: RelayCipher, draft: Draft) -> None:
    _save(ctx, cipher, "tip:description", draft)
    _say(
        ctx,
        ctx._(
            "What happened? Describe it in one message: who, what, where exactly, vehicles, "
            "times. Do not put yourself in danger to find out more."
        ),
        [_cancel_row(ctx)],
    )


@router.state("tip:place", location=True)
async def place_typed(ctx: Context) -> None:
    """A commune typed (candidates offered), or a location shared: the tip's place, never
    the resident's home commune."""
    opened = await _open_draft(ctx)
    if opened is None:
        return
    cipher, draft = opened
    if ctx.inbound.kind == "location":
        _place_located(ctx, cipher, draft)
        return
    candidates = lookup(ctx.text, ctx.settings.province_code, limit=4) if ctx.text else []
    if candidates and _clear_best(candidates):
        draft.commune_code = candidates[0].code
        note = ctx._("Place: {name}.", name=candidates[0].name)
        _ask_detail(ctx, cipher, draft, note)
        return
    rows = [[Button(c.name, f"tip:pl:{c.code}", exact=True)] for c in candidates]
    rows.append([Button(ctx._("I don't know"), "tip:pl:0", _DONT_KNOW)])
    text = (
        ctx._("Which one?")
        if candidates
        else ctx._("I could not find that commune. Type the name again, or choose below.")
    )
    _save(ctx, cipher, "tip:place", draft)
    _say(ctx, text, [*rows, _cancel_row(ctx)])


def _clear_best(candidates: list[Candidate]) -> bool:
    """Whether the first commune found is sure enough to take without asking (it is named
    in the next question and in the review before sending)."""
    lead = candidates[0].score - (candidates[1].score if len(candidates) > 1 else 0.0)
    return candidates[0].score >= CONFIDENT_SCORE and lead >= CLEAR_LEAD


def _place_located(ctx: Context, cipher: RelayCipher, draft: Draft) -> None:
    """A location shared at the place step: its commune, and the point itself for the
    officers (the tipster chose to give it)."""
    point = ctx.inbound.location
    found = nearest(point.latitude, point.longitude, ctx.settings.province_code) if point else []
    if point is None or not found:
        _save(ctx, cipher, "tip:place", draft)
        _say(
            ctx,
            ctx._(
                "That location is not in our province. Type the name of the commune or ward "
                "where it happened, or choose below."
            ),
            [[Button(ctx._("I don't know"), "tip:pl:0", _DONT_KNOW)], _cancel_row(ctx)],
        )
        return
    draft.commune_code = found[0].code
    draft.place_detail = ctx._(
        "Location shared: {lat:.5f}, {lon:.5f}", lat=point.latitude, lon=point.longitude
    )
    note = ctx._("Location received: near {name}.", name=found[0].name)
    _ask_detail(ctx, cipher, draft, note)


@router.state("tip:detail")
async def detail_typed(ctx: Context) -> None:
    opened = await _open_draft(ctx)
    if opened is None:
        return
    cipher, draft = opened
    # after a shared location, what is typed adds to the point
    shared = draft.place_detail
    draft.place_detail = (f"{shared} — {ctx.text}" if shared else ctx.text)[:MAX_DETAIL]
    _ask_when(ctx, cipher, draft)


@router.state("tip:when")
async def when_typed(ctx: Context) -> None:
    opened = await _open_draft(ctx)
    if opened is None:
        return
    cipher, draft = opened
    draft.occurred = ctx.text[:MAX_WHEN]
    _ask_description(ctx, cipher, draft)


@router.state("tip:description")
async def description_typed(ctx: Context) -> None:
    opened = await _open_draft(ctx)
    if opened is None:
        return
    cipher, draft = opened
    if len(ctx.text) < MIN_DESCRIPTION:
        _save(ctx, cipher, "tip:description", draft)
        _say(ctx, ctx._("Please describe what happened in a few sentences."), [_cancel_row(ctx)])
        return
    draft.description = ctx.text[:MAX_DESCRIPTION]
    _ask_photos(ctx, cipher, draft)


def _ask_photos(ctx: Context, cipher: RelayCipher, draft: Draft) -> None:
    full = len(draft.photos) >= MAX_PHOTOS
    _save(ctx, cipher, PHOTOS_FULL_STATE if full else PHOTO_STATE, draft)
    if full:
        text = ctx._(
            "You have attached {max} photos, the most a report can carry. To continue, {press}.",
            max=MAX_PHOTOS,
            press=_press(ctx, ctx._("Done")),
        )
    elif draft.photos:
        text = ctx._(
            "You have attached {count} of {max} photos. Send another, or {press}.",
            count=len(draft.photos),
            max=MAX_PHOTOS,
            press=_press(ctx, ctx._("Done")),
        )
    else:
        text = ctx._(
            "Do you have photos? Send up to {max} photos, or {press}.\n\n"
            "We remove the location and camera details from photos before storing them, but "
            "what a photo shows (a view from a window, say) can still point to who took it.",
            max=MAX_PHOTOS,
            press=_press(ctx, ctx._("Skip")),
        )
    _say(ctx, text, _photo_buttons(ctx, draft))


def _photo_buttons(ctx: Context, draft: Draft) -> list[list[Button]]:
    if draft.photos:
        return [[Button(ctx._("Done"), "tip:review", _DONE)], _cancel_row(ctx)]
    return [[Button(ctx._("Skip"), "tip:review", _SKIP)], _cancel_row(ctx)]


def _photo_problem(ctx: Context, problem: str) -> str:
    """Why a photo was not attached, in words a resident can act on."""
    _ = ctx._
    if problem == "too_large":
        return _(
            "This photo is too large (more than {mb} MB). Please send a smaller photo.",
            mb=MAX_BYTES // (1024 * 1024),
        )
    if problem == "too_many_pixels":
        return _("This picture is too large to open safely. Please send a normal photo.")
    if problem in ("not_an_image", "not_a_picture"):
        return _("Only photos (JPEG, PNG or WebP) can be attached to a report, not other files.")
    if problem == "unsupported_type":
        return _(
            "This picture format cannot be opened here (HEIC, for example). Please send it as "
            "a normal photo rather than a file, or send a screenshot of it."
        )
    if problem == "corrupt":
        return _("This photo seems to be damaged. Please send it again.")
    return _("We could not receive this photo. Please send it again.")


@router.state(PHOTO_STATE, media=True)
@router.state(PHOTOS_FULL_STATE, media=True)
async def photo_sent(ctx: Context) -> None:
    opened = await _open_draft(ctx)
    if opened is None:
        return
    cipher, draft = opened
    buttons = _photo_buttons(ctx, draft)
    if ctx.inbound.kind not in ("photo", "file"):  # typed text, a sticker…
        _save(ctx, cipher, ctx.state, draft)
        label = ctx._("Done") if draft.photos else ctx._("Skip")
        _say(ctx, ctx._("Please send a photo, or {press}.", press=_press(ctx, label)), buttons)
        return
    if len(draft.photos) >= MAX_PHOTOS:
        _save(ctx, cipher, PHOTOS_FULL_STATE, draft)
        _say(
            ctx,
            ctx._(
                "A report can carry at most {max} photos; this one was not added. "
                "To continue, {press}.",
                max=MAX_PHOTOS,
                press=_press(ctx, ctx._("Done")),
            ),
            buttons,
        )
        return
    fetched = ctx.inbound.fetched or FetchedPhoto(problem="download_failed")
    if fetched.problem or not fetched.content:
        _save(ctx, cipher, ctx.state, draft)
        kept = ctx._("What you wrote so far is kept.")
        _say(ctx, f"{_photo_problem(ctx, fetched.problem)}\n{kept}", buttons)
        return
    draft.photos.append(draft_photos.keep(ctx.session, fetched))
    _ask_photos(ctx, cipher, draft)


def _review(ctx: Context, cipher: RelayCipher, draft: Draft) -> None:
    _save(ctx, cipher, "tip:review", draft)
    place = commune_name(draft.commune_code) or ctx._("not known")
    if draft.place_detail:
        place += f" — {draft.place_detail}"
    when = {
        "now": ctx._("Now / just now"),
        "today": ctx._("Today"),
        "earlier": ctx._("Earlier"),
    }.get(draft.occurred, draft.occurred) or ctx._("not known")
    summary = ctx._(
        "Please check your report:\n\n• Type: {category}\n• Place: {place}\n• When: {when}\n"
        "• What happened: {description}",
        category=_category_label(ctx, draft.category),
        place=place,
        when=when,
        description=draft.description,
    )
    summary += "\n" + ctx._("• Photos: {count}", count=len(draft.photos))
    _say(
        ctx,
        summary,
        [
            [Button(ctx._("✅ Send the report"), "tip:send", _SEND)],
            [Button(ctx._("✏️ Write it again"), "tip:redo", _REDO)],
            _cancel_row(ctx),
        ],
    )


#: How each step of the flow is asked (to go on with a tip left unsent, `_resume`).
_ASK: dict[str, Callable[[Context, RelayCipher, Draft], None]] = {
    "tip:category": _ask_category,
    "tip:urgent": _ask_urgency,
    "tip:place": _ask_place,
    "tip:detail": lambda ctx, cipher, draft: _ask_detail(ctx, cipher, draft),
    "tip:when": _ask_when,
    "tip:description": _ask_description,
    PHOTO_STATE: _ask_photos,
    PHOTOS_FULL_STATE: _ask_photos,
    "tip:review": _review,
}
