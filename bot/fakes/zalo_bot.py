"""A fake Zalo Bot Platform API server: real HTTP on loopback, in-memory state.

Used by tests, by the product's demo mode and by benchmarks. A Zalo Bot client pointed at
``f"{url}/bot{token}/{method}"`` instead of ``https://bot-api.zaloplatforms.com`` talks to it
unchanged. A control API under ``/_control/`` (and the mirroring Python methods) injects what
residents write and reads back what the bot sent. See ``docs/fake-zalo-bot.md`` for the
behaviour, including every choice made where Zalo's API is undocumented.

Run standalone with ``python -m bot.fakes.zalo_bot --port 8082``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
import unicodedata
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

from aiohttp import ClientError, web

from bot.core.limits import ZaloBotLimit
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
from bot.fakes._telegram_markup import bad_request
from bot.fakes._telegram_params import ApiError, Params, TokenBucket, Upload
from bot.fakes._zalo_bot_updates import Injected, build_update, new_id, now_ms

__all__ = ["ApiError", "FakeZaloBot", "main"]

MAX_TEXT_LENGTH = int(ZaloBotLimit.MAX_TEXT_LENGTH)
MAX_SECRET_LENGTH = 256
MIN_SECRET_LENGTH = 8
WEBHOOK_CONCURRENCY = 40
DEFAULT_POLL_TIMEOUT = 30.0

_SECRET_HEADER = "X-Bot-Api-Secret-Token"
_PARSE_MODES = frozenset({"markdown", "html"})
_CHAT_ACTIONS = frozenset({"typing"})
_SENDS = frozenset({"sendMessage", "sendPhoto", "sendSticker"})

# Outcomes of a waiting getUpdates other than an update.
_TIMED_OUT = "timeout"
_WEBHOOK_SET = "webhook"
_CLOSING = "closing"

Handler = Callable[[Params], Awaitable[Any]]
PollConflict = Literal["error", "silent"]

# The HTTP request being served (None for in-process ``call()``): a waiting getUpdates whose
# client has hung up must not swallow an update, since Zalo has no offsets to re-fetch it.
_current_request: contextvars.ContextVar[web.Request | None] = contextvars.ContextVar(
    "_current_request", default=None
)


def _webhook_conflict() -> ApiError:
    return bad_request("webhook is set; call deleteWebhook before getUpdates")


class _Chat:
    """A user (or group) that wrote to the bot."""

    __slots__ = ("display_name", "id")

    def __init__(self, chat_id: str, display_name: str | None) -> None:
        self.id = chat_id
        self.display_name = display_name


class _Webhook(Webhook):
    __slots__ = ("secret", "updated_at")

    def __init__(self, url: str, secret: str, concurrency: int) -> None:
        super().__init__(url, concurrency)
        self.secret = secret
        self.updated_at = now_ms()


class FakeZaloBot(FakeServer):
    """In-memory Zalo Bot Platform API with a control API; see ``docs/fake-zalo-bot.md``."""

    _label = "FakeZaloBot"

    def __init__(
        self,
        *,
        token: str = "1234567890:fake-zalo-bot-secret",
        enforce_limits: bool = False,
        rate_per_second: float = 20,
        burst: int = 20,
        wrapped_webhooks: bool = False,
        display_name: str = "Bot ANTQ Demo",
        account_name: str = "bot.antq_demo",
        unknown_chat_status: Literal[400, 404] = 400,
        poll_conflict: PollConflict = "error",
        webhook_max_attempts: int = 4,
        webhook_retry_delay: float = 0.05,
        webhook_timeout: float = 10.0,
    ) -> None:
        if unknown_chat_status not in (400, 404):
            raise ValueError("unknown_chat_status must be 400 or 404")
        if poll_conflict not in ("error", "silent"):
            raise ValueError('poll_conflict must be "error" or "silent"')
        super().__init__(
            webhook_max_attempts=webhook_max_attempts,
            webhook_retry_delay=webhook_retry_delay,
            webhook_timeout=webhook_timeout,
        )
        self.token = token
        head = token.split(":", 1)[0]
        self.bot_id = head if head.isdigit() else "1234567890"
        self.display_name = display_name
        self.account_name = account_name
        self.unknown_chat_status = unknown_chat_status
        self.poll_conflict: PollConflict = poll_conflict
        self._defaults = (enforce_limits, rate_per_second, burst, wrapped_webhooks)
        self._methods: dict[str, Handler] = {
            name: getattr(self, f"_m_{name}")
            for name in (
                "getMe",
                "getUpdates",
                "setWebhook",
                "deleteWebhook",
                "getWebhookInfo",
                "sendMessage",
                "sendPhoto",
                "sendSticker",
                "sendChatAction",
            )
        }
        self._sent: SentLog[str] = SentLog("fake Zalo Bot server", "in chat", lambda: self._closing)
        self._reset_state()

    # ------------------------------------------------------------------ state

    def _reset_state(self) -> None:
        enforce, rate, burst, wrapped = self._defaults
        self.enforce_limits = enforce
        self.rate_per_second = float(rate)
        self.burst = burst
        self.wrapped_webhooks = wrapped
        self._bucket = TokenBucket(self.rate_per_second, burst, time.monotonic())
        self._chats: dict[str, _Chat] = {}
        # Updates waiting for getUpdates, with their per-inject "wrapped" option.
        self._pending: deque[tuple[dict[str, Any], bool | None]] = deque()
        self._pollers: deque[tuple[asyncio.Future[Any], web.Request | None]] = deque()
        self._webhook: _Webhook | None = None
        self.webhook_attempts: deque[dict[str, Any]] = deque(maxlen=10_000)
        self._counters: dict[str, int] = dict.fromkeys(
            (
                "updates_injected",
                "updates_delivered",
                "updates_fetched",
                "poll_timeouts",
                "webhook_attempts",
                "webhook_failures",
                "webhook_gave_up",
                "messages_sent",
                "chat_actions",
                "requests",
                "errors",
                "rate_limited",
                "too_long",
                "unknown_chat",
                "unknown_methods",
            ),
            0,
        )
        self._method_counts: dict[str, int] = {}
        self._closing = False

    def reset(self) -> None:
        """Forget everything (chats, updates, sent messages, webhook, stats, limits)."""
        self._cancel_tasks()
        pollers = self._pollers
        self._reset_state()
        for fut, _request in pollers:
            settle(fut, _TIMED_OUT)
        self._sent.clear()

    def add_chat(self, chat_id: str, *, display_name: str | None = None) -> None:
        """Make a chat known, as if the user had written to the bot."""
        if not chat_id:
            raise ValueError("chat_id must be a non-empty string")
        self._ensure_chat(str(chat_id), display_name)

    def _ensure_chat(self, chat_id: str, display_name: str | None = None) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Chat(chat_id, display_name)
        elif display_name:
            chat.display_name = display_name
        return chat

    def _name_of(self, user_id: str) -> str | None:
        chat = self._chats.get(user_id)
        if chat is not None and chat.display_name:
            return chat.display_name
        return f"Người dùng {user_id[-4:]}"

    def set_limits(
        self,
        *,
        enforce: bool | None = None,
        rate_per_second: float | None = None,
        burst: int | None = None,
    ) -> dict[str, Any]:
        """Switch limits on/off or change the send rate; the bucket starts full again."""
        if enforce is not None:
            self.enforce_limits = bool(enforce)
        if rate_per_second is not None:
            self.rate_per_second = float(rate_per_second)
        if burst is not None:
            self.burst = int(burst)
        self._bucket = TokenBucket(self.rate_per_second, self.burst, time.monotonic())
        return self.limits()

    def limits(self) -> dict[str, Any]:
        return {
            "enforce": self.enforce_limits,
            "rate_per_second": self.rate_per_second,
            "burst": self.burst,
            "max_text_length": MAX_TEXT_LENGTH,
        }

    def stats(self) -> dict[str, Any]:
        """Counters: updates injected/delivered, webhook failures, sends, 429s, methods."""
        result: dict[str, Any] = dict(self._counters)
        result["pending_updates"] = self._pending_count()
        result["chats"] = len(self._chats)
        result["sent_records"] = len(self._sent)
        result["methods"] = dict(self._method_counts)
        return result

    def _pending_count(self) -> int:
        hook = self._webhook
        return len(self._pending) + (hook.inflight if hook else 0)

    def webhook_info(self) -> dict[str, Any] | None:
        """``getWebhookInfo``'s result, plus delivery diagnostics; None without a webhook."""
        hook = self._webhook
        if hook is None:
            return None
        info: dict[str, Any] = {
            "url": hook.url,
            "updated_at": hook.updated_at,
            "pending_update_count": self._pending_count(),
        }
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
        return info

    # ------------------------------------------------------------------ sent records

    def sent(self, chat_id: str | None = None, *, since: int = 0) -> list[dict[str, Any]]:
        """What the bot sent, oldest first; ``since`` skips records with ``seq`` <= it."""
        return self._sent.sent(chat_id, since)

    def last_seq(self) -> int:
        return len(self._sent)

    async def wait_sent(
        self,
        chat_id: str | None = None,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - mirrors the HTTP API's timeout parameter
        *,
        since: int = 0,
    ) -> list[dict[str, Any]]:
        """Wait until ``sent(chat_id, since=since)`` holds at least ``count`` records.

        Returns those records; raises ``TimeoutError`` (listing what was sent) on timeout.
        """
        return await self._sent.wait(chat_id, count, timeout, since)

    # ------------------------------------------------------------------ updates

    def inject(self, update: dict[str, Any] | None = None, /, **fields: Any) -> str:
        """Inject what a resident wrote; returns the new message_id.

        Pass a shorthand dict or keywords (``inject(chat_id="6ede…", text="Xin chào")``), or a
        partial ``{"event_name", "message"}`` update. Raises ``ApiError`` (400) when malformed.
        """
        injected = self._build({**(update or {}), **fields})
        self._enqueue(injected, None)
        return injected.message_id

    def inject_many(self, updates: Sequence[dict[str, Any]]) -> list[str]:
        injected = [self._build(update) for update in updates]
        for item in injected:
            self._enqueue(item, None)
        return [item.message_id for item in injected]

    async def inject_and_wait(
        self, update: dict[str, Any] | None = None, /, **fields: Any
    ) -> dict[str, Any]:
        """Inject and, with a webhook set, wait until its delivery has finished.

        Returns ``{"message_id", "status", "attempts"}``: ``status`` is the last HTTP status
        (None without a webhook or when no attempt got an HTTP answer).
        """
        injected = self._build({**(update or {}), **fields})
        fut: asyncio.Future[Delivery] | None = None
        if self._webhook is not None:
            fut = asyncio.get_running_loop().create_future()
        self._enqueue(injected, fut)
        status, attempts = (await fut) if fut is not None else (None, 0)
        return {"message_id": injected.message_id, "status": status, "attempts": attempts}

    def _build(self, spec: Any) -> Injected:
        try:
            injected = build_update(spec, self._name_of)
        except (KeyError, TypeError, ValueError) as exc:
            raise bad_request(f"malformed update: {exc.__class__.__name__}: {exc}") from None
        self._ensure_chat(injected.chat_id, injected.display_name)
        return injected

    def _enqueue(self, injected: Injected, waiter: asyncio.Future[Delivery] | None) -> None:
        self._counters["updates_injected"] += 1
        hook = self._webhook
        if hook is not None:
            self._spawn(self._deliver(injected.update, injected.wrapped, hook, waiter))
            return
        if waiter is not None:
            waiter.set_result((None, 0))
        self._offer(injected.update, injected.wrapped)

    def _offer(self, update: dict[str, Any], wrapped: bool | None) -> None:
        """Hand an update to the oldest waiting getUpdates, or queue it."""
        pollers = self._pollers
        while pollers:
            fut, request = pollers.popleft()
            if fut.done():
                continue
            if request is not None and (
                request.transport is None or request.transport.is_closing()
            ):
                fut.set_result(_CLOSING)  # the client hung up
                continue
            fut.set_result(update)
            return
        self._pending.append((update, wrapped))

    # ------------------------------------------------------------------ webhook delivery

    async def _deliver(
        self,
        update: dict[str, Any],
        wrapped: bool | None,
        hook: _Webhook,
        waiter: asyncio.Future[Delivery] | None,
    ) -> None:
        wrap = self.wrapped_webhooks if wrapped is None else wrapped
        body = dumps({"ok": True, "result": update} if wrap else update)
        await self._deliver_to_webhook(
            hook,
            lambda: self._webhook,
            lambda hook: self._post_update(hook, body),
            waiter,
            requeue=lambda: self._offer(update, wrapped),
            logged={"message_id": update["message"]["message_id"]},
            clock=now_ms,
        )

    async def _post_update(self, hook: _Webhook, body: bytes) -> tuple[int | None, str | None]:
        headers = {**JSON_HEADERS, _SECRET_HEADER: hook.secret}
        async with hook.semaphore:
            try:
                async with self._client().post(hook.url, data=body, headers=headers) as resp:
                    await resp.read()
                    if not 200 <= resp.status < 300:
                        return resp.status, f"Wrong response from the webhook: {resp.status}"
                    return resp.status, None
            except (ClientError, OSError) as exc:
                return None, f"Connection failed: {exc.__class__.__name__}: {exc}"
            except TimeoutError:
                return None, "Timeout expired"

    # ------------------------------------------------------------------ Bot API dispatch

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Call a Bot API method in-process; returns its result or raises ``ApiError``.

        ``sendChatAction`` returns None: its HTTP answer is ``{"ok": true}`` without a result.
        """
        handler = self._methods.get(method)
        self._counters["requests"] += 1
        if handler is None:
            self._counters["unknown_methods"] += 1
            raise ApiError(404, "Not Found")
        self._method_counts[method] = self._method_counts.get(method, 0) + 1
        try:
            return await handler(Params(params or {}))
        except ApiError as exc:
            if exc.code == 408:
                self._counters["poll_timeouts"] += 1
            else:
                self._counters["errors"] += 1
            raise

    async def _handle_api(self, request: web.Request) -> web.Response:
        _current_request.set(request)
        return await bot_api_response(
            request,
            token=self.token,
            known=self._methods.__contains__,
            call=self.call,
            counters=self._counters,
            bare_none=True,
        )

    def _chat_for(self, params: Params) -> _Chat:
        chat_id = params.get_str("chat_id")
        if not chat_id:
            raise bad_request("chat_id is empty")
        chat = self._chats.get(chat_id)
        if chat is None:
            self._counters["unknown_chat"] += 1
            if self.unknown_chat_status == 404:
                raise ApiError(404, "Not Found")
            raise bad_request("chat not found")
        return chat

    def _check_text(self, text: str, what: str) -> None:
        if self.enforce_limits and len(unicodedata.normalize("NFC", text)) > MAX_TEXT_LENGTH:
            self._counters["too_long"] += 1
            raise bad_request(f"{what} is too long (max {MAX_TEXT_LENGTH} characters)")

    def _check_quota(self) -> None:
        if not self.enforce_limits:
            return
        if self._bucket.refill(time.monotonic()) > 0:
            self._counters["rate_limited"] += 1
            raise ApiError(429, "Quota exceeded")
        self._bucket.take()

    def _send(self, chat: _Chat, method: str, content: dict[str, Any]) -> dict[str, Any]:
        self._check_quota()
        message_id = new_id()
        date = now_ms()
        self._counters["messages_sent"] += 1
        record: dict[str, Any] = {
            "method": method,
            "chat_id": chat.id,
            "message_id": message_id,
            "date": date,
            "text": None,
            **content,
        }
        self._sent.add(chat.id, record)
        return {"message_id": message_id, "date": date}

    # ------------------------------------------------------------------ methods

    async def _m_getMe(self, params: Params) -> Any:
        return {
            "id": self.bot_id,
            "account_name": self.account_name,
            "account_type": "BASIC",
            "can_join_groups": False,
            "display_name": self.display_name,
        }

    async def _m_setWebhook(self, params: Params) -> Any:
        url = params.get_str("url") or ""
        if not url.startswith(("http://", "https://")) or len(url) <= len("https://"):
            raise bad_request("url must be an http(s) URL")
        secret = params.get_str("secret_token") or ""
        if not MIN_SECRET_LENGTH <= len(secret) <= MAX_SECRET_LENGTH:
            raise bad_request(
                f"secret_token must be {MIN_SECRET_LENGTH}-{MAX_SECRET_LENGTH} characters"
            )
        if not all("!" <= c <= "~" for c in secret):
            raise bad_request("secret_token must be printable ASCII without spaces")
        hook = self._webhook = _Webhook(url, secret, WEBHOOK_CONCURRENCY)
        if self.poll_conflict == "error":
            pollers, self._pollers = self._pollers, deque()
            for fut, _request in pollers:
                settle(fut, _WEBHOOK_SET)
        pending, self._pending = self._pending, deque()
        for update, wrapped in pending:
            self._spawn(self._deliver(update, wrapped, hook, None))
        return {"url": hook.url, "updated_at": hook.updated_at}

    async def _m_deleteWebhook(self, params: Params) -> Any:
        self._webhook = None
        return {"url": "", "updated_at": now_ms()}

    async def _m_getWebhookInfo(self, params: Params) -> Any:
        hook = self._webhook
        if hook is None:
            raise ApiError(404, "Not Found")
        return {"url": hook.url, "updated_at": hook.updated_at}

    async def _m_getUpdates(self, params: Params) -> Any:
        if self._webhook is not None and self.poll_conflict == "error":
            raise _webhook_conflict()
        timeout = params.get_float("timeout")
        timeout = DEFAULT_POLL_TIMEOUT if timeout is None else max(0.0, timeout)
        if self._pending and self._webhook is None:
            update, _wrapped = self._pending.popleft()
            return self._fetched(update)
        if timeout <= 0 or self._closing:
            raise ApiError(408, "Request timeout")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        poller = (fut, _current_request.get())
        self._pollers.append(poller)
        timer = loop.call_later(timeout, settle, fut, _TIMED_OUT)
        try:
            outcome = await fut
        except asyncio.CancelledError:
            # The client went away just as an update was handed over: keep it for the next poll.
            if fut.done() and not fut.cancelled() and isinstance(fut.result(), dict):
                self._pending.appendleft((fut.result(), None))
            raise
        finally:
            timer.cancel()
            with contextlib.suppress(ValueError):
                self._pollers.remove(poller)
        if isinstance(outcome, dict):
            return self._fetched(outcome)
        if outcome == _WEBHOOK_SET:
            raise _webhook_conflict()
        raise ApiError(408, "Request timeout")

    def _fetched(self, update: dict[str, Any]) -> dict[str, Any]:
        self._counters["updates_fetched"] += 1
        self._counters["updates_delivered"] += 1
        return update

    async def _m_sendMessage(self, params: Params) -> Any:
        chat = self._chat_for(params)
        text = params.get_str("text")
        if not text:
            raise bad_request("text is empty")
        self._check_text(text, "text")
        content: dict[str, Any] = {"text": text}
        parse_mode = params.get_str("parse_mode")
        if parse_mode:
            if parse_mode.lower() not in _PARSE_MODES:
                raise bad_request('parse_mode must be "markdown" or "html"')
            content["parse_mode"] = parse_mode
        text_styles = params.get_json("text_styles")
        if text_styles is not None:
            content["text_styles"] = text_styles
        return self._send(chat, "sendMessage", content)

    async def _m_sendPhoto(self, params: Params) -> Any:
        chat = self._chat_for(params)
        photo = params.raw.get("photo")
        if isinstance(photo, Upload):
            raise bad_request("photo must be an image URL; uploads are not supported")
        url = params.get_str("photo")
        if not url:
            raise bad_request("photo is empty")
        if not url.startswith(("http://", "https://")):
            raise bad_request("photo must be an http(s) image URL")
        content: dict[str, Any] = {"photo": url}
        caption = params.get_str("caption")
        if caption:
            self._check_text(caption, "caption")
            content["caption"] = caption
        return self._send(chat, "sendPhoto", content)

    async def _m_sendSticker(self, params: Params) -> Any:
        chat = self._chat_for(params)
        sticker = params.get_str("sticker")
        if not sticker:
            raise bad_request("sticker is empty")
        return self._send(chat, "sendSticker", {"sticker": sticker})

    async def _m_sendChatAction(self, params: Params) -> Any:
        self._chat_for(params)
        if params.get_str("action") not in _CHAT_ACTIONS:
            raise bad_request('action must be "typing"')
        self._counters["chat_actions"] += 1
        return None

    # ------------------------------------------------------------------ control API

    async def _c_post_updates(self, request: web.Request) -> web.Response:
        return await self._control_inject(
            request,
            self._build,
            self._enqueue,
            lambda injected: {"message_ids": [i.message_id for i in injected]},
            wait_for_webhook=lambda: self._webhook is not None,
        )

    async def _c_post_limits(self, request: web.Request) -> web.Response:
        try:
            data = await self._control_json(request)
            if not isinstance(data, dict):
                raise bad_request("limits body must be an object")
            if not isinstance(data.get("enforce", False), bool):
                raise bad_request("enforce must be a boolean")
            result = self.set_limits(
                enforce=data.get("enforce"),
                rate_per_second=data.get("rate_per_second"),
                burst=data.get("burst"),
            )
        except (TypeError, ValueError):
            error = bad_request("enforce: bool; rate_per_second, burst: numbers")
            return self._error_response(error)
        except ApiError as exc:
            return self._error_response(exc)
        return json_response({"ok": True, "result": result})

    async def _c_post_chats(self, request: web.Request) -> web.Response:
        try:
            data = await self._control_json(request)
            items = data if isinstance(data, list) else [data]
            for item in items:
                chat_id = item.get("chat_id") if isinstance(item, dict) else None
                name = item.get("display_name") if isinstance(item, dict) else None
                if not isinstance(chat_id, str | int) or isinstance(chat_id, bool) or not chat_id:
                    raise bad_request('each chat must be {"chat_id": str, "display_name"?: str}')
                if name is not None and not isinstance(name, str):
                    raise bad_request("display_name must be a string")
                self._ensure_chat(str(chat_id), name)
        except ApiError as exc:
            return self._error_response(exc)
        return json_response({"ok": True})

    async def _c_get_chats(self, request: web.Request) -> web.Response:
        chats = [
            {
                "chat_id": chat.id,
                "display_name": chat.display_name,
                "sent": self._sent.count(chat.id),
            }
            for chat in self._chats.values()
        ]
        return json_response({"ok": True, "result": chats})

    async def _c_get_webhook(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "ok": True,
                "result": self.webhook_info(),
                "wrapped": self.wrapped_webhooks,
                "attempts": list(self.webhook_attempts),
            }
        )

    async def _c_post_webhook(self, request: web.Request) -> web.Response:
        try:
            data = await self._control_json(request)
            wrapped = data.get("wrapped") if isinstance(data, dict) else None
            if not isinstance(wrapped, bool):
                raise bad_request('body must be {"wrapped": bool}')
        except ApiError as exc:
            return self._error_response(exc)
        self.wrapped_webhooks = wrapped
        return json_response({"ok": True, "wrapped": wrapped})

    # ------------------------------------------------------------------ server

    def app(self) -> web.Application:
        """An aiohttp application serving the Bot API and the control API."""
        app = self._new_app(client_max_size=16 * 1024 * 1024)
        for verb in ("GET", "POST"):
            app.router.add_route(verb, "/bot{token}/{method}", self._handle_api)
        app.router.add_post("/_control/updates", self._c_post_updates)
        app.router.add_get("/_control/sent", self._c_get_sent)
        app.router.add_get("/_control/stats", self._c_get_stats)
        app.router.add_post("/_control/limits", self._c_post_limits)
        app.router.add_get("/_control/limits", self._c_get_limits)
        app.router.add_post("/_control/chats", self._c_post_chats)
        app.router.add_get("/_control/chats", self._c_get_chats)
        app.router.add_post("/_control/reset", self._c_post_reset)
        app.router.add_get("/_control/webhook", self._c_get_webhook)
        app.router.add_post("/_control/webhook", self._c_post_webhook)
        return app

    def _on_closing(self) -> None:
        pollers, self._pollers = self._pollers, deque()
        for fut, _request in pollers:
            settle(fut, _CLOSING)

    @property
    def api_url(self) -> str:
        """``f"{api_url}/{method}"`` is what a client calls (the token is included)."""
        return f"{self._require_url()}/bot{self.token}"


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m bot.fakes.zalo_bot --port 8082``: serve until interrupted."""
    parser = server_arguments("Fake Zalo Bot Platform API server", 8082)
    parser.add_argument("--token", default="1234567890:fake-zalo-bot-secret")
    parser.add_argument("--enforce-limits", action="store_true")
    parser.add_argument("--rate-per-second", type=float, default=20)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--wrapped-webhooks", action="store_true")
    args = parser.parse_args(argv)
    serve(
        lambda: FakeZaloBot(
            token=args.token,
            enforce_limits=args.enforce_limits,
            rate_per_second=args.rate_per_second,
            burst=args.burst,
            wrapped_webhooks=args.wrapped_webhooks,
        ),
        args.host,
        args.port,
        lambda fake, url: (
            f"Fake Zalo Bot API on {url} (token {args.token})",
            f"  API base: {url}/bot<token>/<method>",
            f"  control API: {url}/_control/...",
        ),
    )


if __name__ == "__main__":
    main()
