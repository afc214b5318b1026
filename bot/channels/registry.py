"""Every platform the service can run on, one line each, in the order they are set up.

Adding a platform: a folder bot/channels/<platform>/ exporting a `ChannelPlugin` as `PLUGIN`
(see bot/channels/plugin.py), a member of `bot.core.platform.Platform`, and a line here."""

from __future__ import annotations

from bot.channels import telegram, webchat, zalo_bot, zalo_oa
from bot.channels.plugin import ChannelPlugin

__all__ = ["PLUGINS"]

PLUGINS: tuple[ChannelPlugin, ...] = (
    telegram.PLUGIN,
    zalo_bot.PLUGIN,
    zalo_oa.PLUGIN,
    webchat.PLUGIN,
)
