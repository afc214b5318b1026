"""A fake Zalo Bot Platform API server: real HTTP on loopback, in-memory state.

Used by tests, by the product's demo mode and by benchmarks. A Zalo Bot client pointed at
``f"{url}/bot{token}/{method}"`` instead of ``https://bot-api.zaloplatforms.com`` talks to it
unchanged. A control API under ``/_control/`` (and the mirroring Python methods) injects what
residents write and reads back what the bot sent. See ``docs/fake-zalo-bot.md`` for the
behaviour, including every choice made where Zalo's API is undocumented.

Run standalone with ``python -m bot.fakes.zalo_bot --port 8082``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import json
import signal
import time
import unicodedata
from bisect import bisect_right
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Literal, Self

from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector, web

from bot.core.limits import ZaloBotLimit
from bot.fakes._telegram_markup import bad_request
from bot.fakes._telegram_params import ApiError, Params, TokenBucket, Upload, read_request_params
from bot.fakes._zalo_bot_updates import Injected, build_update, new_id, now_ms

__all__ = ["ApiError", "FakeZaloBot", "main"]

MAX_TEXT_LENGTH = int(ZaloBotLimit.MAX_TEXT_LENGTH)
MAX_SECRET_LENGTH = 256
MIN_SECRET_LENGTH = 8
WEBHOOK_CONCURRENCY = 40
DEFAULT_POLL_TIMEOUT = 30.0

_SECRET_HEADER = "X-Bot-Api-Secret-Token"
_JSON_HEADERS = {"Content-Type": "application/json"}
_PARSE_MODES = frozenset({"markdown", "html"})
_CHAT_ACTIONS = frozenset({"typing"})
_SENDS = frozenset({"sendMessage", "sendPhoto", "sendSticker"})

# Outcomes of a waiting getUpdates other than an update.
_TIMED_OUT = "timeout"
_WEBHOOK_SET = "webhook"
_CLOSING = "closing"

Handler = Callable[[Params], Awaitable[Any]]
Delivery = tuple[int | None, int]  # (last HTTP status or None, attempts)
PollConflict = Literal["error", "silent"]

# The HTTP request being served (None for in-process ``call()``): a waiting getUpdates whose
# client has hung up must not swallow an update, since Zalo has no offsets to re-fetch it.
_current_request: contextvars.ContextVar[web.Request | None] = contextvars.ContextVar(
    "_current_request", default=None
)


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _json_response(obj: Any, status: int = 200) -> web.Response:
    return web.Response(body=_dumps(obj), status=status, headers=_JSON_HEADERS)


def _webhook_conflict() -> ApiError:
    return bad_request("webhook is set; call deleteWebhook before getUpdates")


def _settle(fut: asyncio.Future[Any], outcome: Any) -> None:
    if not fut.done():
        fut.set_result(outcome)


class _Chat:
    """A user (or group) that wrote to the bot, and what the bot sent there."""

    __slots__ = ("display_name", "id", "sent")

    def __init__(self, chat_id: str, display_name: str | None) -> None:
        self.id = chat_id
        self.display_name = display_name
        self.sent: list[dict[str, Any]] = []


class _Webhook:
    __slots__ = (
        "inflight",
        "last_error_date",
        "last_error_message",
        "secret",
        "semaphore",
        "updated_at",
        "url",
    )

    def __init__(self, url: str, secret: str, concurrency: int) -> None:
        self.url = url
        self.secret = secret
        self.updated_at = now_ms()
        self.semaphore = asyncio.Semaphore(concurrency)
        self.inflight = 0
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None


class FakeZaloBot:
    """In-memory Zalo Bot Platform API with a control API; see ``docs/fake-zalo-bot.md``."""

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
        self.token = token
        head = token.split(":", 1)[0]
        self.bot_id = head if head.isdigit() else "1234567890"
        self.display_name = display_name
        self.account_name = account_name
        self.unknown_chat_status = unknown_chat_status
        self.poll_conflict: PollConflict = poll_conflict
        self.webhook_max_attempts = max(1, webhook_max_attempts)
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
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
        self._runner: web.AppRunner | None = None
        self._http: ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.url: str | None = None
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
        self._log: list[dict[str, Any]] = []
        self._sent_waiters: dict[str | None, list[tuple[int, asyncio.Future[None]]]] = {}
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
        for task in list(self._tasks):
            task.cancel()
        pollers, waiters = self._pollers, self._sent_waiters
        self._reset_state()
        for fut, _request in pollers:
            _settle(fut, _TIMED_OUT)
        for entries in waiters.values():
            for _target, fut in entries:
                _settle(fut, None)

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
        result["sent_records"] = len(self._log)
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
        if chat_id is None:
            return self._log[max(0, since) :]
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        if since <= 0:
            return list(chat.sent)
        return chat.sent[bisect_right(chat.sent, since, key=lambda r: r["seq"]) :]

    def last_seq(self) -> int:
        return len(self._log)

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
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if chat_id is None:
                total = len(self._log)
                have = total - max(0, since)
            else:
                chat = self._chats.get(chat_id)
                records = chat.sent if chat else []
                total = len(records)
                start = bisect_right(records, since, key=lambda r: r["seq"]) if since > 0 else 0
                have = total - start
            if have >= count:
                return self.sent(chat_id, since=since)
            if self._closing:
                raise TimeoutError("fake Zalo Bot server is stopping")
            remaining = deadline - loop.time()
            if remaining <= 0:
                got = self.sent(chat_id, since=since)
                raise TimeoutError(
                    f"waited {timeout}s for {count} sent record(s) in chat {chat_id}, "
                    f"got {len(got)}: {got!r}"[:2000]
                )
            fut: asyncio.Future[None] = loop.create_future()
            entry = (total + count - have, fut)
            self._sent_waiters.setdefault(chat_id, []).append(entry)
            timer = loop.call_later(remaining, _settle, fut, None)
            try:
                await fut
            finally:
                timer.cancel()
                entries = self._sent_waiters.get(chat_id)
                if entries is not None and entry in entries:
                    entries.remove(entry)

    def _record(self, chat: _Chat, record: dict[str, Any]) -> None:
        record["seq"] = len(self._log) + 1
        self._log.append(record)
        chat.sent.append(record)
        if self._sent_waiters:
            self._wake_sent(chat.id, len(chat.sent))
            self._wake_sent(None, len(self._log))

    def _wake_sent(self, key: str | None, have: int) -> None:
        for target, fut in self._sent_waiters.get(key, ()):
            if have >= target:
                _settle(fut, None)

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

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ webhook delivery

    def _client(self) -> ClientSession:
        if self._http is None or self._http.closed:
            self._http = ClientSession(
                connector=TCPConnector(limit=0),
                timeout=ClientTimeout(total=self.webhook_timeout),
            )
        return self._http

    async def _deliver(
        self,
        update: dict[str, Any],
        wrapped: bool | None,
        hook: _Webhook,
        waiter: asyncio.Future[Delivery] | None,
    ) -> None:
        wrap = self.wrapped_webhooks if wrapped is None else wrapped
        body = _dumps({"ok": True, "result": update} if wrap else update)
        message_id = update["message"]["message_id"]
        status: int | None = None
        attempts = 0
        hook.inflight += 1
        try:
            for attempt in range(1, self.webhook_max_attempts + 1):
                current = self._webhook
                if current is None:  # webhook deleted meanwhile: back to getUpdates
                    self._offer(update, wrapped)
                    return
                if current is not hook:
                    hook.inflight -= 1
                    hook = current
                    hook.inflight += 1
                attempts = attempt
                status, error = await self._post_update(hook, body)
                self._counters["webhook_attempts"] += 1
                self.webhook_attempts.append(
                    {
                        "message_id": message_id,
                        "attempt": attempt,
                        "status": status,
                        "error": error,
                        "time": time.time(),
                    }
                )
                if error is None:
                    self._counters["updates_delivered"] += 1
                    return
                self._counters["webhook_failures"] += 1
                hook.last_error_date = now_ms()
                hook.last_error_message = error
                if attempt < self.webhook_max_attempts:
                    await asyncio.sleep(self.webhook_retry_delay * 2 ** (attempt - 1))
            self._counters["webhook_gave_up"] += 1
        finally:
            hook.inflight -= 1
            if waiter is not None:
                _settle(waiter, (status, attempts))

    async def _post_update(self, hook: _Webhook, body: bytes) -> tuple[int | None, str | None]:
        headers = {**_JSON_HEADERS, _SECRET_HEADER: hook.secret}
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
        if request.match_info["token"] != self.token:
            self._counters["errors"] += 1
            return _json_response(ApiError(401, "Unauthorized").payload(), 401)
        method = request.match_info["method"]
        if method not in self._methods:
            self._counters["requests"] += 1
            self._counters["unknown_methods"] += 1
            return _json_response(ApiError(404, "Not Found").payload(), 404)
        _current_request.set(request)
        try:
            raw = await read_request_params(request)
            result = await self.call(method, raw)
        except ApiError as exc:
            return _json_response(exc.payload(), exc.code)
        except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
            self._counters["errors"] += 1
            error = bad_request(f"wrong parameters: {exc.__class__.__name__}: {exc}")
            return _json_response(error.payload(), 400)
        if result is None:
            return _json_response({"ok": True})
        return _json_response({"ok": True, "result": result})

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
        self._record(chat, record)
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
                _settle(fut, _WEBHOOK_SET)
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
        timer = loop.call_later(timeout, _settle, fut, _TIMED_OUT)
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

    @staticmethod
    async def _control_json(request: web.Request) -> Any:
        body = await request.read()
        if not body:
            return {}
        try:
            return json.loads(body)
        except ValueError:
            raise bad_request("control API body must be JSON") from None

    @staticmethod
    def _control_error(exc: ApiError) -> web.Response:
        return _json_response(exc.payload(), exc.code)

    async def _c_post_updates(self, request: web.Request) -> web.Response:
        try:
            data = await self._control_json(request)
            items = data if isinstance(data, list) else [data]
            injected = [self._build(item) for item in items]
        except ApiError as exc:
            return self._control_error(exc)
        wait = request.query.get("wait", "").lower() in ("1", "true", "yes")
        waiters: list[asyncio.Future[Delivery]] = []
        loop = asyncio.get_running_loop()
        for item in injected:
            fut: asyncio.Future[Delivery] | None = None
            if wait and self._webhook is not None:
                fut = loop.create_future()
                waiters.append(fut)
            self._enqueue(item, fut)
        result: dict[str, Any] = {"ok": True, "message_ids": [i.message_id for i in injected]}
        if wait:
            if waiters:
                outcomes = await asyncio.gather(*waiters)
                result["webhook_status"] = [status for status, _ in outcomes]
                result["attempts"] = [attempts for _, attempts in outcomes]
            else:
                result["webhook_status"] = None
        return _json_response(result)

    async def _c_get_sent(self, request: web.Request) -> web.Response:
        query = request.query
        chat_id = query.get("chat_id") or None
        try:
            since = int(query.get("since") or 0)
            wait_for = int(query["wait_for"]) if query.get("wait_for") else None
            timeout = float(query.get("timeout") or 5)
            limit = int(query["limit"]) if query.get("limit") else None
        except ValueError:
            return self._control_error(bad_request("since, wait_for, limit: integers"))
        if wait_for is not None:
            try:
                records = await self.wait_sent(chat_id, wait_for, timeout, since=since)
            except TimeoutError:
                return _json_response(
                    {
                        "ok": False,
                        "error_code": 408,
                        "description": f"Timed out waiting for {wait_for} record(s)",
                        "result": self.sent(chat_id, since=since),
                        "last_seq": self.last_seq(),
                    },
                    408,
                )
        else:
            records = self.sent(chat_id, since=since)
        if limit is not None:
            records = records[:limit]
        return _json_response({"ok": True, "result": records, "last_seq": self.last_seq()})

    async def _c_get_stats(self, request: web.Request) -> web.Response:
        return _json_response({"ok": True, "result": self.stats()})

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
            return self._control_error(error)
        except ApiError as exc:
            return self._control_error(exc)
        return _json_response({"ok": True, "result": result})

    async def _c_get_limits(self, request: web.Request) -> web.Response:
        return _json_response({"ok": True, "result": self.limits()})

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
            return self._control_error(exc)
        return _json_response({"ok": True})

    async def _c_get_chats(self, request: web.Request) -> web.Response:
        chats = [
            {"chat_id": chat.id, "display_name": chat.display_name, "sent": len(chat.sent)}
            for chat in self._chats.values()
        ]
        return _json_response({"ok": True, "result": chats})

    async def _c_post_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return _json_response({"ok": True})

    async def _c_get_webhook(self, request: web.Request) -> web.Response:
        return _json_response(
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
            return self._control_error(exc)
        self.wrapped_webhooks = wrapped
        return _json_response({"ok": True, "wrapped": wrapped})

    # ------------------------------------------------------------------ server

    def app(self) -> web.Application:
        """An aiohttp application serving the Bot API and the control API."""
        app = web.Application(client_max_size=16 * 1024 * 1024)
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
        app.on_shutdown.append(self._on_shutdown)
        app.on_cleanup.append(self._on_cleanup)
        return app

    async def _on_shutdown(self, app: web.Application) -> None:
        self._closing = True
        pollers, self._pollers = self._pollers, deque()
        for fut, _request in pollers:
            _settle(fut, _CLOSING)
        for entries in self._sent_waiters.values():
            for _target, fut in entries:
                _settle(fut, None)

    async def _on_cleanup(self, app: web.Application) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 = a free port); returns the base URL."""
        if self._runner is not None:
            raise RuntimeError("FakeZaloBot is already started")
        self._closing = False
        runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_port = runner.addresses[0][1] if runner.addresses else port
        shown_host = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown_host}:{bound_port}"
        return self.url

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        else:
            await self._on_cleanup(web.Application())
        self.url = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        """``f"{api_url}/{method}"`` is what a client calls (the token is included)."""
        if self.url is None:
            raise RuntimeError("FakeZaloBot is not started")
        return f"{self.url}/bot{self.token}"


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m bot.fakes.zalo_bot --port 8082``: serve until interrupted."""
    parser = argparse.ArgumentParser(description="Fake Zalo Bot Platform API server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--token", default="1234567890:fake-zalo-bot-secret")
    parser.add_argument("--enforce-limits", action="store_true")
    parser.add_argument("--rate-per-second", type=float, default=20)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--wrapped-webhooks", action="store_true")
    args = parser.parse_args(argv)

    async def serve() -> None:
        fake = FakeZaloBot(
            token=args.token,
            enforce_limits=args.enforce_limits,
            rate_per_second=args.rate_per_second,
            burst=args.burst,
            wrapped_webhooks=args.wrapped_webhooks,
        )
        url = await fake.start(args.host, args.port)
        print(f"Fake Zalo Bot API on {url} (token {args.token})", flush=True)
        print(f"  API base: {url}/bot<token>/<method>", flush=True)
        print(f"  control API: {url}/_control/...", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await fake.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
