"""Hostile bodies at every webhook and at the web chat, against the running product.

For the Telegram webhook, the Zalo Bot webhook, the Zalo OA webhook (every body correctly
signed, so it reaches the parser) and the web chat's send endpoint, Hypothesis posts random
JSON, real updates with fields replaced, removed or added, and real updates whose text is
hostile (NFD, zero-width, bidirectional controls, emoji sequences, lone surrogates, NUL, huge
and fake digits). Then a fixed list: empty, invalid UTF-8, deep nesting, a 5000-digit
number, bodies at and just over the size limit (sent whole and chunked), wrong content types
and wrong or missing secrets.

Every answer must be 2xx or 4xx, nothing may be logged at ERROR, no resident may be sent the
apology of a failed handler, and afterwards a resident still gets a normal answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from bot.core.limits import MAX_WEBHOOK_BODY_BYTES
from bot.models import WebChatMessage
from bot.runtime import TELEGRAM_WEBHOOK_PATH, ZALO_BOT_WEBHOOK_PATH, ZALO_OA_WEBHOOK_PATH
from tests.handlers.test_tip_photos import DESCRIPTION, TO_PHOTOS
from tests.harness import (
    WEBHOOK_SECRET,
    ZALO_BOT_SECRET,
    Resident,
    Stack,
    TelegramResident,
    WebResident,
    WebStepper,
    ZaloBotResident,
    ZaloOAResident,
    run_dialogue,
    running_stack,
)
from tests.hostile.fuzz import Fuzz, apologies_in, error_records
from tests.hostile.strategies import (
    deep_nesting,
    encode_json,
    hostile_settings,
    hostile_text,
    json_values,
    mutated,
)

#: Bodies Hypothesis generates per endpoint (random JSON, mutated updates, hostile texts).
BODIES = 150
#: Hostile texts typed at each step of the tip dialogue (a new resident each).
STEP_EXAMPLES = 6
TG_CHAT = 880001
ZALO_CHAT = "0a1b2c3d4e5f6071ffff"
OA_USER = "6142494823000000777"
WEB_MAX_BODY = 16 * 1024
#: Template ids, replaced by fresh ones in each example (unless the mutation changed them).
TEMPLATE_ID = "TEMPLATE-ID"
TEMPLATE_UUID = "00000000-0000-4000-8000-000000000000"


@dataclass
class Endpoint:
    """How to talk to one webhook: where, with which headers, and what a real body is."""

    url: str
    headers: Callable[[bytes], dict[str, str]]
    #: Real updates of the kinds the platform sends (their ids are templates).
    templates: list[dict[str, Any]]
    #: Gives a template's ids fresh values, so each example is a new update.
    fresh: Callable[[Any, int], None]
    #: The template with this text as the resident's message.
    with_text: Callable[[str], dict[str, Any]]
    #: Largest body the endpoint takes.
    limit: int
    #: Headers without the right secret or signature, and the status they must get.
    refused: list[tuple[dict[str, str], int]]
    #: Someone who must still be answered normally afterwards, and what they say first.
    resident: Callable[[], Resident]
    #: Run first in the fuzzing thread (the web chat's visitor opens the page for a cookie).
    setup: Callable[[Fuzz], None] | None = None


def _json(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"Content-Type": "application/json", **(extra or {})}


def telegram(stack: Stack) -> Endpoint:
    chat = {"id": TG_CHAT, "type": "private", "first_name": "An"}
    user = {"id": TG_CHAT, "is_bot": False, "first_name": "An", "language_code": "vi"}
    message = {"message_id": 7, "date": 1700000000, "chat": chat, "from": user}

    def text(value: str) -> dict[str, Any]:
        return {"update_id": TEMPLATE_ID, "message": {**message, "text": value}}

    templates = [
        text("/start"),
        {
            "update_id": TEMPLATE_ID,
            "callback_query": {
                "id": "4382bfdwdsb323b2d9",
                "from": user,
                "chat_instance": "-123456789",
                "data": "menu",
                "message": {**message, "text": "Menu"},
            },
        },
        {
            "update_id": TEMPLATE_ID,
            "message": {**message, "location": {"latitude": 13.78, "longitude": 109.23}},
        },
        {
            "update_id": TEMPLATE_ID,
            "message": {
                **message,
                "caption": "ảnh",
                "photo": [
                    {
                        "file_id": "AgAD",
                        "file_unique_id": "u1",
                        "width": 90,
                        "height": 60,
                        "file_size": 1234,
                    }
                ],
            },
        },
        {
            "update_id": TEMPLATE_ID,
            "message": {
                **message,
                "document": {
                    "file_id": "BQAD",
                    "file_unique_id": "u2",
                    "file_name": "a.pdf",
                    "mime_type": "application/pdf",
                    "file_size": 99,
                },
            },
        },
        {"update_id": TEMPLATE_ID, "edited_message": {**message, "text": "sửa"}},
    ]

    def fresh(doc: Any, n: int) -> None:
        if isinstance(doc, dict) and doc.get("update_id") == TEMPLATE_ID:
            doc["update_id"] = 10_000_000 + n

    secret = "X-Telegram-Bot-Api-Secret-Token"
    return Endpoint(
        url=stack.runtime.url + TELEGRAM_WEBHOOK_PATH,
        headers=lambda body: _json({secret: WEBHOOK_SECRET}),
        templates=templates,
        fresh=fresh,
        with_text=text,
        limit=MAX_WEBHOOK_BODY_BYTES,
        refused=[
            (_json(), 401),
            (_json({secret: ""}), 401),
            (_json({secret: WEBHOOK_SECRET[:-1]}), 401),
            (_json({secret: WEBHOOK_SECRET.upper()}), 401),
        ],
        resident=lambda: TelegramResident(stack, TG_CHAT + 1),
    )


def zalo_bot(stack: Stack) -> Endpoint:
    def message(**fields: Any) -> dict[str, Any]:
        return {
            "message_id": TEMPLATE_ID,
            "date": 1750316131602,
            "from": {"id": ZALO_CHAT, "display_name": "Ân", "is_bot": False},
            "chat": {"id": ZALO_CHAT, "chat_type": "PRIVATE"},
            **fields,
        }

    def text(value: str) -> dict[str, Any]:
        return {"event_name": "message.text.received", "message": message(text=value)}

    templates = [
        text("/start"),
        {"ok": True, "result": text("1")},
        {
            "event_name": "message.image.received",
            "message": message(photo_url="https://x/a.jpg", caption="c"),
        },
        {"event_name": "message.sticker.received", "message": message(sticker="abc")},
        {"event_name": "message.unsupported.received", "message": message()},
        {"event_name": "webhook.test", "message": {"message_id": "webhook-test"}},
    ]

    def fresh(doc: Any, n: int) -> None:
        for body in (doc, doc.get("result") if isinstance(doc, dict) else None):
            msg = body.get("message") if isinstance(body, dict) else None
            if isinstance(msg, dict) and msg.get("message_id") == TEMPLATE_ID:
                msg["message_id"] = f"hostile{n:013d}"

    secret = "X-Bot-Api-Secret-Token"
    return Endpoint(
        url=stack.runtime.url + ZALO_BOT_WEBHOOK_PATH,
        headers=lambda body: _json({secret: ZALO_BOT_SECRET}),
        templates=templates,
        fresh=fresh,
        with_text=text,
        limit=MAX_WEBHOOK_BODY_BYTES,
        refused=[
            (_json(), 403),
            (_json({secret: "wrong-secret-value"}), 403),
            (_json({secret: ZALO_BOT_SECRET.upper()}), 403),
        ],
        resident=lambda: ZaloBotResident(stack, "feedfacefeedface0001"),
    )


def oa_signature(stack: Stack, raw: bytes) -> str:
    """`X-ZEvent-Signature` for these exact bytes, as Zalo computes it (the timestamp is the
    one the product reads back from the parsed body, whatever its type)."""
    assert stack.zalo_oa is not None
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        body = None
    timestamp = str(body.get("timestamp", "")) if isinstance(body, dict) else ""
    digest = hashlib.sha256()
    for part in (stack.zalo_oa.app_id.encode(), raw, timestamp.encode("utf-8", "surrogatepass")):
        digest.update(part)
    digest.update(stack.zalo_oa.oa_secret_key.encode())
    return "mac=" + digest.hexdigest()


def zalo_oa(stack: Stack) -> Endpoint:
    assert stack.zalo_oa is not None
    app_id = stack.zalo_oa.app_id
    now_ms = int(time.time() * 1000)  # older events are refused unhandled (replays)

    def event(name: str, **message: Any) -> dict[str, Any]:
        return {
            "app_id": app_id,
            "user_id_by_app": "552177279717587730",
            "event_name": name,
            "timestamp": str(now_ms),
            "sender": {"id": OA_USER},
            "recipient": {"id": "579745863508352884"},
            "message": {"msg_id": TEMPLATE_ID, **message},
        }

    def text(value: str) -> dict[str, Any]:
        return event("user_send_text", text=value)

    location = {
        "type": "location",
        "payload": {"coordinates": {"latitude": "13.78", "longitude": "109.23"}},
    }
    image = {"type": "image", "payload": {"thumbnail": "https://x/t.jpg", "url": "https://x/a.jpg"}}
    templates = [
        text("/start"),
        text("#q:menu"),
        event("user_send_location", attachments=[location]),
        event("user_send_image", text="ảnh", attachments=[image]),
        event("user_send_sticker", attachments=[{"type": "sticker", "payload": {"id": "s"}}]),
        {
            "app_id": app_id,
            "event_name": "follow",
            "timestamp": TEMPLATE_ID,
            "follower": {"id": OA_USER},
            "oa_id": "1",
        },
        event("oa_send_text", text="echo"),
        event("user_seen_message"),
    ]

    def fresh(doc: Any, n: int) -> None:
        if not isinstance(doc, dict):
            return
        msg = doc.get("message")
        if isinstance(msg, dict) and msg.get("msg_id") == TEMPLATE_ID:
            msg["msg_id"] = f"hostile{n:025d}"
        if doc.get("timestamp") == TEMPLATE_ID:
            doc["timestamp"] = str(now_ms + n)

    header = "X-ZEvent-Signature"
    good = text("/help")
    return Endpoint(
        url=stack.runtime.url + ZALO_OA_WEBHOOK_PATH,
        headers=lambda body: _json({header: oa_signature(stack, body)}),
        templates=templates,
        fresh=fresh,
        with_text=text,
        limit=MAX_WEBHOOK_BODY_BYTES,
        refused=[
            (_json(), 403),
            (_json({header: "mac=" + "0" * 64}), 403),
            (_json({header: "sha256=" + oa_signature(stack, encode_json(good))[4:]}), 403),
            (_json({header: oa_signature(stack, b"{}")}), 403),
        ],
        resident=lambda: ZaloOAResident(stack, "6142494823000000778"),
    )


def webchat(stack: Stack, web: WebResident) -> Endpoint:
    def text(value: str) -> dict[str, Any]:
        return {"id": TEMPLATE_UUID, "text": value}

    def fresh(doc: Any, n: int) -> None:
        if isinstance(doc, dict) and doc.get("id") == TEMPLATE_UUID:
            doc["id"] = str(uuid.UUID(int=n, version=4))

    return Endpoint(
        url=stack.runtime.url + "/chat/api/send",
        headers=lambda body: _json(),
        templates=[text("/start"), {"id": TEMPLATE_UUID, "payload": "menu"}, text("1")],
        fresh=fresh,
        with_text=text,
        limit=WEB_MAX_BODY,
        refused=[
            (_json({"Origin": "https://evil.example"}), 403),
            (_json({"Origin": "null"}), 403),
            ({"Content-Type": "text/plain"}, 415),
        ],
        resident=lambda: WebStepper(web, stack.runtime),
        setup=lambda fuzz: fuzz.request("GET", stack.runtime.url + "/chat", allowed=(200,)),
    )


def _is_text(value: str) -> bool:
    """Text a platform could really send: no NUL, no unpaired surrogate."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def _fixed_bodies(ep: Endpoint) -> Iterator[tuple[str, bytes, dict[str, str]]]:
    """(what, body, headers) for the hand-made hostile bodies, headers signing each."""
    good = ep.with_text("xin chào")
    ep.fresh(good, 1)
    greeting = encode_json("xin chào")
    deep = 100_000
    cases: list[tuple[str, bytes]] = [
        ("empty", b""),
        ("not JSON", b"{not json"),
        ("invalid UTF-8", b"\xff\xfe\x00garbage"),
        ("UTF-8 of a lone surrogate", encode_json(ep.with_text("a\ud800b"), raw_utf8=True)),
        ("overlong UTF-8", encode_json(good).replace(b"xin", b"\xc1\xb8in")),
        ("BOM then JSON", b"\xef\xbb\xbf" + encode_json(good)),
        ("UTF-16 JSON", json.dumps(good).encode("utf-16")),
        ("null", b"null"),
        ("a list", b"[1, 2, 3]"),
        ("a string", b'"\\ud800"'),
        ("NaN", b"NaN"),
        ("100,000 nested arrays", deep_nesting(deep)),
        ("100,000 nested objects", deep_nesting(deep, "object")),
        ("1 MiB of [", b"[" * (ep.limit - 1)),
        ("900 nested arrays as the text", encode_json(good).replace(greeting, deep_nesting(900))),
        (
            "a 5000-digit number",
            b'{"update_id": ' + b"9" * 5000 + b', "id": 1' + b"0" * 5000 + b"}",
        ),
        ("a 5000-digit number as the text", encode_json(good).replace(greeting, b"1" * 5000)),
        ("1e999", b'{"update_id": 1e999, "timestamp": -1e999}'),
        ("duplicate keys", b'{"update_id": 1, "update_id": "x", "message": 1, "message": {}}'),
        ("NUL escaped", encode_json(ep.with_text("a\x00b"))),
    ]
    for what, body in cases:
        yield what, body, ep.headers(body)


