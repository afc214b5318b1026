"""Wires one process together: database, outbox, channels, conversation core, HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

import handlers
from bot import actions
from bot.campaigns.engine import CampaignSender, QuietHours
from bot.channels.plugin import ActiveChannel, ConfigurationError, Wiring
from bot.channels.registry import PLUGINS
from bot.channels.telegram import WEBHOOK_PATH as TELEGRAM_WEBHOOK_PATH
from bot.channels.zalo_bot import WEBHOOK_PATH as ZALO_BOT_WEBHOOK_PATH
from bot.channels.zalo_oa import WEBHOOK_PATH as ZALO_OA_WEBHOOK_PATH
from bot.core.channel import Channel, PhotoSource
from bot.core.dispatch import Core
from bot.core.limits import MAX_WEBHOOK_BODY_BYTES
from bot.core.outbox import Outbox, insert_pending
from bot.core.pacing import Pacer
from bot.core.platform import Platform
from bot.core.tasks import Job, wind_down
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
C = TypeVar("C", bound=Channel)
#: How often the scheduler wakes the campaign engine to look for runs that are due.
CAMPAIGN_TICK = timedelta(seconds=10)


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
    campaigns: CampaignSender | None = field(init=False, default=None)
    #: The content residents are shown: the database's live copy, seeded from content/.
    content: LiveLibrary | None = field(init=False, default=None)
    counter: MessageCounter | None = field(init=False, default=None)
    #: The configured platforms, set up in the registry's order (bot/channels/registry.py).
    _active: list[ActiveChannel] = field(init=False, default_factory=list)
    _runner: web.AppRunner | None = field(init=False, default=None)
    _background: set[asyncio.Task[Any]] = field(init=False, default_factory=set)
    _scheduler: AsyncIOScheduler | None = field(init=False, default=None)

    async def start(self) -> str:
        """Start everything; returns the base URL the HTTP server listens on."""
        content = await self._open_storage()
        self.outbox = Outbox(self.db, pacers=self._pacers(), on_blocked=actions.mark_blocked)
        await self._set_up_channels()
        self.counter = MessageCounter(self.settings.timezone)
        self.core = self._make_core(self.counter)
        campaigns = self.campaigns = self._make_campaigns(self.counter)
        self.app = self._make_app(campaigns)
        await self.outbox.start()
        await campaigns.start()
        self._scheduler = self._start_jobs(campaigns, content)
        self.url = await self._listen()
        for active in self._active:
            await active.connect(self.core)
        log.info("ANTQ Connect listening on %s (channels: %s)", self.url, ", ".join(self.channels))
        return self.url

    async def _open_storage(self) -> LiveLibrary:
        """The database (upgraded where the runtime may), the content residents are shown,
        and the commune-name index, built before the first resident types a commune's name."""
        s = self.settings
        # what is recorded to the day is recorded to the local day the statistics count
        set_day_zone(s.timezone)
        self.db = Database(s.effective_database_url, pool_size=s.database_pool_size)
        if self.migrate and self.db.is_sqlite:
            await upgrade_async(self.db.url)
        content = self.content = LiveLibrary(self.db)
        await content.start()
        await asyncio.to_thread(locality.warm, s.province_code)
        return content

    def _pacers(self) -> dict[str, Pacer]:
        """Every platform's broadcast pace, configured here or not."""
        paced = ((plugin.platform, plugin.pacer(self.settings)) for plugin in PLUGINS)
        return {platform: pacer for platform, pacer in paced if pacer is not None}

    async def _set_up_channels(self) -> None:
        """The configured platforms, in the registry's order. Each is kept as soon as it is
        set up, so that `stop` closes it even when a later one refuses its settings."""
        wiring = Wiring(self.settings, self.db, self.alert_staff)
        for plugin in PLUGINS:
            if plugin.configured(self.settings):
                active = await plugin.setup(wiring)
                self._active.append(active)
                self.channels[plugin.platform] = active.channel
        self.outbox.channels = self.channels

    def _make_core(self, counter: MessageCounter) -> Core:
        s = self.settings
        sealer = cipher_for(s.tip_relay_keys.get_secret_value())
        photos: dict[str, PhotoSource] = {
            a.channel.name: a.photos for a in self._active if a.photos is not None
        }
        return Core(
            self.db,
            s,
            handlers.handle,
            self.outbox,
            {name: ch.caps for name, ch in self.channels.items()},
            on_error=handlers.apologise,
            prepare=PhotoPrefetch(self.db, photos, handlers.TIP_PHOTO_STATE, sealer=sealer),
            counter=counter,
            sealer=sealer,
        )

    def _make_campaigns(self, counter: MessageCounter) -> CampaignSender:
        s = self.settings
        return CampaignSender(
            self.db,
            self.channels,
            self.outbox.pacers,
            self.outbox,
            QuietHours.parse(s.campaign_quiet_hours, s.timezone),
            counter=counter,
        )

    def _make_app(self, campaigns: CampaignSender) -> web.Application:
        """Our HTTP routes, the channels' (webhooks, the web chat) and the staff panel."""
        app = web.Application(client_max_size=MAX_WEBHOOK_BODY_BYTES)
        app.router.add_get("/healthz", self._health)
        app.router.add_get("/", self._home)
        for active in self._active:
            app.add_routes(active.routes(self.core))
        if self.settings.admin_enabled:
            from admin import Panel, create_app

            panel = Panel(self.db, self.settings, self.outbox, campaigns=campaigns)
            app.add_subapp("/admin", create_app(panel))
        return app

    def _start_jobs(self, campaigns: CampaignSender, content: LiveLibrary) -> AsyncIOScheduler:
        """The housekeeping scheduler, with the campaigns' wake-up, the channels' jobs and
        the runtime's own (`_jobs`)."""
        scheduler = start_scheduler(self.db)
        # APScheduler only wakes the engine; the work is claimed in the database
        scheduler.add_job(
            campaigns.scheduled,
            "interval",
            seconds=CAMPAIGN_TICK.total_seconds(),
            id="campaigns",
            coalesce=True,
            max_instances=1,
            next_run_time=utcnow(),
        )
        channel_jobs = [job for active in self._active for job in active.jobs()]
        for job in [*channel_jobs, *self._jobs(content)]:
            scheduler.add_job(
                self._owned(job.work, job.name),
                "interval",
                seconds=job.every.total_seconds(),
                id=job.name,
                coalesce=True,
                max_instances=1,
                # APScheduler takes an explicit None as "paused": the default is one interval on
                **({"next_run_time": utcnow()} if job.at_start else {}),
            )
        return scheduler

    def _jobs(self, content: LiveLibrary) -> list[Job]:
        """The runtime's periodic work, each run as its own task (see `_owned`)."""
        timezone = self.settings.timezone
        return [
            # content changed by another instance's panel reaches this one's residents
            Job("content", content.refresh, timedelta(seconds=REFRESH_SECONDS)),
            Job("tip-escalation", self._escalate, timedelta(minutes=5), at_start=True),
            # statistics: counted messages written every minute, the day's figures every 5
            Job("stats-counts", self._flush_counts, timedelta(minutes=1)),
            Job(
                "stats-rollup",
                lambda: refresh(self.db, timezone),
                timedelta(minutes=5),
                at_start=True,
            ),
        ]

    async def _listen(self) -> str:
        """Start the HTTP server; its base URL (the port is the system's choice when 0)."""
        s = self.settings
        self._runner = web.AppRunner(self.app, access_log=None, handler_cancellation=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, s.host, s.port).start()
        port = self._runner.addresses[0][1]
        return f"http://{s.host}:{port}"

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
        """Stop in an order that loses nothing: scheduled work, then receiving (pollers, the
        web chat's waiting polls, the HTTP server), then sending, then the channels' clients
        and the database."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
        # scheduled work and alerts being written: a few seconds to finish, then cancelled
        await wind_down(self._background)
        if self.campaigns is not None:
            await self.campaigns.stop()
        for active in self._active:
            await active.disconnect()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.outbox.stop()
        with contextlib.suppress(Exception):  # logged inside; a stop must go on
            await self._flush_counts()
        if self.content is not None:
            self.content.stop()
        for active in self._active:
            await active.close()
        await self.db.dispose()

    def channel(self, platform: Platform, kind: type[C]) -> C:
        """The channel of `platform` as its own class (tests and tools reach its client);
        KeyError when the platform is not configured."""
        channel = self.channels[platform]
        if not isinstance(channel, kind):
            raise TypeError(f"{platform} is a {type(channel).__name__}, not a {kind.__name__}")
        return channel

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
        if not chat or Platform.TELEGRAM not in self.channels:
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
        if Platform.WEB in self.channels:
            raise web.HTTPFound("/chat")
        return web.Response(text="ANTQ Connect")


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("scheduled %s failed", task.get_name(), exc_info=task.exception())


def random_secret() -> str:
    return secrets.token_urlsafe(32)
