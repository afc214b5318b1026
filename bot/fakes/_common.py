"""Machinery shared by the fake platform servers (Telegram, Zalo Bot, Zalo OA).

Private helper of :mod:`bot.fakes.telegram`, :mod:`bot.fakes.zalo_bot` and
:mod:`bot.fakes.zalo_oa`: JSON responses, the ordered log of what the bot sent (global ``seq``
numbers, a per-chat index and ``wait_sent`` waiters), the server lifecycle (start/stop, async
context manager, background tasks, the webhook HTTP client), the control-API handlers every
fake has, webhook retries with exponential backoff and the command-line ``serve`` loop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import time
from abc import ABC, abstractmethod
from bisect import bisect_right
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Self, TypeVar

from aiohttp import ClientSession, ClientTimeout, TCPConnector, web

from bot.core.tasks import wait_for_stop_signal
from bot.fakes._telegram_markup import ApiError, bad_request
from bot.fakes._telegram_params import read_request_params

JSON_HEADERS = {"Content-Type": "application/json"}

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")
F = TypeVar("F", bound="FakeServer")
W = TypeVar("W", bound="Webhook")

Delivery = tuple[int | None, int]  # (last HTTP status or None, attempts)


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON, as the platforms send it."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(
    obj: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON response with ``status`` and any extra ``headers``."""
    all_headers = dict(JSON_HEADERS)
    if headers:
        all_headers.update(headers)
    return web.Response(body=dumps(obj), status=status, headers=all_headers)


def settle(fut: asyncio.Future[Any], outcome: Any) -> None:
    """Resolve ``fut`` with ``outcome`` unless it is already done."""
    if not fut.done():
        fut.set_result(outcome)


async def bot_api_response(
    request: web.Request,
    *,
    token: str,
    known: Callable[[str], bool],
    call: Callable[[str, dict[str, Any]], Awaitable[Any]],
    counters: dict[str, int],
    bare_none: bool = False,
) -> web.Response:
    """Answer ``/bot{token}/{method}`` the way Telegram-style Bot APIs do.

    A wrong token is 401 and a method ``known`` does not know is 404 (both counted); otherwise
    the request's parameters go to ``call(method, params)``: an ``ApiError`` becomes its
    envelope, a parameter shape the fake does not understand a 400, and a result
    ``{"ok": true, "result": ...}`` (just ``{"ok": true}`` for None when ``bare_none``).
    """
    if request.match_info["token"] != token:
        counters["errors"] += 1
        return json_response(ApiError(401, "Unauthorized").payload(), 401)
    method = request.match_info["method"]
    if not known(method):
        counters["requests"] += 1
        counters["unknown_methods"] += 1
        return json_response(ApiError(404, "Not Found").payload(), 404)
    try:
        raw = await read_request_params(request)
        result = await call(method, raw)
    except ApiError as exc:
        return json_response(exc.payload(), exc.code)
    except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        # A parameter shape the fake does not understand: answer like the platform would.
        counters["errors"] += 1
        error = bad_request(f"wrong parameters: {exc.__class__.__name__}: {exc}")
        return json_response(error.payload(), 400)
    if result is None and bare_none:
        return json_response({"ok": True})
    return json_response({"ok": True, "result": result})


