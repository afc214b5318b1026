"""Wires one process together: database, outbox, channels, conversation core, HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

import handlers
from bot import actions
from bot.campaigns.engine import CampaignSender, QuietHours
from bot.channels.http import ApiClient, async_client
from bot.channels.telegram import (
    TelegramChannel,
    TelegramPoller,
    make_bot,
    telegram_webhook_handler,
)
from bot.channels.webchat import WebChatChannel, webchat_routes
from bot.channels.zalo_bot import (
    ZaloBotChannel,
    ZaloBotClient,
    ZaloBotPoller,
    zalo_bot_webhook_handler,
)
from bot.channels.zalo_oa import (
    TokenError,
    TokenStore,
    ZaloOAChannel,
    ZaloOAClient,
    zalo_oa_webhook_handler,
)
from bot.core.channel import Channel, PhotoSource
from bot.core.dispatch import Core
from bot.core.limits import MAX_WEBHOOK_BODY_BYTES
from bot.core.outbox import Outbox, insert_pending
from bot.core.pacing import Pacer
from bot.core.platform import Platform
from bot.core.tasks import wind_down
from bot.db import Database
from bot.housekeeping import start_scheduler
from bot.migrate import upgrade_async
from bot.models import set_day_zone, utcnow
from bot.settings import Settings
from bot.stats.counters import MessageCounter
from bot.stats.rollup import refresh
from bot.tips.photo_fetch import PhotoPrefetch
from bot.tips.relay import cipher_for
from bot.tips.workflow import escalate_overdue
from content import locality
from content.store import REFRESH_SECONDS, LiveLibrary

__all__ = [
    "TELEGRAM_WEBHOOK_PATH",
    "ZALO_BOT_WEBHOOK_PATH",
    "ZALO_OA_WEBHOOK_PATH",
    "ConfigurationError",
    "Runtime",
]

log = logging.getLogger(__name__)
TELEGRAM_WEBHOOK_PATH = "/telegram/webhook"
ZALO_BOT_WEBHOOK_PATH = "/zalo/bot/webhook"
ZALO_OA_WEBHOOK_PATH = "/zalo/oa/webhook"


class Poller(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class ConfigurationError(RuntimeError):
    """Settings that cannot work; the message says which and what to do."""


def _need_secret(value: str, name: str, minimum: int = 16) -> None:
    if len(value) < minimum:
        raise ConfigurationError(
            f"{name} must be a random value of at least {minimum} characters "
            "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )


@dataclass
class Runtime:
    settings: Settings
    #: Upgrade the schema at start (always for SQLite; for PostgreSQL run `antq db upgrade`).
    migrate: bool = True
    db: Database = field(init=False)
    outbox: Outbox = field(init=False)
    core: Core = field(init=False)
    channels: dict[str, Channel] = field(init=False, default_factory=dict)
    app: web.Application = field(init=False)
    url: str = field(init=False, default="")
    telegram: TelegramChannel | None = field(init=False, default=None)
    webchat: WebChatChannel | None = field(init=False, default=None)
    zalo_bot: ZaloBotChannel | None = field(init=False, default=None)
    zalo_oa: ZaloOAChannel | None = field(init=False, default=None)
    oa_tokens: TokenStore | None = field(init=False, default=None)
    campaigns: CampaignSender | None = field(init=False, default=None)
    #: The content residents are shown: the database's live copy, seeded from content/.
    content: LiveLibrary | None = field(init=False, default=None)
    counter: MessageCounter | None = field(init=False, default=None)
    _oa_http: ApiClient | None = field(init=False, default=None)
    _oa_secrets: dict[str, str] = field(init=False, default_factory=dict)
    _runner: web.AppRunner | None = field(init=False, default=None)
    _pollers: list[Poller] = field(init=False, default_factory=list)
    _background: set[asyncio.Task[Any]] = field(init=False, default_factory=set)
    _scheduler: AsyncIOScheduler | None = field(init=False, default=None)

    async def start(self) -> str:
        """Start everything; returns the base URL the HTTP server listens on."""
        s = self.settings
        # what is recorded to the day is recorded to the local day the statistics count
        set_day_zone(s.timezone)
        self.db = Database(s.effective_database_url, pool_size=s.database_pool_size)
        if self.migrate and self.db.is_sqlite:
            await upgrade_async(self.db.url)
        self.content = LiveLibrary(self.db)
        await self.content.start()
        # the commune-name index, built before the first resident types a commune's name
        await asyncio.to_thread(locality.warm, s.province_code)
        self.outbox = Outbox(
            self.db,
            pacers={
                Platform.TELEGRAM: Pacer(
                    s.telegram_broadcast_rate, s.telegram_broadcast_per_chat_seconds
                ),
                Platform.ZALO_BOT: Pacer(s.zalo_bot_broadcast_rate),
                Platform.ZALO_OA: Pacer(s.zalo_oa_broadcast_rate),
            },
            on_blocked=actions.mark_blocked,
        )
        await self._setup_telegram()
        self._setup_zalo_bot()
        await self._setup_zalo_oa()
        webchat = self.webchat = WebChatChannel(self.db) if s.webchat_enabled else None
        if webchat is not None:
            self.channels[Platform.WEB] = webchat
        self.outbox.channels = self.channels
        self.counter = counter = MessageCounter(s.timezone)
        sealer = cipher_for(s.tip_relay_keys.get_secret_value())
        self.core = Core(
            self.db,
            s,
            handlers.handle,
            self.outbox,
            {name: ch.caps for name, ch in self.channels.items()},
            on_error=handlers.apologise,
            prepare=PhotoPrefetch(
                self.db, self._photo_sources(), handlers.TIP_PHOTO_STATE, sealer=sealer
            ),
            counter=counter,
            sealer=sealer,
        )
        self.app = web.Application(client_max_size=MAX_WEBHOOK_BODY_BYTES)
        self.app.router.add_get("/healthz", self._health)
        self.app.router.add_get("/", self._home)
        if self.telegram is not None:
            secret = s.telegram_webhook_secret.get_secret_value()
            self.app.router.add_post(
                TELEGRAM_WEBHOOK_PATH, telegram_webhook_handler(self.core, self.telegram, secret)
            )
        if self.zalo_bot is not None:
            secret = s.zalo_bot_webhook_secret.get_secret_value()
            self.app.router.add_post(
                ZALO_BOT_WEBHOOK_PATH, zalo_bot_webhook_handler(self.core, secret)
            )
        if self.zalo_oa is not None:
            self.app.router.add_post(
                ZALO_OA_WEBHOOK_PATH,
                zalo_oa_webhook_handler(
                    self.core, app_id=s.zalo_oa_app_id, secrets=self._oa_secrets
                ),
            )
        if webchat is not None:
            secure = s.public_url.startswith("https://")
            self.app.add_routes(
                webchat_routes(
                    self.core,
                    webchat,
                    secure_cookie=secure,
                    trust_forwarded=s.admin_trust_forwarded,
                )
            )
        self.campaigns = CampaignSender(
            self.db,
            self.channels,
            self.outbox.pacers,
            self.outbox,
            QuietHours.parse(s.campaign_quiet_hours, s.timezone),
            counter=counter,
        )
        if s.admin_enabled:
            from admin import Panel, create_app

            panel = Panel(self.db, s, self.outbox, campaigns=self.campaigns)
            self.app.add_subapp("/admin", create_app(panel))
        await self.outbox.start()
        await self.campaigns.start()
        self._scheduler = start_scheduler(self.db)
        # APScheduler only wakes the engine; the work is claimed in the database
        self._scheduler.add_job(
            self.campaigns.scheduled,
            "interval",
            seconds=10,
            id="campaigns",
            coalesce=True,
            max_instances=1,
            next_run_time=utcnow(),
        )
        if self.oa_tokens is not None:
            # Renew well before the 25-hour expiry; failures are logged as errors by the store.
            self._scheduler.add_job(
                self._owned(self.oa_tokens.refresh_if_due, "oa-token"),
                "interval",
                minutes=30,
                id="oa-token",
                coalesce=True,
                max_instances=1,
                next_run_time=utcnow(),
            )
        # content changed by another instance's panel reaches this one's residents
        self._scheduler.add_job(
            self._owned(self.content.refresh, "content"),
            "interval",
            seconds=REFRESH_SECONDS,
            id="content",
            coalesce=True,
            max_instances=1,
        )
        self._scheduler.add_job(
            self._owned(self._escalate, "tip-escalation"),
            "interval",
            minutes=5,
            id="tip-escalation",
            coalesce=True,
            max_instances=1,
            next_run_time=utcnow(),
        )
        # statistics: counted messages written every minute, the day's figures every 5 minutes
        self._scheduler.add_job(
            self._owned(self._flush_counts, "stats-counts"),
            "interval",
            seconds=60,
            id="stats-counts",
            coalesce=True,
            max_instances=1,
        )
        self._scheduler.add_job(
            self._owned(lambda: refresh(self.db, s.timezone), "stats-rollup"),
            "interval",
            minutes=5,
            id="stats-rollup",
            coalesce=True,
            max_instances=1,
            next_run_time=utcnow(),
        )
        self._runner = web.AppRunner(self.app, access_log=None, handler_cancellation=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, s.host, s.port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://{s.host}:{port}"
        await self._connect_telegram()
        await self._connect_zalo_bot()
        log.info("ANTQ Connect listening on %s (channels: %s)", self.url, ", ".join(self.channels))
        return self.url

    def _photo_sources(self) -> dict[str, PhotoSource]:
        """The channels residents can send tip photos on (the web chat has no upload)."""
        sources: dict[str, PhotoSource] = {}
        if self.telegram is not None:
            sources[Platform.TELEGRAM] = self.telegram
        if self.zalo_bot is not None:
            sources[Platform.ZALO_BOT] = self.zalo_bot
        if self.zalo_oa is not None:
            sources[Platform.ZALO_OA] = self.zalo_oa
        return sources

    async def _setup_telegram(self) -> None:
        s = self.settings
        token = s.telegram_token.get_secret_value()
        if not token or s.telegram_mode == "off":
            return
        if s.telegram_mode == "webhook":
            _need_secret(s.telegram_webhook_secret.get_secret_value(), "TELEGRAM_WEBHOOK_SECRET")
        bot = make_bot(token, s.telegram_api_base)
        await bot.initialize()
        self.telegram = TelegramChannel(bot)
        self.channels[Platform.TELEGRAM] = self.telegram

    def _setup_zalo_bot(self) -> None:
        s = self.settings
        token = s.zalo_bot_token.get_secret_value()
        if not token or s.zalo_bot_mode == "off":
            return
        if s.zalo_bot_mode == "webhook":
            _need_secret(s.zalo_bot_webhook_secret.get_secret_value(), "ZALO_BOT_WEBHOOK_SECRET")
        client = ZaloBotClient(token, s.zalo_bot_api_base)
        self.zalo_bot = ZaloBotChannel(client, retry_after=s.zalo_bot_retry_after)
        self.channels[Platform.ZALO_BOT] = self.zalo_bot

    async def _setup_zalo_oa(self) -> None:
        s = self.settings
        app_id = s.zalo_oa_app_id
        if not app_id:
            return
        secrets = {
            "oa_secret_key": s.zalo_oa_secret_key.get_secret_value(),
            "app_secret": s.zalo_oa_app_secret.get_secret_value(),
        }
        if not any(secrets.values()):
            raise ConfigurationError("ZALO_OA_SECRET_KEY is needed to check webhook signatures")
        self._oa_http = async_client(15.0)
        self.oa_tokens = TokenStore(
            self.db,
            self._oa_http,
            oauth_base=s.zalo_oa_oauth_base,
            app_id=app_id,
            app_secret=secrets["app_secret"],
            seed_access_token=s.zalo_oa_access_token.get_secret_value(),
            seed_refresh_token=s.zalo_oa_refresh_token.get_secret_value(),
            refresh_margin=timedelta(hours=s.zalo_oa_refresh_margin_hours),
            on_failure=lambda reason: self.alert_staff(
                "⚠️ Zalo OA: làm mới access token thất bại "
                f"({reason}). Nếu lỗi lặp lại, quản trị viên cần cấp quyền OAuth lại và "
                "cập nhật ZALO_OA_REFRESH_TOKEN."
            ),
        )
        try:
            await self.oa_tokens.load()
        except TokenError as exc:
            raise ConfigurationError(str(exc)) from exc
        client = ZaloOAClient(
            self._oa_http, s.zalo_oa_api_base, self.oa_tokens, s.zalo_oa_requests_per_minute
        )
        self.zalo_oa = ZaloOAChannel(client, max_buttons=s.zalo_oa_max_buttons)
        self.channels[Platform.ZALO_OA] = self.zalo_oa
        self._oa_secrets = secrets

    async def _connect_telegram(self) -> None:
        if self.telegram is None:
            return
        s = self.settings
        if s.telegram_mode == "polling":
            poller = TelegramPoller(self.telegram.bot, self.core, self.telegram)
            await poller.start()
            self._pollers.append(poller)
        elif s.public_url:
            await self.telegram.bot.set_webhook(
                s.public_url.rstrip("/") + TELEGRAM_WEBHOOK_PATH,
                secret_token=s.telegram_webhook_secret.get_secret_value(),
                allowed_updates=["message", "callback_query"],
                max_connections=40,
            )
        else:
            log.warning("PUBLIC_URL is empty: register the Telegram webhook yourself")

    async def _connect_zalo_bot(self) -> None:
        if self.zalo_bot is None:
            return
        s = self.settings
        if s.zalo_bot_mode == "polling":
            poller = ZaloBotPoller(self.zalo_bot.client, self.core)
            await poller.start()
            self._pollers.append(poller)
        elif s.public_url:
            await self.zalo_bot.client.set_webhook(
                s.public_url.rstrip("/") + ZALO_BOT_WEBHOOK_PATH,
                s.zalo_bot_webhook_secret.get_secret_value(),
            )
        else:
            log.warning("PUBLIC_URL is empty: register the Zalo Bot webhook yourself")

    def _owned(
        self, work: Callable[[], Coroutine[Any, Any, Any]], name: str
    ) -> Callable[[], Awaitable[None]]:
        """A scheduler job that runs `work` as this runtime's own task (one at a time), so
        `stop` can wait for it before closing the database: a job still holding a
        connection while the pool is disposed could hang the shutdown."""

        async def job() -> None:
            if any(task.get_name() == name for task in self._background):
                return
            task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(work(), name=name)
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            task.add_done_callback(_log_failure)

        return job

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
        # scheduled work and alerts being written: a few seconds to finish, then cancelled
        await wind_down(self._background)
        if self.campaigns is not None:
            await self.campaigns.stop()
        for poller in self._pollers:
            await poller.stop()
        if self.webchat is not None:
            await self.webchat.close()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.outbox.stop()
        with contextlib.suppress(Exception):  # logged inside; a stop must go on
            await self._flush_counts()
        if self.content is not None:
            self.content.stop()
        if self.telegram is not None:
            await self.telegram.bot.shutdown()
        if self.zalo_bot is not None:
            await self.zalo_bot.client.aclose()
        if self._oa_http is not None:
            await self._oa_http.aclose()
        await self.db.dispose()

    async def _flush_counts(self) -> None:
        if self.counter is None:
            return
        try:
            await self.counter.flush(self.db)
        except Exception:  # kept in memory for the next minute
            log.exception("could not write the message counts")
            raise

    async def _escalate(self) -> None:
        """Tips past their first-response deadline go to the province administrators."""
        async with self.db.session() as session:
            tips = await escalate_overdue(session, self.settings)
        if tips:
            # their alert rows are written already expired: the sweeper sends them
            log.warning("%d tips escalated as overdue", len(tips))

    def alert_staff(self, text: str) -> None:
        """An operational alert: always an ERROR log line; also a Telegram message to
        STAFF_ALERT_TELEGRAM_CHAT_ID when set (through the outbox, so it is not lost)."""
        log.error("staff alert: %s", text)
        chat = self.settings.staff_alert_telegram_chat_id
        if not chat or self.telegram is None:
            return

        async def send() -> None:
            async with self.db.session() as session:
                rows = await insert_pending(
                    session,
                    [(Platform.TELEGRAM, chat, {"text": text})],
                    self.outbox.lease,
                    kind="alert",
                )
            self.outbox.send_soon(rows)

        task = asyncio.get_running_loop().create_task(send())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _health(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"ok": True})

    async def _home(self, request: web.Request) -> web.StreamResponse:
        if self.settings.webchat_enabled:
            raise web.HTTPFound("/chat")
        return web.Response(text="ANTQ Connect")


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("scheduled %s failed", task.get_name(), exc_info=task.exception())


def random_secret() -> str:
    return secrets.token_urlsafe(32)
