"""Drive the real product like residents do: through the fake Telegram server or the web chat.

A dialogue is a table of (what the resident does, what the bot's answer must contain):
"[Label]" presses the button with that label (or types its number when the channel shows
numbered choices); anything else is typed as text.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any, Protocol

import aiohttp
import httpx

from bot.channels.telegram import TelegramChannel
from bot.channels.zalo_bot import ZaloBotChannel
from bot.core.platform import Platform
from bot.fakes.telegram import FakeTelegram
from bot.fakes.zalo_bot import FakeZaloBot
from bot.fakes.zalo_oa import FakeZaloOA
from bot.runtime import TELEGRAM_WEBHOOK_PATH, ZALO_BOT_WEBHOOK_PATH, ZALO_OA_WEBHOOK_PATH, Runtime
from bot.settings import Settings
from bot.tips.relay import generate_key

WEBHOOK_SECRET = "test-webhook-secret_0123456789"
ZALO_BOT_SECRET = "test-zalo-bot-secret_0123456789"
#: One relay key for the whole test run (tips are sealed with it).
RELAY_KEY = generate_key()
#: Records of the fake that are messages a resident sees (not callback answers, deletions…).
MESSAGE_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendLocation"})

Dialogue = Sequence[tuple[str, str | Sequence[str]]]


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "host": "127.0.0.1",
        "port": 0,
        "telegram_mode": "webhook",
        "telegram_webhook_secret": WEBHOOK_SECRET,
        "public_url": "",
        "province_police_phone": "069 3822 113",
        "tip_relay_keys": RELAY_KEY,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class Stack:
    runtime: Runtime
    fake: FakeTelegram
    fake_url: str
    http: httpx.AsyncClient
    zalo_bot: FakeZaloBot | None = None
    zalo_oa: FakeZaloOA | None = None

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    def without_buttons(self, channel: str = "telegram") -> None:
        """Render this channel's replies as numbered choices (as on Zalo's bot API)."""
        caps = self.runtime.core.capabilities[channel]
        self.runtime.core.capabilities[channel] = replace(caps, buttons=False)


@asynccontextmanager
async def running_stack(
    database_url: str, known_chats: Sequence[int] = (), zalo: bool = False, **overrides: Any
) -> AsyncIterator[Stack]:
    """The product on `database_url`, its Telegram webhook registered with a fake Telegram
    that already knows `known_chats` (as if those users had written to the bot before).
    With `zalo`, also a fake Zalo Bot API and a fake Zalo OA, webhooks registered."""
    fake = FakeTelegram()
    fake_url = await fake.start("127.0.0.1", 0)
    for chat_id in known_chats:
        fake.add_chat(chat_id)
    zalo_bot = zalo_oa = None
    if zalo:
        zalo_bot, zalo_oa = FakeZaloBot(), FakeZaloOA()
        bot_url, oa_url = await zalo_bot.start("127.0.0.1", 0), await zalo_oa.start("127.0.0.1", 0)
        access, refresh = zalo_oa.initial_tokens()
        overrides = {
            "zalo_bot_token": zalo_bot.token,
            "zalo_bot_api_base": bot_url,
            "zalo_bot_webhook_secret": ZALO_BOT_SECRET,
            "zalo_oa_app_id": zalo_oa.app_id,
            "zalo_oa_app_secret": zalo_oa.app_secret,
            "zalo_oa_secret_key": zalo_oa.oa_secret_key,
            "zalo_oa_access_token": access,
            "zalo_oa_refresh_token": refresh,
            "zalo_oa_api_base": oa_url,
            "zalo_oa_oauth_base": oa_url,
            **overrides,
        }
    settings = make_settings(
        database_url, telegram_token=fake.token, telegram_api_base=fake_url, **overrides
    )
    runtime = Runtime(settings)
    await runtime.start()
    await runtime.channel(Platform.TELEGRAM, TelegramChannel).bot.set_webhook(
        runtime.url + TELEGRAM_WEBHOOK_PATH, secret_token=WEBHOOK_SECRET
    )
    if zalo_bot is not None and zalo_oa is not None:
        await runtime.channel(Platform.ZALO_BOT, ZaloBotChannel).client.set_webhook(
            runtime.url + ZALO_BOT_WEBHOOK_PATH, ZALO_BOT_SECRET
        )
        zalo_oa.set_webhook(runtime.url + ZALO_OA_WEBHOOK_PATH)
    http = httpx.AsyncClient(base_url=fake_url, timeout=30)
    try:
        yield Stack(runtime, fake, fake_url, http, zalo_bot, zalo_oa)
    finally:
        await http.aclose()
        await runtime.stop()
        await fake.stop()
        if zalo_bot is not None and zalo_oa is not None:
            await zalo_bot.stop()
            await zalo_oa.stop()


def _telegram_text(message: dict[str, Any]) -> str:
    """What the resident sees: the text, then each button as [label]."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    labels = [f"[{button['text']}]" for row in rows for button in row]
    return "\n".join([message.get("text") or "", *labels])