def _at_the_limit(ep: Endpoint, size: int, n: int) -> bytes:
    """A real update padded with text to exactly `size` bytes."""
    doc = ep.with_text("")
    ep.fresh(doc, n)
    pad = size - len(encode_json(doc))
    doc = ep.with_text("x" * pad)
    ep.fresh(doc, n)
    body = encode_json(doc)
    assert len(body) == size
    return body


def fuzz_endpoint(fuzz: Fuzz, ep: Endpoint) -> None:
    numbers = iter(range(1, 10**9))

    def post(body: bytes | Iterator[bytes], headers: dict[str, str] | None = None) -> int:
        assert headers is not None or isinstance(body, bytes)
        headers = headers or ep.headers(body)  # type: ignore[arg-type]
        return fuzz.request("POST", ep.url, content=body, headers=headers)

    if ep.setup is not None:
        ep.setup(fuzz)

    @hostile_settings(BODIES)
    @given(
        st.one_of(
            json_values(),
            st.sampled_from(ep.templates).flatmap(mutated),
            st.sampled_from(ep.templates),
        ),
        st.booleans(),
    )
    def random_and_mutated(doc: Any, raw_utf8: bool) -> None:
        ep.fresh(doc, next(numbers))
        post(encode_json(doc, raw_utf8))

    @hostile_settings(BODIES // 2)
    @given(hostile_text(8))
    def hostile_texts(text: str) -> None:
        doc = ep.with_text(text)
        ep.fresh(doc, next(numbers))
        body = encode_json(doc)
        status = post(body)
        if _is_text(text) and text.strip() and len(body) <= ep.limit:
            assert status == 200, (text, status)

    random_and_mutated()
    hostile_texts()
    for what, body, headers in _fixed_bodies(ep):
        status = post(body, headers)
        assert status < 500, what
    for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        body = encode_json(ep.templates[0])
        post(body, {**ep.headers(body), "Content-Type": kind})
    # at the size limit, just over it, and over it without a Content-Length (chunked)
    assert post(_at_the_limit(ep, ep.limit, next(numbers))) == 200
    assert post(_at_the_limit(ep, ep.limit + 1, next(numbers))) == 413
    over = _at_the_limit(ep, ep.limit + 1, next(numbers))
    chunks = (over[i : i + 65536] for i in range(0, len(over), 65536))
    assert post(chunks, ep.headers(over)) == 413
    for headers, status in ep.refused:
        body = encode_json(ep.templates[0])
        fuzz.request("POST", ep.url, content=body, headers=headers, allowed=(status,))


async def _sent_texts(stack: Stack, name: str) -> list[str]:
    await stack.runtime.outbox.flush()
    if name == "telegram":
        return [m.get("text") or m.get("caption") or "" for m in stack.fake.sent()]
    if name == "zalo_bot":
        assert stack.zalo_bot is not None
        return [m.get("text") or "" for m in stack.zalo_bot.sent()]
    if name == "zalo_oa":
        assert stack.zalo_oa is not None
        return [m.get("text") or "" for m in stack.zalo_oa.sent()]
    async with stack.runtime.db.session() as session:
        payloads = (await session.execute(select(WebChatMessage.payload))).scalars().all()
    return [str(p.get("text", "")) for p in payloads]


@pytest.mark.parametrize("name", ["telegram", "zalo_bot", "zalo_oa", "web"])
async def test_hostile_bodies_get_a_clear_answer_and_break_nothing(
    database_url: str, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    async with running_stack(database_url, known_chats=[TG_CHAT, TG_CHAT + 1], zalo=True) as stack:
        assert stack.zalo_bot is not None and stack.zalo_oa is not None
        stack.zalo_bot.add_chat(ZALO_CHAT)
        fuzz = Fuzz(asyncio.get_running_loop(), caplog)
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            web = WebResident(session, stack.runtime.url)
            if name == "web":
                await web.open()
                ep = webchat(stack, web)
            else:
                ep = {"telegram": telegram, "zalo_bot": zalo_bot, "zalo_oa": zalo_oa}[name](stack)
            await fuzz.run(lambda f: fuzz_endpoint(f, ep))
            assert fuzz.statuses[200] > 20, fuzz.statuses  # many were accepted and handled
            assert apologies_in(await _sent_texts(stack, name)) == []
            if name == "telegram":
                # the fuzzing used small update ids too: the fake's next ones must be new
                move_on = {"chat_id": TG_CHAT, "text": "/help", "update_id": 2**61}
                (await stack.http.post("/_control/updates", json=move_on)).raise_for_status()
            await run_dialogue(ep.resident(), [("/start", "Chọn ngôn ngữ")])
            assert error_records(caplog) == []


def _quick_wait(value: str) -> bool:
    """Whether a `wait` answers at once when nothing is new: not a number, NaN, or at most
    a fifth of a second (a real long poll is tested with its own timing)."""
    try:
        number = float(value)
    except ValueError:
        return True
    return not number > 0.2


async def test_web_chat_polling_with_hostile_query_strings(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    numbers = st.one_of(
        hostile_text(3),
        st.integers(min_value=-(2**80), max_value=2**80).map(str),
        st.sampled_from(["2147483648", "9223372036854775808", "1" + "0" * 30, "nan", "-inf"]),
    )
    async with running_stack(database_url) as stack:
        url = stack.runtime.url + "/chat/api/messages"
        fuzz = Fuzz(asyncio.get_running_loop(), caplog)

        def work(fuzz: Fuzz) -> None:
            fuzz.request("GET", stack.runtime.url + "/chat", allowed=(200,))
            body = encode_json({"id": str(uuid.uuid4()), "text": "/start"})
            send = stack.runtime.url + "/chat/api/send"
            fuzz.request("POST", send, content=body, headers=_json(), allowed=(200,))

            @hostile_settings(BODIES)
            @given(
                st.lists(
                    st.tuples(st.sampled_from(["after", "wait", "after", "x"]), numbers),
                    max_size=4,
                ).filter(lambda q: all(_quick_wait(v) for k, v in q if k == "wait"))
            )
            def poll(query: list[tuple[str, str]]) -> None:
                params = [(k, v.encode("utf-8", "surrogatepass")) for k, v in query]
                fuzz.request("GET", url, params=params)  # type: ignore[arg-type]

            poll()
            # a reply waiting (the fuzzing's `after`s acknowledged and deleted the others)
            fuzz.request("POST", send, content=body.replace(b"-", b"0", 1), headers=_json())
            started = time.monotonic()
            for query in ("after=0&wait=inf", "wait=nan&after=99999", "after=1" + "0" * 30):
                fuzz.request("GET", f"{url}?{query}", allowed=(200, 400))
            assert time.monotonic() - started < 5  # NaN and infinity do not wait forever

        await fuzz.run(work)
        assert fuzz.statuses[200] > 10 and fuzz.statuses[400] > 20, fuzz.statuses
        assert error_records(caplog) == []


async def _known_chat(stack: Stack, chat: int) -> None:
    stack.fake.add_chat(chat)


async def test_hostile_text_at_each_step_of_the_tip_dialogue(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """At each step from /start to the tip's photos, a resident types hostile text (any text
    a platform can carry): the bot answers, with no apology and nothing at ERROR."""
    dialogue = [*TO_PHOTOS, (DESCRIPTION, "")]
    chats = iter(range(890_000, 900_000))
    async with running_stack(database_url) as stack:
        fuzz = Fuzz(asyncio.get_running_loop(), caplog)

        def at_step(fuzz: Fuzz, step: int) -> None:
            @hostile_settings(STEP_EXAMPLES)
            @given(hostile_text(6).filter(_is_text).filter(str.strip))
            def type_hostile_text(text: str) -> None:
                chat = next(chats)
                fuzz.call(_known_chat(stack, chat))
                resident = TelegramResident(stack, chat)
                fuzz.call(run_dialogue(resident, dialogue[:step]))
                before = len(caplog.records)
                answer = fuzz.call(resident.step(text))
                assert answer.strip(), f"no answer to {text!r} at step {step}"
                assert not apologies_in([answer]), f"apology for {text!r} at step {step}"
                assert not error_records(caplog, before)

            type_hostile_text()

        def work(fuzz: Fuzz) -> None:
            for step in range(len(dialogue) + 1):
                at_step(fuzz, step)

        await fuzz.run(work)
