"""How a platform plugs into the runtime.

Each folder of bot/channels/ exports one `ChannelPlugin` as `PLUGIN`, and
bot/channels/registry.py lists them. `bot.runtime.Runtime` sets up the configured ones in
the registry's order, adds their routes before its HTTP server starts, connects them once it
listens, and at the end disconnects them before the server stops and closes them once the
outbox has stopped sending.

A plugin is shared by every runtime of the process (the tests run several): what one runtime
sets up lives in the `ActiveChannel` its `setup` returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from bot.core.channel import Channel, PhotoSource
from bot.core.dispatch import Core
from bot.core.pacing import Pacer
from bot.core.platform import Platform
from bot.core.tasks import Job
from bot.db import Database
from bot.settings import Settings

__all__ = ["ActiveChannel", "ChannelPlugin", "ConfigurationError", "Wiring", "need_secret"]


class ConfigurationError(RuntimeError):
    """Settings that cannot work; the message says which and what to do."""


def need_secret(value: str, name: str, minimum: int = 16) -> None:
    """Refuse to start with a webhook secret anyone could guess."""
    if len(value) < minimum:
        raise ConfigurationError(
            f"{name} must be a random value of at least {minimum} characters "
            "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )


@dataclass(frozen=True)
class Wiring:
    """What the runtime gives a platform to set up with."""

    settings: Settings
    db: Database
    #: An operational alert for staff (`Runtime.alert_staff`): logged, and sent if possible.
    alert_staff: Callable[[str], None]


class ActiveChannel(Protocol):
    """One platform set up in one runtime."""

    @property
    def channel(self) -> Channel:
        """What the outbox and the campaigns send through."""
        ...

    @property
    def photos(self) -> PhotoSource | None:
        """Where the photos residents send are fetched; None where they cannot send any."""
        ...

    def routes(self, core: Core) -> list[web.AbstractRouteDef]:
        """Its HTTP routes (webhooks, pages), added before the server starts."""
        ...

    def jobs(self) -> list[Job]:
        """Periodic work it needs from the runtime's scheduler."""
        ...

    async def connect(self, core: Core) -> None:
        """Start receiving, once the HTTP server listens: a poller, or the webhook registered."""

    async def disconnect(self) -> None:
        """Stop receiving, before the HTTP server stops."""

    async def close(self) -> None:
        """Release its clients, once nothing is sent any more."""


class ChannelPlugin(Protocol):
    """What a platform folder exports: one instance, for every runtime of the process."""

    platform: Platform

    def configured(self, settings: Settings) -> bool:
        """Whether the settings ask for this platform."""
        ...

    def pacer(self, settings: Settings) -> Pacer | None:
        """How fast broadcasts may go (None: as fast as sent). Asked of every plugin."""
        ...

    async def setup(self, wiring: Wiring) -> ActiveChannel:
        """Build the channel; `ConfigurationError` for settings that cannot work."""
        ...
