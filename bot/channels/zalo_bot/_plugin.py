"""The Zalo Bot platform in the runtime: set up from the settings, webhook or polling."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web

from bot.channels.plugin import ActiveChannel, Wiring, need_secret
from bot.channels.zalo_bot._channel import ZaloBotChannel, ZaloBotPoller, zalo_bot_webhook_handler
from bot.channels.zalo_bot._client import ZaloBotClient
from bot.core.channel import PhotoSource
from bot.core.dispatch import Core
from bot.core.pacing import Pacer
from bot.core.platform import Platform
from bot.core.tasks import Job
from bot.settings import Settings

__all__ = ["PLUGIN", "WEBHOOK_PATH"]

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/zalo/bot/webhook"


class ZaloBotPlugin:
    platform = Platform.ZALO_BOT

    def configured(self, settings: Settings) -> bool:
        return bool(settings.zalo_bot_token.get_secret_value()) and settings.zalo_bot_mode != "off"

    def pacer(self, settings: Settings) -> Pacer:
        return Pacer(settings.zalo_bot_broadcast_rate)

    async def setup(self, wiring: Wiring) -> ActiveChannel:
        s = wiring.settings
        if s.zalo_bot_mode == "webhook":
            need_secret(s.zalo_bot_webhook_secret.get_secret_value(), "ZALO_BOT_WEBHOOK_SECRET")
        client = ZaloBotClient(s.zalo_bot_token.get_secret_value(), s.zalo_bot_api_base)
        return ActiveZaloBot(s, ZaloBotChannel(client, retry_after=s.zalo_bot_retry_after))


@dataclass
class ActiveZaloBot:
    settings: Settings
    channel: ZaloBotChannel
    _poller: ZaloBotPoller | None = None

    @property
    def photos(self) -> PhotoSource:
        return self.channel

    def routes(self, core: Core) -> list[web.AbstractRouteDef]:
        secret = self.settings.zalo_bot_webhook_secret.get_secret_value()
        return [web.post(WEBHOOK_PATH, zalo_bot_webhook_handler(core, secret))]

    def jobs(self) -> list[Job]:
        return []

    async def connect(self, core: Core) -> None:
        s = self.settings
        if s.zalo_bot_mode == "polling":
            poller = ZaloBotPoller(self.channel.client, core)
            await poller.start()
            self._poller = poller
        elif s.public_url:
            await self.channel.client.set_webhook(
                s.public_url.rstrip("/") + WEBHOOK_PATH,
                s.zalo_bot_webhook_secret.get_secret_value(),
            )
        else:
            log.warning("PUBLIC_URL is empty: register the Zalo Bot webhook yourself")

    async def disconnect(self) -> None:
        if self._poller is not None:
            await self._poller.stop()

    async def close(self) -> None:
        await self.channel.client.aclose()


PLUGIN = ZaloBotPlugin()
