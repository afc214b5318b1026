"""The Telegram platform in the runtime: set up from the settings, webhook or polling."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web

from bot.channels.plugin import ActiveChannel, Wiring, need_secret
from bot.channels.telegram._sender import TelegramChannel, make_bot
from bot.channels.telegram._transport import TelegramPoller, telegram_webhook_handler
from bot.core.channel import PhotoSource
from bot.core.dispatch import Core
from bot.core.pacing import Pacer
from bot.core.platform import Platform
from bot.core.tasks import Job
from bot.settings import Settings

__all__ = ["PLUGIN", "WEBHOOK_PATH"]

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"


class TelegramPlugin:
    platform = Platform.TELEGRAM

    def configured(self, settings: Settings) -> bool:
        return bool(settings.telegram_token.get_secret_value()) and settings.telegram_mode != "off"

    def pacer(self, settings: Settings) -> Pacer:
        return Pacer(settings.telegram_broadcast_rate, settings.telegram_broadcast_per_chat_seconds)

    async def setup(self, wiring: Wiring) -> ActiveChannel:
        s = wiring.settings
        if s.telegram_mode == "webhook":
            need_secret(s.telegram_webhook_secret.get_secret_value(), "TELEGRAM_WEBHOOK_SECRET")
        bot = make_bot(s.telegram_token.get_secret_value(), s.telegram_api_base)
        await bot.initialize()
        return ActiveTelegram(s, TelegramChannel(bot))


@dataclass
class ActiveTelegram:
    settings: Settings
    channel: TelegramChannel
    _poller: TelegramPoller | None = None

    @property
    def photos(self) -> PhotoSource:
        return self.channel

    def routes(self, core: Core) -> list[web.AbstractRouteDef]:
        secret = self.settings.telegram_webhook_secret.get_secret_value()
        return [web.post(WEBHOOK_PATH, telegram_webhook_handler(core, self.channel, secret))]

    def jobs(self) -> list[Job]:
        return []

    async def connect(self, core: Core) -> None:
        s = self.settings
        if s.telegram_mode == "polling":
            poller = TelegramPoller(self.channel.bot, core, self.channel)
            await poller.start()
            self._poller = poller
        elif s.public_url:
            await self.channel.bot.set_webhook(
                s.public_url.rstrip("/") + WEBHOOK_PATH,
                secret_token=s.telegram_webhook_secret.get_secret_value(),
                allowed_updates=["message", "callback_query"],
                max_connections=40,
            )
        else:
            log.warning("PUBLIC_URL is empty: register the Telegram webhook yourself")

    async def disconnect(self) -> None:
        if self._poller is not None:
            await self._poller.stop()

    async def close(self) -> None:
        await self.channel.bot.shutdown()


PLUGIN = TelegramPlugin()
