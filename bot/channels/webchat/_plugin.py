"""The web chat in the runtime: our own page, on when WEBCHAT_ENABLED."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.channels.plugin import ActiveChannel, Wiring
from bot.channels.webchat._channel import WebChatChannel, webchat_routes
from bot.core.dispatch import Core
from bot.core.pacing import Pacer
from bot.core.platform import Platform
from bot.core.tasks import Job
from bot.settings import Settings

__all__ = ["PLUGIN"]


class WebChatPlugin:
    platform = Platform.WEB

    def configured(self, settings: Settings) -> bool:
        return settings.webchat_enabled

    def pacer(self, settings: Settings) -> Pacer | None:
        return None  # messages wait in our own database for the page to fetch them

    async def setup(self, wiring: Wiring) -> ActiveChannel:
        return ActiveWebChat(wiring.settings, WebChatChannel(wiring.db))


@dataclass
class ActiveWebChat:
    settings: Settings
    channel: WebChatChannel
    #: The page has no upload.
    photos: None = None

    def routes(self, core: Core) -> list[web.AbstractRouteDef]:
        s = self.settings
        return webchat_routes(
            core,
            self.channel,
            secure_cookie=s.public_url.startswith("https://"),
            trust_forwarded=s.admin_trust_forwarded,
        )

    def jobs(self) -> list[Job]:
        return []

    async def connect(self, core: Core) -> None:
        """Nothing to do: residents come to the page."""

    async def disconnect(self) -> None:
        # waiting long polls are answered now, so the HTTP server stops without them
        await self.channel.close()

    async def close(self) -> None:
        pass


PLUGIN = WebChatPlugin()
