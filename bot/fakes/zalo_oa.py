"""A fake Zalo Official Account Open API + OAuth v4 server: real HTTP on loopback, in-memory.

One server answers the paths of both Zalo hosts, so the product's ``ZALO_OA_API_BASE``
(``https://openapi.zalo.me``) and ``ZALO_OA_OAUTH_BASE`` (``https://oauth.zaloapp.com``) can
both point at it. It issues and rotates OAuth v4 tokens, accepts consultation ("CS") messages
with Zalo's validation, interaction windows (48 h free, 7 days billed, then ``-230``) and error
envelopes (always HTTP 200), and POSTs signed webhook events to the product. A control API
under ``/_control/`` (and the mirroring Python methods) plays the users and moves the clock.
See ``docs/fake-zalo-oa.md``.

Run standalone with ``python -m bot.fakes.zalo_oa --port 8083``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import math
import secrets
import time
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from aiohttp import ClientError, web

from bot.fakes._common import (
    JSON_HEADERS,
    Delivery,
    FakeServer,
    SentLog,
    dumps,
    json_response,
    serve,
    server_arguments,
)
from bot.fakes._telegram_params import ApiError, TokenBucket, parse_body
from bot.fakes._zalo_oa_payloads import (
    EXPIRED_TOKEN,
    INVALID_TOKEN,
    NO_INTERACTION,
    NOT_FOLLOWER,
    QUERY_BUTTONS,
    RATE_LIMITED,
    V2_SHUT_DOWN,
    CsMessage,
    OAuthError,
    ZaloError,
    coordinate,
    invalid,
    parse_cs_message,
    sticker_url,
    user_id_by_app,
)
from bot.fakes._zalo_oa_payloads import signature as compute_signature

__all__ = ["FakeZaloOA", "OAuthError", "ZaloError", "main"]

FREE_WINDOW_SECONDS = 48 * 3600
MAX_WINDOW_SECONDS = 7 * 86400
REFRESH_TOKEN_TTL_SECONDS = 90 * 86400
AUTH_CODE_TTL_SECONDS = 600
VN_TZ = timezone(timedelta(hours=7))
SIGNATURE_VARIANTS = frozenset({"valid", "bad", "app_secret", "oa_id", "missing"})
# Events that do not count as the user interacting with the OA.
_PASSIVE_EVENTS = frozenset({"unfollow", "user_received_message", "user_seen_message"})
_SIGNATURE_HEADER = "X-ZEvent-Signature"


def _control_error(description: str, status: int = 400) -> ApiError:
    return ApiError(status, f"Bad Request: {description}")


def _hex20() -> str:
    return secrets.token_hex(10)


class _User:
    """A Zalo user as seen by the OA (OA-scoped id)."""

    __slots__ = (
        "display_name",
        "follower",
        "id",
        "id_by_app",
        "last_interaction",
        "query_payloads",
    )

    def __init__(self, user_id: str, app_id: str) -> None:
        self.id = user_id
        self.id_by_app = user_id_by_app(app_id, user_id)
        self.display_name = f"Zalo User {user_id[-4:]}"
        self.follower = True
        self.last_interaction: float | None = None  # fake-clock epoch seconds
        self.query_payloads: set[str] = set()

    def info(self, now: float, sent: int) -> dict[str, Any]:
        last = self.last_interaction
        return {
            "user_id": self.id,
            "user_id_by_app": self.id_by_app,
            "display_name": self.display_name,
            "user_is_follower": self.follower,
            "last_interaction_ms": None if last is None else int(last * 1000),
            "last_interaction_seconds_ago": None if last is None else round(now - last, 3),
            "sent": sent,
        }


class _AccessToken:
    __slots__ = ("expires_at", "serial")

    def __init__(self, expires_at: float, serial: int) -> None:
        self.expires_at = expires_at
        self.serial = serial


class _RefreshToken:
    __slots__ = ("expires_at", "spent")

    def __init__(self, expires_at: float) -> None:
        self.expires_at = expires_at
        self.spent = False


class _AuthCode:
    __slots__ = ("challenge", "expires_at", "used")

    def __init__(self, challenge: str | None, expires_at: float) -> None:
        self.challenge = challenge
        self.expires_at = expires_at
        self.used = False


def pkce_challenge(code_verifier: str) -> str:
    """S256 code challenge: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class FakeZaloOA(FakeServer):
    """In-memory Zalo OA Open API v3 + OAuth v4 with a control API; see ``docs/fake-zalo-oa.md``."""

    _label = "FakeZaloOA"
    _sent_param = "user_id"

    def __init__(
        self,
        *,
        app_id: str = "3608465248940903967",
        oa_id: str = "388613280879808645",
        app_secret: str = "fake-app-secret",
        oa_secret_key: str = "fake-oa-secret-key",
        enforce_limits: bool = False,
        requests_per_minute: int = 4000,
        token_ttl_seconds: int = 90000,
        refresh_token_ttl_seconds: int = REFRESH_TOKEN_TTL_SECONDS,
        webhook_max_attempts: int = 4,
        webhook_retry_delay: float = 0.05,
        webhook_timeout: float = 2.0,
        webhook_concurrency: int = 64,
    ) -> None:
        super().__init__(
            webhook_max_attempts=webhook_max_attempts,
            webhook_retry_delay=webhook_retry_delay,
            webhook_timeout=webhook_timeout,
        )
        self.app_id = app_id
        self.oa_id = oa_id
        self.app_secret = app_secret
        self.oa_secret_key = oa_secret_key
        self.token_ttl_seconds = int(token_ttl_seconds)
        self.refresh_token_ttl_seconds = int(refresh_token_ttl_seconds)
        self._webhook_concurrency = max(1, webhook_concurrency)
        self._webhook_semaphore = asyncio.Semaphore(self._webhook_concurrency)
        self._default_limits = (enforce_limits, int(requests_per_minute))
        seed = hashlib.sha256(f"{app_id}:{oa_id}:{app_secret}".encode()).hexdigest()
        self._initial_pair = (f"fakeAT-{seed[:40]}", f"fakeRT-{seed[24:64]}")
        self._sent: SentLog[str] = SentLog("fake Zalo OA server", "to user", lambda: self._closing)
        self._reset_state()

    # ------------------------------------------------------------------ state

    def _reset_state(self) -> None:
        enforce, rpm = self._default_limits
        self.enforce_limits = enforce
        self.requests_per_minute = rpm
        self._offset = 0.0
        self._bucket = self._new_bucket()
        self._users: dict[str, _User] = {}
        self._access: dict[str, _AccessToken] = {}
        self._refresh: dict[str, _RefreshToken] = {}
        self._codes: dict[str, _AuthCode] = {}
        self._token_serial = itertools.count(1)
        self._revoked_below = 0  # access tokens with serial < this are expired
        self.webhook_url: str | None = None
        self.webhook_attempts: deque[dict[str, Any]] = deque(maxlen=10_000)
        self._counters: dict[str, int] = dict.fromkeys(
            (
                "requests",
                "sends",
                "free",
                "billed",
                "out_of_window",
                "not_follower",
                "invalid_params",
                "unsupported_type",
                "invalid_access_token",
                "expired_access_token",
                "rate_limited",
                "errors",
                "user_detail",
                "quota",
                "reactions",
                "v2_message_refused",
                "unknown_paths",
                "oauth_requests",
                "oauth_errors",
                "refreshes",
                "refresh_token_reuse",
                "refresh_token_unknown",
                "refresh_token_expired",
                "code_exchanges",
                "auth_code_reuse",
                "auth_code_invalid",
                "events_injected",
                "events_undelivered",
                "webhook_attempts",
                "webhook_delivered",
                "webhook_failures",
                "webhook_gave_up",
            ),
            0,
        )
        self._closing = False
        access, refresh = self._initial_pair
        self._store_pair(access, refresh)

    def reset(self) -> None:
        """Forget users, tokens (except the initial pair), sent messages, webhook, stats,
        clock offset and limits."""
        self._cancel_tasks()
        self._reset_state()
        self._sent.clear()

    # ------------------------------------------------------------------ clock

    def now(self) -> float:
        """The fake's wall clock (epoch seconds): real time plus the offset."""
        return time.time() + self._offset

    def _now_ms(self) -> int:
        return int(self.now() * 1000)

    def _mono(self) -> float:
        return time.monotonic() + self._offset

    def advance_clock(self, seconds: float) -> float:
        """Move the fake clock forward (windows, token expiry, rate limit); returns now()."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("advance_clock needs a finite number of seconds >= 0")
        self._offset += seconds
        return self.now()

    def clock(self) -> dict[str, Any]:
        return {"now_ms": self._now_ms(), "offset_seconds": self._offset}

    # ------------------------------------------------------------------ limits and stats

    def _new_bucket(self) -> TokenBucket:
        rpm = self.requests_per_minute
        return TokenBucket(rpm / 60.0, rpm, self._mono())

    def set_limits(
        self, *, enforce: bool | None = None, requests_per_minute: int | None = None
    ) -> dict[str, Any]:
        """Switch the per-app rate limit on/off or change it; the bucket starts full."""
        if enforce is not None:
            self.enforce_limits = bool(enforce)
        if requests_per_minute is not None:
            if requests_per_minute < 0:
                raise ValueError("requests_per_minute must be >= 0")
            self.requests_per_minute = int(requests_per_minute)
        self._bucket = self._new_bucket()
        return self.limits()

    def limits(self) -> dict[str, Any]:
        return {"enforce": self.enforce_limits, "requests_per_minute": self.requests_per_minute}

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = dict(self._counters)
        result["users"] = len(self._users)
        result["sent_records"] = len(self._sent)
        result["access_tokens"] = len(self._access)
        return result

    # ------------------------------------------------------------------ tokens

    def initial_tokens(self) -> tuple[str, str]:
        """(access_token, refresh_token) valid after start and after every reset(); derived
        from app_id, oa_id and app_secret, so the same across runs."""
        return self._initial_pair

    def _store_pair(self, access: str, refresh: str) -> None:
        now = self.now()
        self._access[access] = _AccessToken(now + self.token_ttl_seconds, next(self._token_serial))
        self._refresh[refresh] = _RefreshToken(now + self.refresh_token_ttl_seconds)

    def _issue_pair(self) -> dict[str, Any]:
        access = secrets.token_urlsafe(96)
        refresh = secrets.token_urlsafe(96)
        self._store_pair(access, refresh)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": str(self.token_ttl_seconds),
        }

    def expire_access_tokens(self) -> int:
        """Every access token issued so far becomes expired (-220); returns how many were live."""
        now = self.now()
        live = sum(
            1
            for token in self._access.values()
            if token.serial >= self._revoked_below and token.expires_at > now
        )
        self._revoked_below = next(self._token_serial)
        return live

    def make_auth_code(
        self, code_verifier: str | None = None, *, code_challenge: str | None = None
    ) -> dict[str, str]:
        """An authorization code as the consent redirect would deliver it (10 min, single use).

        The code is bound to ``code_challenge`` (or to the S256 challenge of
        ``code_verifier``; a verifier is generated when neither is given)."""
        if code_challenge is None:
            if code_verifier is None:
                code_verifier = secrets.token_urlsafe(32)  # 43 characters
            code_challenge = pkce_challenge(code_verifier)
        code = secrets.token_urlsafe(64)
        self._codes[code] = _AuthCode(code_challenge, self.now() + AUTH_CODE_TTL_SECONDS)
        result = {"code": code, "code_challenge": code_challenge, "oa_id": self.oa_id}
        if code_verifier is not None:
            result["code_verifier"] = code_verifier
        return result

    def _check_access_token(self, request: web.Request) -> None:
        token = request.headers.get("access_token")
        record = self._access.get(token) if token else None
        if record is None:
            self._counters["invalid_access_token"] += 1
            raise ZaloError(INVALID_TOKEN)
        if record.serial < self._revoked_below or record.expires_at <= self.now():
            self._counters["expired_access_token"] += 1
            raise ZaloError(EXPIRED_TOKEN)

    # ------------------------------------------------------------------ users

    def _user(self, user_id: str) -> _User:
        user = self._users.get(user_id)
        if user is None:
            user = self._users[user_id] = _User(user_id, self.app_id)
        return user

    def set_last_interaction(
        self,
        user_id: str,
        seconds_ago: float | None,
        *,
        display_name: str | None = None,
        follower: bool | None = None,
    ) -> dict[str, Any]:
        """Create/update a user whose last interaction was ``seconds_ago`` (None: never)."""
        user = self._user(_check_user_id(user_id))
        if seconds_ago is None:
            user.last_interaction = None
        else:
            if not math.isfinite(seconds_ago) or seconds_ago < 0:
                raise ValueError("seconds_ago must be a finite number >= 0")
            user.last_interaction = self.now() - seconds_ago
        if display_name:
            user.display_name = display_name
        if follower is not None:
            user.follower = follower
        return self._info(user, self.now())

    def user(self, user_id: str) -> dict[str, Any] | None:
        user = self._users.get(user_id)
        return self._info(user, self.now()) if user else None

    def _info(self, user: _User, now: float) -> dict[str, Any]:
        return user.info(now, self._sent.count(user.id))

    # ------------------------------------------------------------------ sent records

    def sent(self, user_id: str | None = None, *, since: int = 0) -> list[dict[str, Any]]:
        """Messages the OA sent, oldest first; ``since`` skips records with seq <= it."""
        return self._sent.sent(user_id, since)

    def last_seq(self) -> int:
        return len(self._sent)

    async def wait_sent(
        self,
        user_id: str | None = None,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - mirrors the HTTP API's timeout parameter
        *,
        since: int = 0,
    ) -> list[dict[str, Any]]:
        """Wait until ``sent(user_id, since=since)`` holds at least ``count`` records.

        Returns those records; raises ``TimeoutError`` (listing what was sent) on timeout."""
        return await self._sent.wait(user_id, count, timeout, since)

    # ------------------------------------------------------------------ events (user side)

    def set_webhook(self, url: str | None) -> None:
        """The webhook URL events are POSTed to (None/"" removes it)."""
        if url and not url.startswith(("http://", "https://")):
            raise ValueError("webhook url must be http(s)")
        self.webhook_url = url or None

    def signature(self, raw: bytes, timestamp: str) -> str:
        """The ``X-ZEvent-Signature`` header value (``mac=<hex>``) for a raw body."""
        return compute_signature(self.app_id, raw, timestamp, self.oa_secret_key)

    def build_event(self, spec: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """Turn a shorthand or a (partial) full event into the envelope Zalo would POST.

        Returns (event, signature variant). Updates the user's state (interaction time,
        follower flag, display name). Raises ValueError on a malformed spec."""
        if not isinstance(spec, dict):
            raise ValueError("an event must be a JSON object")
        spec = dict(spec)
        variant = spec.pop("signature", "valid")
        if variant not in SIGNATURE_VARIANTS:
            raise ValueError(f"signature must be one of {sorted(SIGNATURE_VARIANTS)}")
        full = "event_name" in spec
        return (self._fill_full_event(spec) if full else self._shorthand_event(spec)), variant

    def _apply_user_effects(self, user_id: str, event_name: str, spec: dict[str, Any]) -> _User:
        user = self._user(user_id)
        name = spec.get("display_name")
        if isinstance(name, str) and name:
            user.display_name = name
        if event_name == "follow":
            user.follower = True
        elif event_name == "unfollow":
            user.follower = False
        elif "follower" in spec:
            user.follower = bool(spec["follower"])
        if event_name not in _PASSIVE_EVENTS:
            user.last_interaction = self.now()
        return user

    def _shorthand_event(self, spec: dict[str, Any]) -> dict[str, Any]:
        user_id = _check_user_id(spec.get("user_id"))
        timestamp = str(self._now_ms())
        kind = spec.get("event")
        if kind is not None:
            if kind not in ("follow", "unfollow"):
                raise ValueError('"event" must be "follow" or "unfollow"')
            user = self._apply_user_effects(user_id, kind, spec)
            return {
                "oa_id": self.oa_id,
                "follower": {"id": user_id},
                "user_id_by_app": user.id_by_app,
                "event_name": kind,
                "source": str(spec.get("source", "oa_profile")),
                "app_id": self.app_id,
                "timestamp": timestamp,
            }
        msg_id = str(spec.get("msg_id") or _hex20())
        text = spec.get("text")
        if text is not None and not isinstance(text, str):
            raise ValueError("text must be a string")
        message: dict[str, Any] = {"msg_id": msg_id, "text": text or ""}
        if "location" in spec:
            loc = spec["location"]
            if not isinstance(loc, dict):
                raise ValueError("location must be {latitude, longitude}")
            coords = {
                "latitude": coordinate(loc.get("latitude"), "latitude"),
                "longitude": coordinate(loc.get("longitude"), "longitude"),
            }
            message["attachments"] = [{"type": "location", "payload": {"coordinates": coords}}]
            event_name = "user_send_location"
        elif "image_url" in spec:
            url = spec["image_url"]
            if not isinstance(url, str) or not url:
                raise ValueError("image_url must be a non-empty string")
            payload = {"thumbnail": url, "url": url}
            message["attachments"] = [{"type": "image", "payload": payload}]
            event_name = "user_send_image"
        elif "sticker_id" in spec:
            sticker = str(spec["sticker_id"])
            payload = {"id": sticker, "url": sticker_url(sticker)}
            message["attachments"] = [{"type": "sticker", "payload": payload}]
            event_name = "user_send_sticker"
        elif "tap" in spec:
            tapped = spec["tap"]
            if not isinstance(tapped, str) or not tapped:
                raise ValueError("tap must be a button payload string")
            known = self._users.get(user_id)
            if not spec.get("any_payload") and (
                known is None or tapped not in known.query_payloads
            ):
                raise ValueError(
                    f"no oa.query button with payload {tapped!r} was sent to {user_id}"
                )
            message["text"] = tapped
            event_name = "user_send_text"
        elif text:
            event_name = "user_send_text"
        else:
            raise ValueError(
                "shorthand needs one of text, location, image_url, sticker_id, tap, event"
            )
        user = self._apply_user_effects(user_id, event_name, spec)
        return {
            "app_id": self.app_id,
            "user_id_by_app": user.id_by_app,
            "event_name": event_name,
            "timestamp": timestamp,
            "sender": {"id": user_id},
            "recipient": {"id": self.oa_id},
            "message": message,
        }

    def _fill_full_event(self, spec: dict[str, Any]) -> dict[str, Any]:
        event = {k: v for k, v in spec.items() if k not in ("display_name", "follower")}
        event_name = event["event_name"]
        if not isinstance(event_name, str) or not event_name:
            raise ValueError("event_name must be a non-empty string")
        event.setdefault("app_id", self.app_id)
        event.setdefault("timestamp", str(self._now_ms()))
        event["timestamp"] = str(event["timestamp"])
        if isinstance(event.get("follower"), dict):
            user_id = _check_user_id(event["follower"].get("id"))
            event.setdefault("oa_id", self.oa_id)
        else:
            sender = event.get("sender")
            if not isinstance(sender, dict):
                raise ValueError("a full event needs sender.id (or follower.id)")
            user_id = _check_user_id(sender.get("id"))
            event.setdefault("recipient", {"id": self.oa_id})
            message = event.get("message")
            if isinstance(message, dict) and "msg_id" not in message:
                event["message"] = {**message, "msg_id": _hex20()}
        if event_name.startswith("oa_send_"):
            user = self._user(user_id)
        else:
            user = self._apply_user_effects(user_id, event_name, spec)
        event.setdefault("user_id_by_app", user.id_by_app)
        return event

    def inject(self, event: dict[str, Any], *, signature: str | None = None) -> dict[str, Any]:
        """Inject one event (shorthand or full envelope); returns the envelope. With a webhook
        set it is delivered by a background task (call inside the event loop)."""
        envelope, variant = self._prepare(event, signature)
        self._dispatch(envelope, variant, None)
        return envelope

    def inject_many(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        prepared = [self._prepare(event, None) for event in events]
        for envelope, variant in prepared:
            self._dispatch(envelope, variant, None)
        return [envelope for envelope, _ in prepared]

    async def inject_and_wait(
        self, event: dict[str, Any], *, signature: str | None = None
    ) -> dict[str, Any]:
        """Inject and wait until the webhook delivery finished (success or last attempt).

        Returns ``{"event", "status", "attempts"}``; status is the last HTTP status (None
        without a webhook or when no attempt got an HTTP answer)."""
        envelope, variant = self._prepare(event, signature)
        fut: asyncio.Future[Delivery] = asyncio.get_running_loop().create_future()
        self._dispatch(envelope, variant, fut)
        status, attempts = await fut
        return {"event": envelope, "status": status, "attempts": attempts}

    def _prepare(self, event: dict[str, Any], signature: str | None) -> tuple[dict[str, Any], str]:
        if signature is not None:
            event = {**event, "signature": signature}
        return self.build_event(event)

    def _dispatch(
        self,
        event: dict[str, Any],
        variant: str,
        waiter: asyncio.Future[Delivery] | None,
    ) -> None:
        self._counters["events_injected"] += 1
        url = self.webhook_url
        if url is None:
            self._counters["events_undelivered"] += 1
            if waiter is not None:
                waiter.set_result((None, 0))
            return
        self._spawn(self._deliver(url, event, variant, waiter))

    # ------------------------------------------------------------------ webhook delivery

    def _signature_header(self, variant: str, body: bytes, timestamp: str) -> str | None:
        if variant == "missing":
            return None
        if variant == "bad":
            return "mac=" + secrets.token_hex(32)
        secret = self.app_secret if variant == "app_secret" else self.oa_secret_key
        first = self.oa_id if variant == "oa_id" else self.app_id
        return compute_signature(first, body, timestamp, secret)

    async def _deliver(
        self,
        url: str,
        event: dict[str, Any],
        variant: str,
        waiter: asyncio.Future[Delivery] | None,
    ) -> None:
        body = dumps(event)
        headers = dict(JSON_HEADERS)
        header = self._signature_header(variant, body, str(event.get("timestamp", "")))
        if header is not None:
            headers[_SIGNATURE_HEADER] = header
        message = event.get("message")
        msg_id = message.get("msg_id") if isinstance(message, dict) else None

        async def attempt_once(attempt: int) -> tuple[int | None, str | None]:
            started = time.monotonic()
            status, error = await self._post(url, body, headers)
            self.webhook_attempts.append(
                {
                    "event_name": event.get("event_name"),
                    "msg_id": msg_id,
                    "timestamp": event.get("timestamp"),
                    "attempt": attempt,
                    "status": status,
                    "error": error,
                    "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
                    "signature": variant,
                }
            )
            return status, error

        await self._retry_delivery(attempt_once, waiter, delivered="webhook_delivered")

    async def _post(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str | None]:
        async with self._webhook_semaphore:
            try:
                async with self._client().post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    if resp.status != 200:
                        return resp.status, f"HTTP {resp.status} {resp.reason}"
                    return 200, None
            except TimeoutError:
                return None, f"no answer within {self.webhook_timeout}s"
            except (ClientError, OSError) as exc:
                return None, f"connection failed: {exc.__class__.__name__}: {exc}"

    # ------------------------------------------------------------------ OA Open API

    def _rate_limit(self) -> dict[str, str] | None:
        """Take one request from the per-app budget; raises ZaloError(-32) when empty."""
        if not self.enforce_limits:
            return None
        bucket = self._bucket
        wait = bucket.refill(self._mono())
        if wait > 0:
            self._counters["rate_limited"] += 1
            raise ZaloError(RATE_LIMITED)
        bucket.take()
        return {
            "X-RateLimit-Limit": str(self.requests_per_minute),
            "X-RateLimit-Remain": str(max(0, int(bucket.tokens))),
        }

    async def _api(self, request: web.Request, handler: Any) -> web.Response:
        self._counters["requests"] += 1
        headers: dict[str, str] | None = None
        try:
            headers = self._rate_limit()
            self._check_access_token(request)
            data = await handler(request)
        except ZaloError as exc:
            self._counters["errors"] += 1
            if exc.code == -201:
                self._counters["invalid_params"] += 1
            elif exc.code == -233:
                self._counters["unsupported_type"] += 1
            return json_response(exc.payload(), headers=headers)
        return json_response({"error": 0, "message": "Success", "data": data}, headers=headers)

    async def _read_json(self, request: web.Request) -> Any:
        body = await request.read()
        try:
            return json.loads(body) if body else None
        except ValueError:
            raise invalid("body", "not JSON") from None

    def _window(self, user: _User) -> tuple[str, float]:
        if user.last_interaction is None:
            self._counters["out_of_window"] += 1
            raise ZaloError(NO_INTERACTION)
        age = self.now() - user.last_interaction
        if age > MAX_WINDOW_SECONDS:
            self._counters["out_of_window"] += 1
            raise ZaloError(NO_INTERACTION)
        return ("free" if age <= FREE_WINDOW_SECONDS else "billed"), age

    def _recipient(self, user_id: str) -> _User:
        user = self._users.get(user_id)
        if user is None or not user.follower:
            self._counters["not_follower"] += 1
            raise ZaloError(NOT_FOLLOWER)
        return user

    async def _h_send_cs(self, request: web.Request) -> dict[str, Any]:
        msg: CsMessage = parse_cs_message(await self._read_json(request))
        user = self._recipient(msg.user_id)
        window, age = self._window(user)
        now_ms = self._now_ms()
        message_id = _hex20()
        billed = window == "billed"
        self._counters["sends"] += 1
        self._counters["billed" if billed else "free"] += 1
        if msg.buttons:
            user.query_payloads.update(
                b["payload"] for b in msg.buttons if b.get("type") in QUERY_BUTTONS
            )
        record: dict[str, Any] = {
            "user_id": user.id,
            "message_id": message_id,
            "sent_time": now_ms,
            "kind": msg.kind,
            "text": msg.text,
            "buttons": msg.buttons,
            "image_url": msg.image_url,
            "attachment": msg.attachment,
            "window": window,
            "billed": billed,
            "interaction_age_seconds": round(age, 3),
        }
        if msg.quote_message_id is not None:
            record["quote_message_id"] = msg.quote_message_id
        self._sent.add(user.id, record)
        # The documented placeholder; Zalo dropped real per-window quotas in 2026.
        quota = {"quota_type": "reply", "remain": "8", "total": "8"}
        return {
            "message_id": message_id,
            "user_id": user.id,
            "sent_time": str(now_ms),
            "quota": quota,
        }

    async def _h_v2_message(self, request: web.Request) -> dict[str, Any]:
        data = await self._read_json(request)
        action = data.get("sender_action") if isinstance(data, dict) else None
        if not isinstance(action, dict):
            self._counters["v2_message_refused"] += 1
            raise ZaloError(V2_SHUT_DOWN)
        recipient = data.get("recipient") if isinstance(data, dict) else None
        user_id = recipient.get("user_id") if isinstance(recipient, dict) else None
        if not isinstance(user_id, str) or not user_id:
            raise invalid("user_id")
        icon, target = action.get("react_icon"), action.get("react_message_id")
        if not isinstance(icon, str) or not isinstance(target, str) or not target:
            raise invalid("sender_action")
        user = self._recipient(user_id)
        self._window(user)
        self._counters["reactions"] += 1
        message_id = _hex20()
        self._sent.add(
            user.id,
            {
                "user_id": user.id,
                "message_id": message_id,
                "sent_time": self._now_ms(),
                "kind": "reaction",
                "text": None,
                "buttons": None,
                "image_url": None,
                "attachment": None,
                "react_icon": icon,
                "react_message_id": target,
                "window": None,
                "billed": False,
            },
        )
        return {"message_id": message_id, "user_id": user.id}

    def _data_param(self, request: web.Request) -> dict[str, Any]:
        raw = request.query.get("data")
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            raise invalid("data", "not JSON") from None
        if not isinstance(data, dict):
            raise invalid("data")
        return data

    async def _h_user_detail(self, request: web.Request) -> dict[str, Any]:
        self._counters["user_detail"] += 1
        user_id = self._data_param(request).get("user_id")
        if not isinstance(user_id, str | int) or isinstance(user_id, bool) or not str(user_id):
            raise invalid("user_id")
        user = self._users.get(str(user_id))
        if user is None:
            self._counters["not_follower"] += 1
            raise ZaloError(NOT_FOLLOWER)
        last = user.last_interaction
        date = (
            datetime.fromtimestamp(last, UTC).astimezone(VN_TZ).strftime("%d/%m/%Y")
            if last is not None
            else ""
        )
        avatar = f"https://s120-ava-talk.zadn.vn/fake/{user.id}.jpg"
        return {
            "user_id": user.id,
            "user_id_by_app": user.id_by_app,
            "user_external_id": "",
            "display_name": user.display_name,
            "user_alias": "",
            "is_sensitive": False,
            "user_last_interaction_date": date,
            "user_is_follower": user.follower,
            "avatar": avatar,
            "avatars": {"120": avatar, "240": avatar.replace("s120", "s240")},
            "tags_and_notes_info": {"notes": [], "tag_names": []},
            "shared_info": {},
        }

    async def _h_quota(self, request: web.Request) -> dict[str, Any]:
        self._counters["quota"] += 1
        data = await self._read_json(request)
        user_id = data.get("user_id") if isinstance(data, dict) else None
        if not isinstance(user_id, str) or not user_id:
            raise invalid("user_id")
        user = self._users.get(user_id)
        if user is None:
            self._counters["not_follower"] += 1
            raise ZaloError(NOT_FOLLOWER)
        last = user.last_interaction
        return {"user_id": user.id, "last_interaction": None if last is None else int(last * 1000)}

    def _route(self, handler: Any) -> Any:
        async def route(request: web.Request) -> web.Response:
            return await self._api(request, handler)

        return route

    async def _unknown_path(self, request: web.Request) -> web.Response:
        self._counters["unknown_paths"] += 1
        return json_response({"error": 404, "message": "Not Found"}, 404)

    # ------------------------------------------------------------------ OAuth v4

    async def _oauth_access_token(self, request: web.Request) -> web.Response:
        self._counters["oauth_requests"] += 1
        body = await request.read()  # the only await: everything after it is atomic
        try:
            result = self._oauth_grant(request, body)
        except OAuthError as exc:
            self._counters["oauth_errors"] += 1
            return json_response(exc.payload())
        return json_response(result)

    def _oauth_grant(self, request: web.Request, body: bytes) -> dict[str, Any]:
        if request.content_type != "application/x-www-form-urlencoded":
            raise OAuthError(
                "invalid_request",
                "Content-Type must be application/x-www-form-urlencoded",
                "Invalid request",
            )
        try:
            params = parse_body(request.content_type, body)
        except ApiError:
            raise OAuthError(
                "invalid_request", "body is not valid UTF-8", "Invalid request"
            ) from None
        if request.headers.get("secret_key") != self.app_secret:
            raise OAuthError("invalid_client", "secret_key is invalid", "Invalid secret key")
        if params.get("app_id") != self.app_id:
            raise OAuthError("invalid_client", "app_id is invalid", "Invalid app id")
        grant = params.get("grant_type")
        now = self.now()
        if grant == "refresh_token":
            token = params.get("refresh_token") or ""
            record = self._refresh.get(token)
            if record is None or record.spent or record.expires_at <= now:
                if record is None:
                    self._counters["refresh_token_unknown"] += 1
                    reason = "refresh_token is invalid"
                elif record.spent:
                    self._counters["refresh_token_reuse"] += 1
                    reason = "refresh_token has already been used"
                else:
                    self._counters["refresh_token_expired"] += 1
                    reason = "refresh_token is expired"
                raise OAuthError("invalid_grant", reason, "Invalid refresh token")
            record.spent = True
            self._counters["refreshes"] += 1
            return self._issue_pair()
        if grant == "authorization_code":
            code = self._codes.get(params.get("code") or "")
            if code is None or code.used or code.expires_at <= now:
                if code is not None and code.used:
                    self._counters["auth_code_reuse"] += 1
                else:
                    self._counters["auth_code_invalid"] += 1
                raise OAuthError(
                    "invalid_grant",
                    "code is invalid, expired or used",
                    "Invalid authorization code",
                )
            verifier = params.get("code_verifier") or ""
            if not verifier or (code.challenge and pkce_challenge(verifier) != code.challenge):
                self._counters["auth_code_invalid"] += 1
                raise OAuthError(
                    "invalid_grant", "code_verifier does not match", "Invalid code verifier"
                )
            code.used = True
            self._counters["code_exchanges"] += 1
            return self._issue_pair()
        raise OAuthError(
            "unsupported_grant_type",
            "grant_type must be refresh_token or authorization_code",
            "Invalid grant type",
        )

    async def _oauth_permission(self, request: web.Request) -> web.Response:
        """Consent page stand-in: auto-approves and redirects with ?code=&oa_id=&state=."""
        query = request.query
        redirect = query.get("redirect_uri", "")
        if query.get("app_id") != self.app_id or not redirect.startswith(("http://", "https://")):
            return json_response(
                OAuthError(
                    "invalid_request", "app_id or redirect_uri", "Invalid parameter"
                ).payload(),
                400,
            )
        made = self.make_auth_code(code_challenge=query.get("code_challenge") or "")
        params = {"code": made["code"], "oa_id": self.oa_id}
        if "state" in query:
            params["state"] = query["state"]
        if query.get("code_challenge"):
            params["code_challenge"] = query["code_challenge"]
        sep = "&" if "?" in redirect else "?"
        raise web.HTTPFound(f"{redirect}{sep}{urlencode(params)}")

    # ------------------------------------------------------------------ control API

    async def _control_object(self, request: web.Request) -> dict[str, Any]:
        data = await self._control_json(request)
        if not isinstance(data, dict):
            raise _control_error("body must be a JSON object")
        return data

    async def _c_post_webhook(self, request: web.Request) -> web.Response:
        try:
            data = await self._control_object(request)
            url = data.get("url")
            if url is not None and not isinstance(url, str):
                raise _control_error("url must be a string or null")
            self.set_webhook(url)
        except ValueError as exc:
            return self._error_response(_control_error(str(exc)))
        except ApiError as exc:
            return self._error_response(exc)
        return json_response({"ok": True, "url": self.webhook_url})

    async def _c_get_webhook(self, request: web.Request) -> web.Response:
        return json_response(
            {"ok": True, "url": self.webhook_url, "attempts": list(self.webhook_attempts)}
        )

    def _control_event(self, spec: Any) -> tuple[dict[str, Any], str]:
        try:
            return self.build_event(spec)
        except ValueError as exc:
            raise _control_error(str(exc)) from None

    async def _c_post_updates(self, request: web.Request) -> web.Response:
        return await self._control_inject(
            request,
            self._control_event,
            lambda prepared, fut: self._dispatch(*prepared, fut),
            lambda prepared: {"events": [envelope for envelope, _ in prepared]},
        )

    async def _c_post_limits(self, request: web.Request) -> web.Response:
        try:
            data = await self._control_object(request)
            enforce = data.get("enforce")
            rpm = data.get("requests_per_minute")
            if enforce is not None and not isinstance(enforce, bool):
                raise _control_error("enforce must be a boolean")
            if rpm is not None and (not isinstance(rpm, int) or isinstance(rpm, bool)):
                raise _control_error("requests_per_minute must be an integer")
            result = self.set_limits(enforce=enforce, requests_per_minute=rpm)
        except ValueError as exc:
            return self._error_response(_control_error(str(exc)))
        except ApiError as exc:
            return self._error_response(exc)
        return json_response({"ok": True, "result": result})

    async def _c_post_clock(self, request: web.Request) -> web.Response:
        try:
            data = await self._control_object(request)
            seconds = data.get("advance_seconds", 0)
            if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                raise _control_error("advance_seconds must be a number")
            self.advance_clock(float(seconds))
        except ValueError as exc:
            return self._error_response(_control_error(str(exc)))
        except ApiError as exc:
            return self._error_response(exc)
        return json_response({"ok": True, "result": self.clock()})

    async def _c_get_clock(self, request: web.Request) -> web.Response:
        return json_response({"ok": True, "result": self.clock()})

    async def _c_post_users(self, request: web.Request) -> web.Response:
        try:
            data = await self._control_json(request)
            items = data if isinstance(data, list) else [data]
            result = []
            for item in items:
                if not isinstance(item, dict):
                    raise _control_error("each user must be an object")
                ago = item.get("last_interaction_seconds_ago")
                if ago is not None and (isinstance(ago, bool) or not isinstance(ago, int | float)):
                    raise _control_error("last_interaction_seconds_ago must be a number or null")
                follower = item.get("follower")
                if follower is not None and not isinstance(follower, bool):
                    raise _control_error("follower must be a boolean")
                name = item.get("display_name")
                result.append(
                    self.set_last_interaction(
                        item.get("user_id"),  # type: ignore[arg-type] # checked inside
                        None if ago is None else float(ago),
                        display_name=name if isinstance(name, str) else None,
                        follower=follower,
                    )
                )
        except ValueError as exc:
            return self._error_response(_control_error(str(exc)))
        except ApiError as exc:
            return self._error_response(exc)
        return json_response({"ok": True, "result": result})

    async def _c_get_users(self, request: web.Request) -> web.Response:
        user_id = request.query.get("user_id")
        now = self.now()
        if user_id:
            user = self._users.get(user_id)
            if user is None:
                return self._error_response(_control_error("unknown user", 404))
            return json_response({"ok": True, "result": self._info(user, now)})
        users = [self._info(u, now) for u in self._users.values()]
        return json_response({"ok": True, "result": users})

    async def _c_post_expire(self, request: web.Request) -> web.Response:
        return json_response({"ok": True, "expired": self.expire_access_tokens()})

    async def _c_post_auth_code(self, request: web.Request) -> web.Response:
        try:
            data = await self._control_object(request)
            verifier = data.get("code_verifier")
            challenge = data.get("code_challenge")
            if verifier is not None and not isinstance(verifier, str):
                raise _control_error("code_verifier must be a string")
            if challenge is not None and not isinstance(challenge, str):
                raise _control_error("code_challenge must be a string")
        except ApiError as exc:
            return self._error_response(exc)
        return json_response(
            {"ok": True, "result": self.make_auth_code(verifier, code_challenge=challenge)}
        )

    async def _c_get_tokens(self, request: web.Request) -> web.Response:
        access, refresh = self.initial_tokens()
        return json_response({"ok": True, "access_token": access, "refresh_token": refresh})

    # ------------------------------------------------------------------ server

    def app(self) -> web.Application:
        """An aiohttp application serving the Open API, OAuth v4 and the control API."""
        app = self._new_app(client_max_size=4 * 1024 * 1024)
        self._webhook_semaphore = asyncio.Semaphore(self._webhook_concurrency)
        router = app.router
        router.add_post("/v3.0/oa/message/cs", self._route(self._h_send_cs))
        router.add_post("/v2.0/oa/message", self._route(self._h_v2_message))
        router.add_get("/v3.0/oa/user/detail", self._route(self._h_user_detail))
        router.add_post("/v3.0/oa/quota/message", self._route(self._h_quota))
        router.add_post("/v4/oa/access_token", self._oauth_access_token)
        router.add_get("/v4/oa/permission", self._oauth_permission)
        router.add_post("/_control/webhook", self._c_post_webhook)
        router.add_get("/_control/webhook", self._c_get_webhook)
        router.add_post("/_control/updates", self._c_post_updates)
        router.add_get("/_control/sent", self._c_get_sent)
        router.add_get("/_control/stats", self._c_get_stats)
        router.add_post("/_control/limits", self._c_post_limits)
        router.add_get("/_control/limits", self._c_get_limits)
        router.add_post("/_control/clock", self._c_post_clock)
        router.add_get("/_control/clock", self._c_get_clock)
        router.add_post("/_control/users", self._c_post_users)
        router.add_get("/_control/users", self._c_get_users)
        router.add_post("/_control/expire_access_token", self._c_post_expire)
        router.add_post("/_control/auth_code", self._c_post_auth_code)
        router.add_get("/_control/tokens", self._c_get_tokens)
        router.add_post("/_control/reset", self._c_post_reset)
        router.add_route("*", "/v2.0/{tail:.*}", self._unknown_path)
        router.add_route("*", "/v3.0/{tail:.*}", self._unknown_path)
        return app

    @property
    def api_base(self) -> str:
        """For ``ZALO_OA_API_BASE``."""
        return self._require_url()

    @property
    def oauth_base(self) -> str:
        """For ``ZALO_OA_OAUTH_BASE``."""
        return self._require_url()


def _check_user_id(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.isdigit() or len(value) > 32:
        raise ValueError("user_id must be a string of digits")
    return value


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m bot.fakes.zalo_oa --port 8083``: serve until interrupted."""
    parser = server_arguments("Fake Zalo OA Open API + OAuth v4 server", 8083)
    parser.add_argument("--app-id", default="3608465248940903967")
    parser.add_argument("--oa-id", default="388613280879808645")
    parser.add_argument("--app-secret", default="fake-app-secret")
    parser.add_argument("--oa-secret-key", default="fake-oa-secret-key")
    parser.add_argument("--webhook", default=None, help="webhook URL for injected events")
    parser.add_argument("--enforce-limits", action="store_true")
    parser.add_argument("--requests-per-minute", type=int, default=4000)
    parser.add_argument("--token-ttl-seconds", type=int, default=90000)
    args = parser.parse_args(argv)

    def make() -> FakeZaloOA:
        fake = FakeZaloOA(
            app_id=args.app_id,
            oa_id=args.oa_id,
            app_secret=args.app_secret,
            oa_secret_key=args.oa_secret_key,
            enforce_limits=args.enforce_limits,
            requests_per_minute=args.requests_per_minute,
            token_ttl_seconds=args.token_ttl_seconds,
        )
        if args.webhook:
            fake.set_webhook(args.webhook)
        return fake

    def banner(fake: FakeZaloOA, url: str) -> list[str]:
        access, refresh = fake.initial_tokens()
        return [
            f"Fake Zalo OA on {url} (app_id {fake.app_id}, oa_id {fake.oa_id})",
            f"  ZALO_OA_API_BASE={url} ZALO_OA_OAUTH_BASE={url}",
            f"  access_token={access}",
            f"  refresh_token={refresh}",
            f"  control API: {url}/_control/...",
        ]

    serve(make, args.host, args.port, banner)


if __name__ == "__main__":
    main()