def button_data(messages: Sequence[dict[str, Any]], label: str) -> str:
    """The callback data of the button `label` in `messages` (the latest first)."""
    for message in reversed(messages):
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if button["text"] == label:
                    return str(button["callback_data"])
    raise AssertionError(f"no button {label!r} in the last messages: {messages!r}")


#: A dialogue line "📍<latitude>,<longitude>" shares a location (where the channel can).
LOCATION = "📍"


class Resident(Protocol):
    async def step(self, utterance: str) -> str: ...


class TelegramResident:
    """A Telegram user, acting through the fake server's control API."""

    def __init__(self, stack: Stack, chat_id: int, numbered: bool = False) -> None:
        self.stack, self.chat_id, self.numbered = stack, chat_id, numbered
        self.seen = 0
        self.last: list[dict[str, Any]] = []

    async def inject(self, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.stack.http.post(
            "/_control/updates", params={"wait": "1"}, json={"chat_id": self.chat_id, **body}
        )
        response.raise_for_status()
        await self.stack.runtime.outbox.flush()
        data: dict[str, Any] = response.json()
        return data

    def _new_messages(self) -> list[dict[str, Any]]:
        sent = self.stack.fake.sent(self.chat_id)
        new, self.seen = sent[self.seen :], len(sent)
        new = [m for m in new if m["method"] in MESSAGE_METHODS]
        if new:
            self.last = new
        return new

    def _button(self, label: str) -> str:
        return button_data(self.last, label)

    def _number(self, label: str) -> str:
        for message in reversed(self.last):
            match = re.search(rf"^(\d+)\. {re.escape(label)}$", message.get("text") or "", re.M)
            if match:
                return match.group(1)
        raise AssertionError(f"no numbered choice {label!r} in: {self.last!r}")

    async def step(self, utterance: str) -> str:
        if utterance.startswith("[") and utterance.endswith("]"):
            label = utterance[1:-1]
            if self.numbered:
                await self.inject({"text": self._number(label)})
            else:
                await self.inject({"callback_data": self._button(label)})
        elif utterance.startswith(LOCATION):  # "📍13.77,109.22": a shared location
            latitude, longitude = utterance.removeprefix(LOCATION).split(",")
            await self.inject({"location": {"latitude": latitude, "longitude": longitude}})
        else:
            await self.inject({"text": utterance})
        return "\n---\n".join(_telegram_text(m) for m in self._new_messages())


class WebResident:
    """A visitor of the web chat page, with its own cookie."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session, self.base = session, base_url
        self.after = 0
        self.last: list[dict[str, Any]] = []

    async def open(self) -> None:
        async with self.session.get(self.base + "/chat") as response:
            assert response.status == 200

    async def send(self, body: dict[str, Any]) -> aiohttp.ClientResponse:
        body = {"id": str(uuid.uuid4()), **body}
        async with self.session.post(self.base + "/chat/api/send", json=body) as response:
            await response.read()
            return response

    async def read(self, runtime: Runtime) -> list[dict[str, Any]]:
        """The new messages, polled as the page polls: again at once with the newest id,
        which tells the server the page has them (and it deletes them)."""
        await runtime.outbox.flush()
        messages: list[dict[str, Any]] = []
        while True:
            async with self.session.get(
                self.base + "/chat/api/messages", params={"after": str(self.after)}
            ) as response:
                data = await response.json()
            if not data["messages"]:
                break
            messages += data["messages"]
            self.after = max(m["id"] for m in messages)
        if messages:
            self.last = messages
        return messages

    def _button(self, label: str) -> str:
        for message in reversed(self.last):
            for row in message.get("buttons", []):
                for text, payload in row:
                    if text == label:
                        return str(payload)
        raise AssertionError(f"no button {label!r} in {self.last!r}")


class WebStepper:
    def __init__(self, resident: WebResident, runtime: Runtime) -> None:
        self.resident, self.runtime = resident, runtime

    async def step(self, utterance: str) -> str:
        if utterance.startswith("[") and utterance.endswith("]"):
            response = await self.resident.send({"payload": self.resident._button(utterance[1:-1])})
        else:
            response = await self.resident.send({"text": utterance})
        assert response.status == 200, response.status
        messages = await self.resident.read(self.runtime)
        return "\n---\n".join(
            "\n".join(
                [
                    m.get("text", ""),
                    *(f"[{label}]" for row in m.get("buttons", []) for label, _ in row),
                ]
            )
            for m in messages
        )


def _numbered_choice(texts: Sequence[str], label: str) -> str:
    for text in reversed(texts):
        match = re.search(rf"^(\d+)\. {re.escape(label)}$", text, re.M)
        if match:
            return match.group(1)
    raise AssertionError(f"no numbered choice {label!r} in: {texts!r}")


class ZaloBotResident:
    """A Zalo user writing to the bot (Zalo's bot API has no buttons: numbers are typed)."""

    def __init__(self, stack: Stack, chat_id: str) -> None:
        assert stack.zalo_bot is not None
        self.stack, self.fake, self.chat_id = stack, stack.zalo_bot, chat_id
        self.seen = 0
        self.last: list[str] = []

    async def step(self, utterance: str) -> str:
        text = utterance
        if utterance.startswith("[") and utterance.endswith("]"):
            text = _numbered_choice(self.last, utterance[1:-1])
        result = await self.fake.inject_and_wait(chat_id=self.chat_id, text=text)
        assert result["status"] == 200, result
        await self.stack.runtime.outbox.flush()
        sent = self.fake.sent(self.chat_id)
        new, self.seen = sent[self.seen :], len(sent)
        texts = [m.get("text") or m.get("caption") or "" for m in new]
        if texts:
            self.last = texts
        return "\n---\n".join(texts)


class ZaloOAResident:
    """A follower of the OA: taps buttons (their payload comes back as text) or types."""

    def __init__(self, stack: Stack, user_id: str) -> None:
        assert stack.zalo_oa is not None
        self.stack, self.fake, self.user_id = stack, stack.zalo_oa, user_id
        self.seen = 0
        self.last: list[dict[str, Any]] = []

    async def send(self, spec: dict[str, Any]) -> None:
        result = await self.fake.inject_and_wait({"user_id": self.user_id, **spec})
        assert result["status"] == 200, result
        await self.stack.runtime.outbox.flush()

    def _new(self) -> str:
        sent = self.fake.sent(self.user_id)
        new, self.seen = sent[self.seen :], len(sent)
        if new:
            self.last = new
        return "\n---\n".join(
            "\n".join([m.get("text") or "", *(f"[{b['title']}]" for b in m.get("buttons") or [])])
            for m in new
        )

    async def step(self, utterance: str) -> str:
        if utterance.startswith("[") and utterance.endswith("]"):
            label = utterance[1:-1]
            payload = next(
                (
                    b["payload"]
                    for m in reversed(self.last)
                    for b in m.get("buttons") or []
                    if b["title"] == label
                ),
                None,
            )
            if payload is not None:
                await self.send({"text": payload})  # a tap sends the button's payload
            else:  # more buttons than Zalo allows came as numbered choices
                texts = [m.get("text") or "" for m in self.last]
                await self.send({"text": _numbered_choice(texts, label)})
        elif utterance.startswith(LOCATION):
            latitude, longitude = utterance.removeprefix(LOCATION).split(",")
            await self.send({"location": {"latitude": latitude, "longitude": longitude}})
        else:
            await self.send({"text": utterance})
        return self._new()


async def run_dialogue(resident: Resident, dialogue: Dialogue) -> None:
    """Play the table; each answer must contain every expected fragment."""
    for number, (utterance, expected) in enumerate(dialogue, start=1):
        answer = await resident.step(utterance)
        fragments = [expected] if isinstance(expected, str) else list(expected)
        for fragment in fragments:
            assert fragment in answer, (
                f"step {number}: after {utterance!r} expected {fragment!r} in:\n{answer}"
            )
