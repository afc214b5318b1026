"""A fake Telegram Bot API server: real HTTP on loopback, in-memory state.

Used by tests, by the product's demo mode and by benchmarks. Bots built on
python-telegram-bot (``base_url=f"{url}/bot"``, ``base_file_url=f"{url}/file/bot"``) and on
aiogram (``TelegramAPIServer.from_base(url)``) talk to it unchanged. A control API under
``/_control/`` (and the mirroring Python methods) injects user updates and reads back what the
bot sent. See ``docs/fake-telegram.md``.

Run standalone with ``python -m bot.fakes.telegram --port 8081``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import itertools
import json
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import ClientError, web

from bot.fakes._common import (
    JSON_HEADERS,
    Delivery,
    FakeServer,
    SentLog,
    Webhook,
    bot_api_response,
    dumps,
    json_response,
    serve,
    server_arguments,
    settle,
)
from bot.fakes._telegram_markup import (
    ApiError,
    bad_request,
    command_entities,
    format_text,
    validate_reply_markup,
)
from bot.fakes._telegram_params import (
    Params,
    TokenBucket,
    Upload,
    image_size,
    parse_body,
    too_many_requests,
)

__all__ = ["ApiError", "FakeTelegram", "main"]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_ANSWER_LENGTH = 200

_UPDATE_TYPES = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
)
# Telegram's default when allowed_updates is empty: everything but these.
_NOT_DEFAULT_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# Methods that count against the flood limits.
_LIMITED = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendLocation",
        "editMessageText",
        "editMessageReplyMarkup",
    }
)
_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_SECRET_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")

Handler = Callable[[Params], Awaitable[Any]]


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class _Chat:
    """State of one private chat (a user who wrote to the bot)."""

    __slots__ = (
        "blocked",
        "bucket",
        "first_name",
        "id",
        "language_code",
        "last_keyboard_id",
        "last_name",
        "messages",
        "next_message_id",
        "username",
    )

    def __init__(self, chat_id: int, first_name: str) -> None:
        self.id = chat_id
        self.first_name = first_name
        self.last_name: str | None = None
        self.username: str | None = None
        self.language_code: str | None = None
        self.blocked = False
        self.next_message_id = 1
        self.messages: dict[int, dict[str, Any]] = {}
        self.bucket: TokenBucket | None = None
        self.last_keyboard_id: int | None = None

    def take_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def chat_object(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat

    def user_object(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user


class _File:
    __slots__ = ("data", "file_id", "file_path", "file_unique_id", "mime_type", "name", "url")

    def __init__(
        self,
        file_id: str,
        unique_id: str,
        file_path: str,
        data: bytes | None,
        *,
        name: str | None = None,
        mime_type: str | None = None,
        url: str | None = None,
    ) -> None:
        self.file_id = file_id
        self.file_unique_id = unique_id
        self.file_path = file_path
        self.data = data
        self.name = name
        self.mime_type = mime_type
        self.url = url

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else 0


class _Webhook(Webhook):
    __slots__ = ("allowed_updates", "max_connections", "secret")

    def __init__(self, url: str, secret: str | None, max_connections: int) -> None:
        super().__init__(url, max_connections)
        self.secret = secret
        self.max_connections = max_connections
        self.allowed_updates: list[str] | None = None


class FakeTelegram(FakeServer):
    """In-memory Telegram Bot API with a control API; see ``docs/fake-telegram.md``."""

    _label = "FakeTelegram"
    _sent_query_error = "chat_id, since, wait_for, limit: integers"

    def __init__(
        self,
        *,
        token: str = "123456:TEST",
        bot_username: str = "antq_demo_bot",
        enforce_limits: bool = False,
        rate_per_second: float = 30,
        per_chat_per_second: float = 1,
        burst: int = 30,
        per_chat_burst: int = 3,
        bot_first_name: str = "ANTQ Demo",
        webhook_max_attempts: int = 5,
        webhook_retry_delay: float = 0.05,
        webhook_timeout: float = 10.0,
    ) -> None:
        super().__init__(
            webhook_max_attempts=webhook_max_attempts,
            webhook_retry_delay=webhook_retry_delay,
            webhook_timeout=webhook_timeout,
        )
        self.token = token
        self.bot_username = bot_username
        head = token.split(":", 1)[0]
        self.bot_id = int(head) if head.isdigit() else 123456
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self._defaults = (
            enforce_limits,
            rate_per_second,
            per_chat_per_second,
            burst,
            per_chat_burst,
        )
        self._methods: dict[str, tuple[str, Handler]] = {}
        for name in (
            "getMe",
            "logOut",
            "close",
            "setWebhook",
            "deleteWebhook",
            "getWebhookInfo",
            "getUpdates",
            "sendMessage",
            "sendPhoto",
            "sendDocument",
            "sendChatAction",
            "sendLocation",
            "editMessageText",
            "editMessageReplyMarkup",
            "deleteMessage",
            "answerCallbackQuery",
            "getFile",
            "setMyCommands",
            "getMyCommands",
            "deleteMyCommands",
            "setChatMenuButton",
            "getChatMenuButton",
            "getChat",
            "setMyDescription",
            "setMyShortDescription",
            "setMyName",
        ):
            self._methods[name.lower()] = (name, getattr(self, f"_m_{name}"))
        self._sent: SentLog[int] = SentLog("fake Telegram server", "in chat", lambda: self._closing)
        self._reset_state()

    # ------------------------------------------------------------------ state

    def _reset_state(self) -> None:
        enforce, rate, per_chat, burst, per_chat_burst = self._defaults
        self.enforce_limits = enforce
        self.rate_per_second = float(rate)
        self.per_chat_per_second = float(per_chat)
        self.burst = burst
        self.per_chat_burst = per_chat_burst
        self._global_bucket = TokenBucket(self.rate_per_second, burst, time.monotonic())
        self._chats: dict[int, _Chat] = {}
        self._usernames: dict[str, int] = {}
        self._files: dict[str, _File] = {}
        self._file_paths: dict[str, _File] = {}
        #: file_ids the bot downloaded from /file/bot<token>/<path>, in order.
        self.downloads: list[str] = []
        self._file_counter = itertools.count(1)
        self._last_update_id = 0
        self._pending: deque[dict[str, Any]] = deque()
        self._max_returned_id = 0
        self._poll_waiter: asyncio.Future[str] | None = None
        self._allowed_updates: frozenset[str] | None = None
        self._webhook: _Webhook | None = None
        self._callbacks: dict[str, dict[str, Any]] = {}
        self._callback_counter = itertools.count(1)
        self._commands: dict[str, list[dict[str, Any]]] = {}
        self._menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.webhook_attempts: deque[dict[str, Any]] = deque(maxlen=10_000)
        self._counters: dict[str, int] = dict.fromkeys(
            (
                "updates_injected",
                "updates_filtered",
                "updates_delivered",
                "updates_fetched",
                "webhook_attempts",
                "webhook_failures",
                "webhook_gave_up",
                "webhook_replies",
                "messages_sent",
                "chat_actions",
                "requests",
                "errors",
                "rate_limited",
                "unknown_methods",
            ),
            0,
        )
        self._method_counts: dict[str, int] = {}
        # wall-clock times of the first and last message sent (benchmarks read rates off them)
        self._first_sent_at: float | None = None
        self._last_sent_at: float | None = None
        self._closing = False

    def reset(self) -> None:
        """Forget everything (chats, updates, sent messages, files, webhook, stats, limits)."""
        self._cancel_tasks()
        self._wake_poller("reset")
        self._reset_state()
        self._sent.clear()

    def add_chat(
        self,
        chat_id: int,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> None:
        """Make a chat known, as if the user had written to the bot."""
        self._ensure_chat(chat_id, first_name, username, language_code, last_name)

    def _ensure_chat(
        self,
        chat_id: int,
        first_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        last_name: str | None = None,
    ) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Chat(chat_id, first_name or f"User {chat_id}")
        elif first_name:
            chat.first_name = first_name
        if last_name:
            chat.last_name = last_name
        if username:
            if chat.username:
                self._usernames.pop(chat.username.lower(), None)
            chat.username = username
            self._usernames[username.lower()] = chat_id
        if language_code:
            chat.language_code = language_code
        return chat

    def block(self, chat_id: int, blocked: bool = True) -> None:
        """Simulate a user who blocked (or unblocked) the bot: sends then fail with 403."""
        self._ensure_chat(chat_id).blocked = blocked

    def set_limits(
        self,
        *,
        enforce: bool | None = None,
        rate_per_second: float | None = None,
        per_chat_per_second: float | None = None,
        burst: int | None = None,
        per_chat_burst: int | None = None,
    ) -> dict[str, Any]:
        """Switch flood limits on/off or change them; buckets start full again."""
        if enforce is not None:
            self.enforce_limits = enforce
        if rate_per_second is not None:
            self.rate_per_second = float(rate_per_second)
        if per_chat_per_second is not None:
            self.per_chat_per_second = float(per_chat_per_second)
        if burst is not None:
            self.burst = burst
        if per_chat_burst is not None:
            self.per_chat_burst = per_chat_burst
        now = time.monotonic()
        self._global_bucket = TokenBucket(self.rate_per_second, self.burst, now)
        for chat in self._chats.values():
            chat.bucket = None
        return self.limits()

    def limits(self) -> dict[str, Any]:
        return {
            "enforce": self.enforce_limits,
            "rate_per_second": self.rate_per_second,
            "per_chat_per_second": self.per_chat_per_second,
            "burst": self.burst,
            "per_chat_burst": self.per_chat_burst,
        }

    def stats(self) -> dict[str, Any]:
        """Counters: updates injected/delivered, webhook failures, messages sent, 429s, methods."""
        result: dict[str, Any] = dict(self._counters)
        result["pending_updates"] = self._pending_count()
        result["chats"] = len(self._chats)
        result["sent_records"] = len(self._sent)
        result["methods"] = dict(self._method_counts)
        result["first_message_at"] = self._first_sent_at
        result["last_message_at"] = self._last_sent_at
        return result

    def sent(self, chat_id: int | None = None, *, since: int = 0) -> list[dict[str, Any]]:
        """What the bot did, oldest first: one record per message sent/edited/deleted and per
        answered callback query. ``since`` skips records with a sequence number <= it."""
        return self._sent.sent(chat_id, since)

    def last_seq(self) -> int:
        return len(self._sent)

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """The current state of a message (after edits); None when unknown or deleted."""
        chat = self._chats.get(chat_id)
        return chat.messages.get(message_id) if chat else None

    def file_bytes(self, file_id: str) -> bytes | None:
        file = self._files.get(file_id)
        return file.data if file else None

    def webhook_info(self) -> dict[str, Any]:
        hook = self._webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": self._pending_count(),
        }
        if hook:
            info["max_connections"] = hook.max_connections
            if hook.allowed_updates is not None:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    def _pending_count(self) -> int:
        hook = self._webhook
        return len(self._pending) + (hook.inflight if hook else 0)

    async def wait_sent(
        self,
        chat_id: int | None = None,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - mirrors the HTTP API's timeout parameter
        *,
        since: int = 0,
    ) -> list[dict[str, Any]]:
        """Wait until ``sent(chat_id, since=since)`` holds at least ``count`` records.

        Returns those records; raises ``TimeoutError`` (listing what was sent) on timeout.
        """
        return await self._sent.wait(chat_id, count, timeout, since)

    def _record(self, chat: _Chat, record: dict[str, Any]) -> None:
        self._sent.add(chat.id, record)

    # ------------------------------------------------------------------ updates

    def inject(self, update: dict[str, Any]) -> int:
        """Inject one update (full Update object or shorthand); returns its update_id."""
        normalized = self._normalize_update(update)
        self._enqueue(normalized, None)
        return int(normalized["update_id"])

    def inject_many(self, updates: Sequence[dict[str, Any]]) -> list[int]:
        return [self.inject(update) for update in updates]

    async def inject_and_wait(self, update: dict[str, Any]) -> dict[str, Any]:
        """Inject and, with a webhook set, wait for its delivery to finish.

        Returns ``{"update_id", "status", "attempts"}`` (status None without a webhook or when
        every attempt failed to connect).
        """
        normalized = self._normalize_update(update)
        fut: asyncio.Future[Delivery] | None = None
        if self._webhook is not None:
            fut = asyncio.get_running_loop().create_future()
        self._enqueue(normalized, fut)
        status, attempts = (await fut) if fut is not None else (None, 0)
        return {"update_id": normalized["update_id"], "status": status, "attempts": attempts}

    def _next_update_id(self, given: Any) -> int:
        if given is not None:
            try:
                update_id = int(given)
            except (TypeError, ValueError):
                raise bad_request("update_id must be an integer") from None
            if update_id <= self._last_update_id:
                raise bad_request(
                    f"update_id must be greater than the last one ({self._last_update_id})"
                )
            self._last_update_id = update_id
        else:
            self._last_update_id += 1
        return self._last_update_id

    def _normalize_update(self, data: Any) -> dict[str, Any]:
        try:
            return self._normalize_update_unchecked(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise bad_request(f"malformed update: {exc.__class__.__name__}: {exc}") from None

    def _normalize_update_unchecked(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise bad_request("an update must be a JSON object")
        kind = next((key for key in _UPDATE_TYPES if key in data), None)
        if kind is None:
            if "chat_id" not in data:
                raise bad_request("an update needs an update type field or a chat_id shorthand")
            body, kind = self._shorthand(data)
            update: dict[str, Any] = {kind: body}
            given_id = data.get("update_id")
        else:
            update = dict(data)
            given_id = update.pop("update_id", None)
            if kind in ("message", "edited_message"):
                update[kind] = self._fill_message(update[kind], edited=kind == "edited_message")
            elif kind == "callback_query":
                update[kind] = self._fill_callback(update[kind])
        update_id = self._next_update_id(given_id)
        return {"update_id": update_id, **update}

    def _chat_from_spec(self, data: dict[str, Any]) -> _Chat:
        try:
            chat_id = int(data["chat_id"])
        except (KeyError, TypeError, ValueError):
            raise bad_request("chat_id must be an integer") from None
        return self._ensure_chat(
            chat_id,
            data.get("first_name"),
            data.get("username"),
            data.get("language_code"),
            data.get("last_name"),
        )

    def _shorthand(self, data: dict[str, Any]) -> tuple[dict[str, Any], str]:
        chat = self._chat_from_spec(data)
        if "callback_data" in data:
            message_id = data.get("message_id")
            return (
                self._make_callback(
                    chat,
                    str(data["callback_data"]),
                    int(message_id) if message_id is not None else None,
                    check_keyboard=not data.get("any_data", False),
                ),
                "callback_query",
            )
        message: dict[str, Any] = {}
        if "text" in data:
            message["text"] = str(data["text"])
            entities = command_entities(message["text"])
            if entities:
                message["entities"] = entities
        elif "location" in data:
            location = data["location"]
            if not isinstance(location, dict) or not {"latitude", "longitude"} <= location.keys():
                raise bad_request("location needs latitude and longitude")
            message["location"] = {
                "latitude": float(location["latitude"]),
                "longitude": float(location["longitude"]),
            }
        elif "photo_base64" in data:
            try:
                raw = base64.b64decode(str(data["photo_base64"]), validate=True)
            except (binascii.Error, ValueError):
                raise bad_request("photo_base64 is not valid base64") from None
            message["photo"] = self._photo_sizes(self._store_file(raw, "photos", ".jpg"))
            if data.get("caption"):
                message["caption"] = str(data["caption"])
        elif "document_base64" in data:
            try:
                raw = base64.b64decode(str(data["document_base64"]), validate=True)
            except (binascii.Error, ValueError):
                raise bad_request("document_base64 is not valid base64") from None
            name = str(data["file_name"]) if data.get("file_name") else None
            mime = str(data["mime_type"]) if data.get("mime_type") else None
            file = self._store_file(raw, "documents", "", name=name, mime_type=mime)
            # a Document as Telegram sends it: file_name and mime_type only when known
            document: dict[str, Any] = {
                "file_id": file.file_id,
                "file_unique_id": file.file_unique_id,
                "file_size": file.size,
            }
            if name:
                document["file_name"] = name
            if mime:
                document["mime_type"] = mime
            message["document"] = document
            if data.get("caption"):
                message["caption"] = str(data["caption"])
        else:
            raise bad_request(
                "shorthand needs one of text, callback_data, location, photo_base64 or "
                "document_base64"
            )
        if "reply_to_message_id" in data:
            replied = chat.messages.get(int(data["reply_to_message_id"]))
            if replied is not None:
                message["reply_to_message"] = replied
        message_id = chat.take_message_id()
        message = {
            "message_id": message_id,
            "from": chat.user_object(),
            "chat": chat.chat_object(),
            "date": int(time.time()),
            **message,
        }
        chat.messages[message_id] = message
        return message, "message"

    def _fill_message(self, raw: Any, *, edited: bool) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise bad_request("message must be a JSON object")
        message = dict(raw)
        chat_spec = _obj(message.get("chat"))
        user_spec = _obj(message.get("from"))
        chat_id = chat_spec.get("id", user_spec.get("id", message.get("chat_id")))
        if chat_id is None:
            raise bad_request("message needs chat.id or from.id")
        message.pop("chat_id", None)
        chat = self._ensure_chat(
            int(chat_id),
            user_spec.get("first_name") or chat_spec.get("first_name"),
            user_spec.get("username") or chat_spec.get("username"),
            user_spec.get("language_code"),
            user_spec.get("last_name"),
        )
        given = message.get("message_id")
        if given is None:
            if edited:
                raise bad_request("edited_message needs message_id")
            message["message_id"] = chat.take_message_id()
        else:
            chat.next_message_id = max(chat.next_message_id, int(given) + 1)
        now = int(time.time())
        message.setdefault("date", now)
        if edited:
            message.setdefault("edit_date", now)
        message["chat"] = {**chat.chat_object(), **chat_spec}
        message["from"] = {**chat.user_object(), **user_spec}
        text = message.get("text")
        if isinstance(text, str) and "entities" not in message:
            entities = command_entities(text)
            if entities:
                message["entities"] = entities
        chat.messages[int(message["message_id"])] = message
        return message

    def _fill_callback(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise bad_request("callback_query must be a JSON object")
        query = dict(raw)
        user_spec = _obj(query.get("from"))
        message_spec = _obj(query.get("message"))
        chat_spec = _obj(message_spec.get("chat"))
        chat_id = chat_spec.get("id", user_spec.get("id", query.get("chat_id")))
        if chat_id is None:
            raise bad_request("callback_query needs from.id or message.chat.id")
        chat = self._ensure_chat(
            int(chat_id),
            user_spec.get("first_name"),
            user_spec.get("username"),
            user_spec.get("language_code"),
        )
        message_id = message_spec.get("message_id", query.pop("message_id", None))
        query.pop("chat_id", None)
        made = self._make_callback(
            chat,
            str(query.get("data", "")),
            int(message_id) if message_id is not None else None,
            check_keyboard=False,
        )
        made.update({k: v for k, v in query.items() if k not in ("from", "message")})
        made["from"] = {**made["from"], **user_spec}
        if message_spec and "date" in message_spec:
            made["message"] = {**made["message"], **message_spec}
        self._callbacks[made["id"]] = {"chat_id": chat.id, "answered": False}
        return made

    def _make_callback(
        self, chat: _Chat, data: str, message_id: int | None, *, check_keyboard: bool
    ) -> dict[str, Any]:
        if message_id is None:
            message_id = self._last_keyboard_message(chat)
            if message_id is None:
                raise bad_request(f"no bot message with an inline keyboard in chat {chat.id}")
        message = chat.messages.get(message_id)
        if message is None:
            raise bad_request(f"message {message_id} not found in chat {chat.id}")
        if check_keyboard:
            keyboard = (message.get("reply_markup") or {}).get("inline_keyboard") or []
            datas = [b.get("callback_data") for row in keyboard for b in row]
            if data not in datas:
                raise bad_request(
                    f"callback_data {data!r} is not on message {message_id}'s keyboard "
                    f"(has {datas!r}); pass any_data=true to send it anyway"
                )
        query_id = f"{self.bot_id}{next(self._callback_counter):010d}"
        self._callbacks[query_id] = {"chat_id": chat.id, "answered": False}
        return {
            "id": query_id,
            "from": chat.user_object(),
            "message": message,
            "chat_instance": str(-chat.id * 7919 % 10**18),
            "data": data,
        }

    def _last_keyboard_message(self, chat: _Chat) -> int | None:
        candidate = chat.last_keyboard_id
        if candidate is not None and self._has_inline_keyboard(chat.messages.get(candidate)):
            return candidate
        # The last keyboard was edited away or deleted: look further back (rare, control path).
        for message_id in sorted(chat.messages, reverse=True):
            message = chat.messages[message_id]
            if message.get("from", {}).get("id") == self.bot_id and self._has_inline_keyboard(
                message
            ):
                chat.last_keyboard_id = message_id
                return message_id
        return None

    @staticmethod
    def _has_inline_keyboard(message: dict[str, Any] | None) -> bool:
        return bool(message and (message.get("reply_markup") or {}).get("inline_keyboard"))

    def _update_kind(self, update: dict[str, Any]) -> str:
        return next((key for key in update if key != "update_id"), "")

    def _enqueue(
        self,
        update: dict[str, Any],
        waiter: asyncio.Future[Delivery] | None,
    ) -> None:
        self._counters["updates_injected"] += 1
        allowed = self._allowed_updates
        if allowed is not None and self._update_kind(update) not in allowed:
            self._counters["updates_filtered"] += 1
            if waiter is not None:
                waiter.set_result((None, 0))
            return
        hook = self._webhook
        if hook is not None:
            self._spawn(self._deliver(update, hook, waiter))
            return
        if waiter is not None:
            waiter.set_result((None, 0))
        self._pending.append(update)
        self._wake_poller("update")

    def _wake_poller(self, reason: str) -> None:
        if self._poll_waiter is not None:
            settle(self._poll_waiter, reason)

    # ------------------------------------------------------------------ webhook delivery

    async def _deliver(
        self,
        update: dict[str, Any],
        hook: _Webhook,
        waiter: asyncio.Future[Delivery] | None,
    ) -> None:
        body = dumps(update)

        def requeue() -> None:
            self._pending.append(update)
            if len(self._pending) > 1 and self._pending[-2]["update_id"] > update["update_id"]:
                self._pending = deque(sorted(self._pending, key=lambda u: u["update_id"]))
            self._wake_poller("update")

        await self._deliver_to_webhook(
            hook,
            lambda: self._webhook,
            lambda hook: self._post_update(hook, update, body),
            waiter,
            requeue=requeue,
            logged={"update_id": update["update_id"]},
            clock=lambda: int(time.time()),
        )

    async def _post_update(
        self, hook: _Webhook, update: dict[str, Any], body: bytes
    ) -> tuple[int | None, str | None]:
        headers = dict(JSON_HEADERS)
        if hook.secret:
            headers[_SECRET_HEADER] = hook.secret
        async with hook.semaphore:
            try:
                async with self._client().post(hook.url, data=body, headers=headers) as resp:
                    status = resp.status
                    reply = await resp.read()
                    if not 200 <= status < 300:
                        return status, f"Wrong response from the webhook: {status} {resp.reason}"
                    ctype = resp.content_type
                    full_ctype = resp.headers.get("Content-Type", "")
            except (ClientError, OSError) as exc:
                return None, f"Connection failed: {exc.__class__.__name__}: {exc}"
            except TimeoutError:
                return None, "Timeout expired"
        if reply.strip():
            await self._webhook_reply(ctype, full_ctype, reply)
        return status, None

    async def _webhook_reply(self, ctype: str, full_ctype: str, reply: bytes) -> None:
        """Execute a method call returned in a webhook response, as Telegram does."""
        try:
            params = parse_body(ctype, reply, full_ctype)
        except ApiError:
            return
        method = params.pop("method", None)
        if not isinstance(method, str):
            return
        self._counters["webhook_replies"] += 1
        with contextlib.suppress(ApiError):
            await self.call(method, params)

    # ------------------------------------------------------------------ Bot API dispatch

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Call a Bot API method in-process; returns its result or raises ApiError."""
        entry = self._methods.get(method.lower())
        self._counters["requests"] += 1
        if entry is None:
            self._counters["unknown_methods"] += 1
            raise ApiError(404, "Not Found")
        name, handler = entry
        self._method_counts[name] = self._method_counts.get(name, 0) + 1
        try:
            return await handler(Params(params or {}))
        except ApiError as exc:
            self._counters["errors"] += 1
            if exc.code == 429:
                self._counters["rate_limited"] += 1
            raise

    async def _handle_api(self, request: web.Request) -> web.Response:
        return await bot_api_response(
            request,
            token=self.token,
            known=lambda method: method.lower() in self._methods,
            call=self.call,
            counters=self._counters,
        )

    def _chat_for(self, params: Params, *, sending: bool) -> _Chat:
        value = params.raw.get("chat_id")
        if value is None or value == "":
            raise bad_request("chat_id is empty")
        chat_id: int | None
        if isinstance(value, str) and value.startswith("@"):
            chat_id = self._usernames.get(value[1:].lower())
        else:
            chat_id = params.get_int("chat_id", error="chat not found")
        chat = self._chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise bad_request("chat not found")
        if sending and chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _check_flood(self, chat: _Chat) -> None:
        if not self.enforce_limits:
            return
        now = time.monotonic()
        bucket = chat.bucket
        if bucket is None:
            bucket = chat.bucket = TokenBucket(self.per_chat_per_second, self.per_chat_burst, now)
        wait = max(self._global_bucket.refill(now), bucket.refill(now))
        if wait > 0:
            raise too_many_requests(wait)
        self._global_bucket.take()
        bucket.take()

    def _formatted(
        self, params: Params, field: str, entities_field: str, limit: int, too_long: str
    ) -> tuple[str | None, list[dict[str, Any]] | None]:
        text = params.get_str(field)
        if text is None or text == "":
            return None, None
        plain, entities = format_text(
            text,
            params.get_str("parse_mode"),
            params.get_json(entities_field, "entities"),
        )
        if len(plain) > limit:
            raise bad_request(too_long)
        return plain, entities

    def _reply_to(self, chat: _Chat, params: Params) -> dict[str, Any] | None:
        reply_id = params.get_int("reply_to_message_id")
        allow_missing = params.get_bool("allow_sending_without_reply")
        reply_parameters = params.get_json("reply_parameters")
        if isinstance(reply_parameters, dict):
            if reply_parameters.get("message_id") is not None:
                reply_id = int(reply_parameters["message_id"])
            allow_missing = bool(reply_parameters.get("allow_sending_without_reply", False))
        if reply_id is None:
            return None
        replied = chat.messages.get(reply_id)
        if replied is None:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        return {k: v for k, v in replied.items() if k != "reply_to_message"}

    def _send(
        self,
        chat: _Chat,
        method: str,
        content: dict[str, Any],
        markup: dict[str, Any] | None,
        reply_to: dict[str, Any] | None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        self._check_flood(chat)
        message_id = chat.take_message_id()
        date = int(time.time())
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": self.bot_user,
            "chat": chat.chat_object(),
            "date": date,
        }
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        message.update(content)
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
            chat.last_keyboard_id = message_id
        chat.messages[message_id] = message
        self._counters["messages_sent"] += 1
        self._last_sent_at = time.time()
        if self._first_sent_at is None:
            self._first_sent_at = self._last_sent_at
        record: dict[str, Any] = {
            "method": method,
            "chat_id": chat.id,
            "message_id": message_id,
            "date": date,
            "text": content.get("text"),
            "reply_markup": markup,
            "photo": content.get("photo"),
        }
        for key in ("entities", "caption", "caption_entities", "document", "location"):
            if key in content:
                record[key] = content[key]
        if reply_to is not None:
            record["reply_to_message_id"] = reply_to["message_id"]
        if extra:
            record.update(extra)
        self._record(chat, record)
        return message

    # ------------------------------------------------------------------ files

    def _store_file(
        self,
        data: bytes | None,
        folder: str,
        suffix: str,
        *,
        name: str | None = None,
        mime_type: str | None = None,
        url: str | None = None,
    ) -> _File:
        number = next(self._file_counter)
        file_id = f"AgAC{number:06d}{secrets.token_urlsafe(12)}"
        file = _File(
            file_id,
            f"AQAD{number:06d}",
            f"{folder}/file_{number}{suffix}",
            data,
            name=name,
            mime_type=mime_type,
            url=url,
        )
        self._files[file_id] = file
        self._file_paths[file.file_path] = file
        return file

    def _photo_sizes(self, file: _File) -> list[dict[str, Any]]:
        width, height = image_size(file.data or b"")
        return [
            {
                "file_id": file.file_id,
                "file_unique_id": file.file_unique_id,
                "file_size": file.size,
                "width": width,
                "height": height,
            }
        ]

    def _resolve_file(
        self, params: Params, field: str, folder: str, suffix: str
    ) -> tuple[_File, str]:
        value = params.get_file(field)
        if value is None:
            raise bad_request(f"there is no {field} in the request")
        if isinstance(value, Upload):
            return (
                self._store_file(
                    value.data,
                    folder,
                    suffix,
                    name=value.filename,
                    mime_type=value.content_type,
                ),
                "upload",
            )
        if value.startswith(("http://", "https://")):
            return self._store_file(None, folder, suffix, url=value), "url"
        file = self._files.get(value)
        if file is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return file, "file_id"

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return json_response(ApiError(401, "Unauthorized").payload(), 401)
        file = self._file_paths.get(request.match_info["file_path"])
        if file is None or file.data is None:
            return json_response(ApiError(404, "Not Found").payload(), 404)
        self.downloads.append(file.file_id)
        return web.Response(
            body=file.data, content_type=file.mime_type or "application/octet-stream"
        )

    # ------------------------------------------------------------------ methods

    async def _m_getMe(self, params: Params) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_logOut(self, params: Params) -> Any:
        return True

    async def _m_close(self, params: Params) -> Any:
        return True

    async def _m_setMyDescription(self, params: Params) -> Any:
        return True

    async def _m_setMyShortDescription(self, params: Params) -> Any:
        return True

    async def _m_setMyName(self, params: Params) -> Any:
        return True

    async def _m_setWebhook(self, params: Params) -> Any:
        url = params.get_str("url") or ""
        drop = params.get_bool("drop_pending_updates")
        if drop:
            self._pending.clear()
        if not url:
            self._webhook = None
            return True
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get_str("secret_token") or None
        if secret is not None and (len(secret) > 256 or not set(secret) <= _SECRET_CHARS):
            raise bad_request("bad webhook: secret token contains unallowed characters")
        max_connections = params.get_int("max_connections") or 40
        if not 1 <= max_connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        hook = _Webhook(url, secret, max_connections)
        allowed = params.get_json("allowed_updates")
        if allowed is not None:
            hook.allowed_updates = self._set_allowed(allowed)
        self._webhook = hook
        self._wake_poller("webhook")
        pending, self._pending = self._pending, deque()
        for update in pending:
            self._spawn(self._deliver(update, hook, None))
        return True

    def _set_allowed(self, allowed: Any) -> list[str]:
        if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
            raise bad_request("can't parse allowed updates JSON object")
        if allowed:
            self._allowed_updates = frozenset(allowed)
        else:
            self._allowed_updates = frozenset(_UPDATE_TYPES) - _NOT_DEFAULT_UPDATES
        return list(allowed)

    async def _m_deleteWebhook(self, params: Params) -> Any:
        self._webhook = None
        if params.get_bool("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _m_getWebhookInfo(self, params: Params) -> Any:
        return self.webhook_info()

    async def _m_getUpdates(self, params: Params) -> Any:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get_int("offset") or 0
        limit = params.get_int("limit") or 100
        limit = min(max(limit, 1), 100)
        timeout = params.get_float("timeout") or 0.0
        allowed = params.get_json("allowed_updates")
        if allowed is not None:
            self._set_allowed(allowed)
        # A newer getUpdates terminates an older waiting one, like Telegram.
        self._wake_poller("conflict")
        pending = self._pending
        if offset > 0:
            while pending and pending[0]["update_id"] < offset:
                pending.popleft()
        elif offset < 0:
            while len(pending) > -offset:
                pending.popleft()
        if not pending and timeout > 0 and not self._closing:
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[str] = loop.create_future()
            self._poll_waiter = waiter
            try:
                reason = await asyncio.wait_for(waiter, timeout)
            except TimeoutError:
                reason = "timeout"
            finally:
                if self._poll_waiter is waiter:
                    self._poll_waiter = None
            if reason == "conflict":
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
            if reason == "webhook":
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            pending = self._pending  # reset() may have replaced it
        result = list(itertools.islice(pending, limit))
        if result and result[-1]["update_id"] > self._max_returned_id:
            fresh = sum(1 for u in result if u["update_id"] > self._max_returned_id)
            self._counters["updates_fetched"] += fresh
            self._counters["updates_delivered"] += fresh
            self._max_returned_id = result[-1]["update_id"]
        return result

    async def _m_sendMessage(self, params: Params) -> Any:
        chat = self._chat_for(params, sending=True)
        text, entities = self._formatted(
            params, "text", "entities", MAX_TEXT_LENGTH, "message is too long"
        )
        if text is None or not text.strip():
            raise bad_request("message text is empty")
        markup = validate_reply_markup(params.raw.get("reply_markup"))
        reply_to = self._reply_to(chat, params)
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        extra = {"parse_mode": params.get_str("parse_mode")} if params.has("parse_mode") else None
        return self._send(chat, "sendMessage", content, markup, reply_to, extra)

    def _caption(self, params: Params) -> dict[str, Any]:
        caption, entities = self._formatted(
            params, "caption", "caption_entities", MAX_CAPTION_LENGTH, "message caption is too long"
        )
        content: dict[str, Any] = {}
        if caption:
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        return content

    async def _m_sendPhoto(self, params: Params) -> Any:
        chat = self._chat_for(params, sending=True)
        content = self._caption(params)
        markup = validate_reply_markup(params.raw.get("reply_markup"))
        reply_to = self._reply_to(chat, params)
        file, source = self._resolve_file(params, "photo", "photos", ".jpg")
        content["photo"] = self._photo_sizes(file)
        extra: dict[str, Any] = {"photo_source": source}
        if file.url:
            extra["photo_url"] = file.url
        return self._send(chat, "sendPhoto", content, markup, reply_to, extra)

    async def _m_sendDocument(self, params: Params) -> Any:
        chat = self._chat_for(params, sending=True)
        content = self._caption(params)
        markup = validate_reply_markup(params.raw.get("reply_markup"))
        reply_to = self._reply_to(chat, params)
        file, source = self._resolve_file(params, "document", "documents", "")
        document: dict[str, Any] = {
            "file_id": file.file_id,
            "file_unique_id": file.file_unique_id,
            "file_size": file.size,
        }
        if file.name:
            document["file_name"] = file.name
        if file.mime_type:
            document["mime_type"] = file.mime_type
        content["document"] = document
        return self._send(chat, "sendDocument", content, markup, reply_to, {"file_source": source})

    async def _m_sendLocation(self, params: Params) -> Any:
        chat = self._chat_for(params, sending=True)
        latitude = params.get_float("latitude", error="wrong latitude specified")
        longitude = params.get_float("longitude", error="wrong longitude specified")
        if latitude is None or not -90 <= latitude <= 90:
            raise bad_request("wrong latitude specified")
        if longitude is None or not -180 <= longitude <= 180:
            raise bad_request("wrong longitude specified")
        markup = validate_reply_markup(params.raw.get("reply_markup"))
        reply_to = self._reply_to(chat, params)
        content = {"location": {"latitude": latitude, "longitude": longitude}}
        return self._send(chat, "sendLocation", content, markup, reply_to)

    async def _m_sendChatAction(self, params: Params) -> Any:
        self._chat_for(params, sending=True)
        action = params.get_str("action")
        if action not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._counters["chat_actions"] += 1
        return True

    def _message_to_edit(self, params: Params) -> tuple[_Chat, dict[str, Any]]:
        if not params.has("chat_id") and params.has("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._chat_for(params, sending=True)
        message_id = params.get_int("message_id", error="message to edit not found")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        message = chat.messages.get(message_id)
        if message is None:
            raise bad_request("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_id:
            raise bad_request("message can't be edited")
        return chat, message

    def _edited(
        self, chat: _Chat, message: dict[str, Any], method: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        self._check_flood(chat)
        for key, value in changes.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        message["edit_date"] = int(time.time())
        if self._has_inline_keyboard(message):
            chat.last_keyboard_id = max(chat.last_keyboard_id or 0, message["message_id"])
        record: dict[str, Any] = {
            "method": method,
            "chat_id": chat.id,
            "message_id": message["message_id"],
            "date": message["edit_date"],
            "text": message.get("text"),
            "reply_markup": message.get("reply_markup"),
            "photo": message.get("photo"),
        }
        if message.get("entities"):
            record["entities"] = message["entities"]
        self._record(chat, record)
        return message

    async def _m_editMessageText(self, params: Params) -> Any:
        chat, message = self._message_to_edit(params)
        text, entities = self._formatted(
            params, "text", "entities", MAX_TEXT_LENGTH, "message is too long"
        )
        if text is None or not text.strip():
            raise bad_request("message text is empty")
        markup = validate_reply_markup(params.raw.get("reply_markup"))
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        inline = markup if markup is not None and "inline_keyboard" in markup else None
        if (
            message.get("text") == text
            and message.get("entities") == entities
            and message.get("reply_markup") == inline
        ):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        changes = {"text": text, "entities": entities, "reply_markup": inline}
        return self._edited(chat, message, "editMessageText", changes)

    async def _m_editMessageReplyMarkup(self, params: Params) -> Any:
        chat, message = self._message_to_edit(params)
        markup = validate_reply_markup(params.raw.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        if message.get("reply_markup") == markup:
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        return self._edited(chat, message, "editMessageReplyMarkup", {"reply_markup": markup})

    async def _m_deleteMessage(self, params: Params) -> Any:
        chat = self._chat_for(params, sending=False)
        message_id = params.get_int("message_id", error="message to delete not found")
        if message_id is None or message_id not in chat.messages:
            raise bad_request("message to delete not found")
        del chat.messages[message_id]
        self._record(
            chat,
            {
                "method": "deleteMessage",
                "chat_id": chat.id,
                "message_id": message_id,
                "date": int(time.time()),
                "text": None,
                "reply_markup": None,
                "photo": None,
            },
        )
        return True

    async def _m_answerCallbackQuery(self, params: Params) -> Any:
        query_id = params.get_str("callback_query_id")
        query = self._callbacks.get(query_id or "")
        if query is None or query["answered"]:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = params.get_str("text")
        if text and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        query["answered"] = True
        chat = self._chats.get(query["chat_id"])
        if chat is not None:
            self._record(
                chat,
                {
                    "method": "answerCallbackQuery",
                    "chat_id": chat.id,
                    "message_id": None,
                    "date": int(time.time()),
                    "text": text,
                    "reply_markup": None,
                    "photo": None,
                    "callback_query_id": query_id,
                    "show_alert": params.get_bool("show_alert"),
                    "url": params.get_str("url"),
                },
            )
        return True

    async def _m_getFile(self, params: Params) -> Any:
        file = self._files.get(params.get_str("file_id") or "")
        if file is None:
            raise bad_request("invalid file_id")
        result: dict[str, Any] = {
            "file_id": file.file_id,
            "file_unique_id": file.file_unique_id,
            "file_size": file.size,
        }
        if file.data is not None:
            result["file_path"] = file.file_path
        return result

    def _commands_key(self, params: Params) -> str:
        scope = params.get_json("scope") or {"type": "default"}
        return json.dumps([scope, params.get_str("language_code") or ""], sort_keys=True)

    async def _m_setMyCommands(self, params: Params) -> Any:
        commands = params.get_json("commands", "commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands")
        cleaned = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("can't parse BotCommand: BotCommand must be an Object")
            command = str(item.get("command", "")).removeprefix("/")
            description = str(item.get("description", ""))
            if not 1 <= len(command) <= 32 or not all(
                c.isascii() and (c.islower() or c.isdigit() or c == "_") for c in command
            ):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("command description is empty")
            cleaned.append({"command": command, "description": description})
        self._commands[self._commands_key(params)] = cleaned
        return True

    async def _m_getMyCommands(self, params: Params) -> Any:
        return self._commands.get(self._commands_key(params), [])

    async def _m_deleteMyCommands(self, params: Params) -> Any:
        self._commands.pop(self._commands_key(params), None)
        return True

    async def _m_setChatMenuButton(self, params: Params) -> Any:
        chat_id = self._chat_for(params, sending=False).id if params.has("chat_id") else None
        button = params.get_json("menu_button", "menu button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "default",
            "commands",
            "web_app",
        ):
            raise bad_request("can't parse menu button JSON object")
        self._menu_buttons[chat_id] = button
        return True

    async def _m_getChatMenuButton(self, params: Params) -> Any:
        chat_id = self._chat_for(params, sending=False).id if params.has("chat_id") else None
        return (
            self._menu_buttons.get(chat_id) or self._menu_buttons.get(None) or {"type": "commands"}
        )

    async def _m_getChat(self, params: Params) -> Any:
        chat = self._chat_for(params, sending=False)
        info = chat.chat_object()
        info.update(
            {
                "accent_color_id": chat.id % 7 if chat.id > 0 else 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        )
        return info

    # ------------------------------------------------------------------ control API

    def _sent_key(self, value: str) -> int:
        return int(value)

    async def _c_post_updates(self, request: web.Request) -> web.Response:
        return await self._control_inject(
            request,
            self._normalize_update,
            self._enqueue,
            lambda updates: {"update_ids": [u["update_id"] for u in updates]},
            wait_for_webhook=lambda: self._webhook is not None,
        )

    async def _c_post_limits(self, request: web.Request) -> web.Response:
        try:
            data = await self._control_json(request)
            if not isinstance(data, dict):
                raise bad_request("limits body must be an object")
            result = self.set_limits(
                enforce=data.get("enforce"),
                rate_per_second=data.get("rate_per_second"),
                per_chat_per_second=data.get("per_chat_per_second"),
                burst=data.get("burst"),
                per_chat_burst=data.get("per_chat_burst"),
            )
        except ApiError as exc:
            return self._error_response(exc)
        return json_response({"ok": True, "result": result})

    async def _c_post_block(self, request: web.Request) -> web.Response:
        try:
            data = await self._control_json(request)
            chat_id = int(data["chat_id"])
        except (ApiError, KeyError, TypeError, ValueError):
            return self._error_response(bad_request('body must be {"chat_id": int}'))
        self.block(chat_id, bool(data.get("blocked", True)))
        return json_response({"ok": True})

    async def _c_post_chats(self, request: web.Request) -> web.Response:
        try:
            data = await self._control_json(request)
            items = data if isinstance(data, list) else [data]
            for item in items:
                if not isinstance(item, dict):
                    raise bad_request("each chat must be an object")
                self._chat_from_spec(item)
        except ApiError as exc:
            return self._error_response(exc)
        return json_response({"ok": True})

    async def _c_get_chats(self, request: web.Request) -> web.Response:
        chats = [
            {**chat.chat_object(), "blocked": chat.blocked, "language_code": chat.language_code}
            for chat in self._chats.values()
        ]
        return json_response({"ok": True, "result": chats})

    async def _c_get_webhook(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "ok": True,
                "result": self.webhook_info(),
                "attempts": list(self.webhook_attempts),
            }
        )

    # ------------------------------------------------------------------ server

    def app(self) -> web.Application:
        """An aiohttp application serving the Bot API, file downloads and the control API."""
        app = self._new_app(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        app.router.add_post("/_control/updates", self._c_post_updates)
        app.router.add_get("/_control/sent", self._c_get_sent)
        app.router.add_get("/_control/stats", self._c_get_stats)
        app.router.add_post("/_control/limits", self._c_post_limits)
        app.router.add_get("/_control/limits", self._c_get_limits)
        app.router.add_post("/_control/block", self._c_post_block)
        app.router.add_post("/_control/chats", self._c_post_chats)
        app.router.add_get("/_control/chats", self._c_get_chats)
        app.router.add_post("/_control/reset", self._c_post_reset)
        app.router.add_get("/_control/webhook", self._c_get_webhook)
        return app

    def _on_closing(self) -> None:
        self._wake_poller("closing")

    @property
    def base_url(self) -> str:
        """For python-telegram-bot: ``Bot(token, base_url=fake.base_url, ...)``."""
        return f"{self._require_url()}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self._require_url()}/file/bot"


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m bot.fakes.telegram --port 8081``: serve until interrupted."""
    parser = server_arguments("Fake Telegram Bot API server", 8081)
    parser.add_argument("--token", default="123456:TEST")
    parser.add_argument("--bot-username", default="antq_demo_bot")
    parser.add_argument("--enforce-limits", action="store_true")
    parser.add_argument("--rate-per-second", type=float, default=30)
    parser.add_argument("--per-chat-per-second", type=float, default=1)
    args = parser.parse_args(argv)
    serve(
        lambda: FakeTelegram(
            token=args.token,
            bot_username=args.bot_username,
            enforce_limits=args.enforce_limits,
            rate_per_second=args.rate_per_second,
            per_chat_per_second=args.per_chat_per_second,
        ),
        args.host,
        args.port,
        lambda fake, url: (
            f"Fake Telegram Bot API on {url} (token {args.token})",
            f"  python-telegram-bot: base_url={url}/bot base_file_url={url}/file/bot",
            f"  control API: {url}/_control/...",
        ),
    )


if __name__ == "__main__":
    main()