class SentLog(Generic[K]):
    """What the bot sent, oldest first: global ``seq`` numbers, a per-key index, waiters.

    ``server`` and ``where`` only shape the ``TimeoutError`` texts of :meth:`wait`
    (``"fake Telegram server"``, ``"in chat"``); ``is_closing`` tells whether the server is
    shutting down, which ends every wait.
    """

    def __init__(self, server: str, where: str, is_closing: Callable[[], bool]) -> None:
        self._server = server
        self._where = where
        self._is_closing = is_closing
        self._log: list[dict[str, Any]] = []
        self._by_key: dict[K, list[dict[str, Any]]] = {}
        self._waiters: dict[K | None, list[tuple[int, asyncio.Future[None]]]] = {}

    def __len__(self) -> int:
        return len(self._log)

    def count(self, key: K) -> int:
        """How many records were sent to ``key``."""
        return len(self._by_key.get(key, ()))

    def add(self, key: K, record: dict[str, Any]) -> None:
        """Number ``record`` (``seq``), store it under ``key`` and wake whoever waits for it."""
        record["seq"] = len(self._log) + 1
        self._log.append(record)
        records = self._by_key.setdefault(key, [])
        records.append(record)
        if self._waiters:
            self._wake(key, len(records))
            self._wake(None, len(self._log))

    def sent(self, key: K | None = None, since: int = 0) -> list[dict[str, Any]]:
        """Records sent to ``key`` (all with None) whose ``seq`` is greater than ``since``."""
        if key is None:
            return self._log[max(0, since) :]
        records = self._by_key.get(key)
        if records is None:
            return []
        if since <= 0:
            return list(records)
        return records[bisect_right(records, since, key=lambda r: r["seq"]) :]

    async def wait(
        self,
        key: K | None,
        count: int,
        timeout: float,  # noqa: ASYNC109 - mirrors the HTTP API's timeout parameter
        since: int,
    ) -> list[dict[str, Any]]:
        """Wait until ``sent(key, since)`` holds at least ``count`` records; return them.

        Raises ``TimeoutError`` (listing what was sent) on timeout or when the server stops.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if key is None:
                total = len(self._log)
                have = total - max(0, since)
            else:
                records = self._by_key.get(key, [])
                total = len(records)
                start = bisect_right(records, since, key=lambda r: r["seq"]) if since > 0 else 0
                have = total - start
            if have >= count:
                return self.sent(key, since)
            if self._is_closing():
                raise TimeoutError(f"{self._server} is stopping")
            remaining = deadline - loop.time()
            if remaining <= 0:
                got = self.sent(key, since)
                raise TimeoutError(
                    f"waited {timeout}s for {count} sent record(s) {self._where} {key}, "
                    f"got {len(got)}: {got!r}"[:2000]
                )
            fut: asyncio.Future[None] = loop.create_future()
            entry = (total + count - have, fut)
            self._waiters.setdefault(key, []).append(entry)
            timer = loop.call_later(remaining, settle, fut, None)
            try:
                await fut
            finally:
                timer.cancel()
                entries = self._waiters.get(key)
                if entries is not None and entry in entries:
                    entries.remove(entry)

    def _wake(self, key: K | None, have: int) -> None:
        for target, fut in self._waiters.get(key, ()):
            if have >= target:
                settle(fut, None)

    def wake_all(self) -> None:
        """Wake every waiter (they re-check, then see the server closing or the new log)."""
        for entries in self._waiters.values():
            for _target, fut in entries:
                settle(fut, None)

    def clear(self) -> None:
        """Forget every record and wake every waiter."""
        waiters = self._waiters
        self._log = []
        self._by_key = {}
        self._waiters = {}
        for entries in waiters.values():
            for _target, fut in entries:
                settle(fut, None)


class Webhook:
    """A webhook set with the platform's API: where to POST, how many at once, diagnostics.

    ``inflight`` counts deliveries in progress (they are pending updates); the last failed
    attempt's time and error are kept for ``getWebhookInfo``.
    """

    __slots__ = ("inflight", "last_error_date", "last_error_message", "semaphore", "url")

    def __init__(self, url: str, concurrency: int) -> None:
        self.url = url
        self.semaphore = asyncio.Semaphore(concurrency)
        self.inflight = 0
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None


FAULT_KINDS = ("5xx", "429", "drop", "hang")


@dataclass
class Faults:
    """Trouble a fake makes on its platform API (never on ``/_control/``), for fault tests:
    each call, with probability ``rate``, gets one of ``kinds`` instead of being handled:

    - ``"5xx"``: 502 with an HTML body, as a proxy in front of the platform answers;
    - ``"429"``: the platform's "too many requests", asking to retry after ``retry_after`` s;
    - ``"drop"``: the connection closed without an answer;
    - ``"hang"``: no answer at all: the call is held until the client gives up (its timeout)
      or ``hang_seconds`` pass, then the connection is closed. Not among the default kinds.

    Nothing the call asked for is done, so a client that retries loses and doubles nothing.
    """

    kinds: tuple[str, ...] = ("5xx", "429", "drop")
    rate: float = 1.0
    retry_after: int = 1
    hang_seconds: float = 30.0
    seed: int = 0
    made: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown or not self.kinds:
            raise ValueError(f"fault kinds: {FAULT_KINDS}, not {sorted(unknown)}")
        self._random = random.Random(self.seed)

    def pick(self) -> str | None:
        if self._random.random() >= self.rate:
            return None
        kind = self._random.choice(self.kinds)
        self.made[kind] += 1
        return kind


class FakeServer(ABC):
    """Lifecycle and control-API plumbing of a fake platform server.

    A subclass builds its routes in :meth:`app` (with :meth:`_new_app`), keeps its state in
    ``_counters``, ``_sent`` and ``_closing``, and provides ``stats()``, ``limits()`` and
    ``reset()``. ``_label`` names it in errors (``"FakeTelegram is already started"``);
    ``_sent_param`` is the ``/_control/sent`` query parameter naming a chat (or user).
    """

    _label: ClassVar[str]
    _sent_param: ClassVar[str] = "chat_id"
    _sent_query_error: ClassVar[str] = "since, wait_for, limit: integers"

    webhook_max_attempts: int
    webhook_retry_delay: float
    webhook_timeout: float
    webhook_attempts: deque[dict[str, Any]]
    _counters: dict[str, int]
    _sent: SentLog[Any]
    _closing: bool

    def __init__(
        self, *, webhook_max_attempts: int, webhook_retry_delay: float, webhook_timeout: float
    ) -> None:
        self.webhook_max_attempts = max(1, webhook_max_attempts)
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        self._runner: web.AppRunner | None = None
        self._http: ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.url: str | None = None
        #: Set to make trouble on the API (`Faults`); None: every call is handled.
        self.faults: Faults | None = None

    # ------------------------------------------------------------------ to provide

    @abstractmethod
    def app(self) -> web.Application:
        """Provided by each fake."""

    @abstractmethod
    def stats(self) -> dict[str, Any]:
        """Provided by each fake."""

    @abstractmethod
    def limits(self) -> dict[str, Any]:
        """Provided by each fake."""

    @abstractmethod
    def reset(self) -> None:
        """Provided by each fake."""

    def _on_closing(self) -> None:  # noqa: B027 - an optional hook, empty by default
        """Called when the server starts shutting down, before sent-log waiters wake."""

    # ------------------------------------------------------------------ server

    def _new_app(self, client_max_size: int) -> web.Application:
        """An empty application that wakes waiters on shutdown and cleans up after itself,
        and makes the trouble ``faults`` asks for."""
        app = web.Application(client_max_size=client_max_size, middlewares=[self._faulty])
        app.on_shutdown.append(self._on_shutdown)
        app.on_cleanup.append(self._on_cleanup)
        return app

    @web.middleware
    async def _faulty(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        faults = self.faults
        kind = None if faults is None or request.path.startswith("/_control") else faults.pick()
        if kind is None:
            return await handler(request)
        assert faults is not None
        if kind == "5xx":
            return web.Response(
                status=502,
                text="<html><body>502 Bad Gateway</body></html>",
                content_type="text/html",
            )
        if kind == "429":
            return self._error_response(
                ApiError(
                    429,
                    f"Too Many Requests: retry after {faults.retry_after}",
                    {"retry_after": faults.retry_after},
                )
            )
        if kind == "hang":
            loop = asyncio.get_running_loop()
            until = loop.time() + faults.hang_seconds
            while loop.time() < until and not self._closing:
                transport = request.transport
                if transport is None or transport.is_closing():  # the client gave up
                    break
                await asyncio.sleep(0.1)
        if request.transport is not None:
            request.transport.close()
        raise web.HTTPServiceUnavailable()  # not seen: the connection is gone

    async def _on_shutdown(self, app: web.Application) -> None:
        self._closing = True
        self._on_closing()
        self._sent.wake_all()

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
            raise RuntimeError(f"{self._label} is already started")
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
        """Stop serving: waiters wake, background deliveries are cancelled."""
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

    def _require_url(self) -> str:
        if self.url is None:
            raise RuntimeError(f"{self._label} is not started")
        return self.url

    def _cancel_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in the background; :meth:`stop` and ``reset()`` cancel it."""
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

    async def _retry_delivery(
        self,
        attempt_once: Callable[[int], Awaitable[tuple[int | None, str | None]]],
        waiter: asyncio.Future[Delivery] | None,
        *,
        delivered: str,
        ready: Callable[[], bool] | None = None,
    ) -> None:
        """Call ``attempt_once(attempt)`` until it reports no error, with exponential backoff.

        ``attempt_once`` posts and records one attempt, returning ``(status, error)``;
        ``ready`` (when given) runs before each attempt and returns False to stop without one.
        Counts ``webhook_attempts``, ``delivered``, ``webhook_failures`` and
        ``webhook_gave_up``; ``waiter`` gets ``(last status, attempts)`` however it ends.
        """
        status: int | None = None
        attempts = 0
        try:
            for attempt in range(1, self.webhook_max_attempts + 1):
                if ready is not None and not ready():
                    return
                attempts = attempt
                status, error = await attempt_once(attempt)
                self._counters["webhook_attempts"] += 1
                if error is None:
                    self._counters[delivered] += 1
                    return
                self._counters["webhook_failures"] += 1
                if attempt < self.webhook_max_attempts:
                    await asyncio.sleep(self.webhook_retry_delay * 2 ** (attempt - 1))
            self._counters["webhook_gave_up"] += 1
        finally:
            if waiter is not None:
                settle(waiter, (status, attempts))

    async def _deliver_to_webhook(
        self,
        hook: W,
        current: Callable[[], W | None],
        post: Callable[[W], Awaitable[tuple[int | None, str | None]]],
        waiter: asyncio.Future[Delivery] | None,
        *,
        requeue: Callable[[], None],
        logged: dict[str, Any],
        clock: Callable[[], int],
    ) -> None:
        """Deliver one update with :meth:`_retry_delivery` to the webhook set at the time.

        Before each attempt ``current()`` gives the webhook now set: when there is none any
        more, ``requeue()`` hands the update back to getUpdates and delivery stops; when it was
        replaced, the attempt goes to the new one. ``post(hook)`` makes one attempt; each is
        logged in ``webhook_attempts`` (``logged`` plus attempt, status, error and time) and a
        failure is kept on the webhook, dated by ``clock()``.
        """

        def ready() -> bool:
            nonlocal hook
            now_set = current()
            if now_set is None:  # webhook deleted meanwhile: back to getUpdates
                requeue()
                return False
            if now_set is not hook:
                hook.inflight -= 1
                hook = now_set
                hook.inflight += 1
            return True

        async def attempt_once(attempt: int) -> tuple[int | None, str | None]:
            status, error = await post(hook)
            self.webhook_attempts.append(
                {
                    **logged,
                    "attempt": attempt,
                    "status": status,
                    "error": error,
                    "time": time.time(),
                }
            )
            if error is not None:
                hook.last_error_date = clock()
                hook.last_error_message = error
            return status, error

        hook.inflight += 1
        try:
            await self._retry_delivery(
                attempt_once, waiter, delivered="updates_delivered", ready=ready
            )
        finally:
            hook.inflight -= 1

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
    def _error_response(exc: ApiError) -> web.Response:
        return json_response(exc.payload(), exc.code)

    def _sent_key(self, value: str) -> Any:
        """The sent-log key named by the ``/_control/sent`` query parameter."""
        return value

    async def _control_inject(
        self,
        request: web.Request,
        build: Callable[[Any], T],
        enqueue: Callable[[T, asyncio.Future[Delivery] | None], None],
        report: Callable[[list[T]], dict[str, Any]],
        *,
        wait_for_webhook: Callable[[], bool] | None = None,
    ) -> web.Response:
        """``POST /_control/updates``: build every item first, then enqueue them.

        With ``?wait=1`` the answer waits for the webhook deliveries and lists their last
        statuses and attempts. ``wait_for_webhook`` (when given) tells whether there is a
        webhook to wait for; without one the answer says ``"webhook_status": null``.
        """
        try:
            data = await self._control_json(request)
            items = data if isinstance(data, list) else [data]
            built = [build(item) for item in items]
        except ApiError as exc:
            return self._error_response(exc)
        wait = request.query.get("wait", "").lower() in ("1", "true", "yes")
        waiters: list[asyncio.Future[Delivery]] = []
        loop = asyncio.get_running_loop()
        for item in built:
            fut: asyncio.Future[Delivery] | None = None
            if wait and (wait_for_webhook is None or wait_for_webhook()):
                fut = loop.create_future()
                waiters.append(fut)
            enqueue(item, fut)
        result: dict[str, Any] = {"ok": True, **report(built)}
        if wait:
            if waiters or wait_for_webhook is None:
                outcomes = await asyncio.gather(*waiters)
                result["webhook_status"] = [status for status, _ in outcomes]
                result["attempts"] = [attempts for _, attempts in outcomes]
            else:
                result["webhook_status"] = None
        return json_response(result)

    async def _c_get_sent(self, request: web.Request) -> web.Response:
        query = request.query
        try:
            raw_key = query.get(self._sent_param)
            key = self._sent_key(raw_key) if raw_key else None
            since = int(query.get("since") or 0)
            wait_for = int(query["wait_for"]) if query.get("wait_for") else None
            timeout = float(query.get("timeout") or 5)
            limit = int(query["limit"]) if query.get("limit") else None
        except ValueError:
            return self._error_response(bad_request(self._sent_query_error))
        if wait_for is not None:
            try:
                records = await self._sent.wait(key, wait_for, timeout, since)
            except TimeoutError:
                return json_response(
                    {
                        "ok": False,
                        "error_code": 408,
                        "description": f"Timed out waiting for {wait_for} record(s)",
                        "result": self._sent.sent(key, since),
                        "last_seq": len(self._sent),
                    },
                    408,
                )
        else:
            records = self._sent.sent(key, since)
        if limit is not None:
            records = records[:limit]
        return json_response({"ok": True, "result": records, "last_seq": len(self._sent)})

    async def _c_get_stats(self, request: web.Request) -> web.Response:
        return json_response({"ok": True, "result": self.stats()})

    async def _c_get_limits(self, request: web.Request) -> web.Response:
        return json_response({"ok": True, "result": self.limits()})

    async def _c_post_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return json_response({"ok": True})


def server_arguments(description: str, port: int) -> argparse.ArgumentParser:
    """An argument parser with ``--host`` and ``--port`` (default ``port``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    return parser


def serve(
    make: Callable[[], F], host: str, port: int, banner: Callable[[F, str], Iterable[str]]
) -> None:
    """Build a fake (inside the event loop), serve it on ``host:port`` and print ``banner``
    lines until SIGINT/SIGTERM (or Ctrl-C)."""

    async def run() -> None:
        fake = make()
        url = await fake.start(host, port)
        for line in banner(fake, url):
            print(line, flush=True)
        try:
            await wait_for_stop_signal()
        finally:
            await fake.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
