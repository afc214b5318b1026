"""The channel registry: one plugin per platform, set up from the settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.channels import telegram, zalo_bot, zalo_oa
from bot.channels.plugin import ChannelPlugin, ConfigurationError, Wiring
from bot.channels.registry import PLUGINS
from bot.core.platform import Platform
from bot.db import Database
from tests.harness import make_settings

URL = "sqlite+aiosqlite:///unused.sqlite3"


def test_every_platform_has_one_plugin() -> None:
    assert sorted(plugin.platform for plugin in PLUGINS) == sorted(Platform)


def test_the_settings_say_which_platforms_run() -> None:
    def configured(**settings: object) -> set[Platform]:
        s = make_settings(URL, **settings)
        return {plugin.platform for plugin in PLUGINS if plugin.configured(s)}

    assert configured() == {Platform.WEB}
    assert configured(webchat_enabled=False) == set()
    assert configured(telegram_token="1:x", zalo_bot_token="z") == {
        Platform.TELEGRAM,
        Platform.ZALO_BOT,
        Platform.WEB,
    }
    assert configured(telegram_token="1:x", telegram_mode="off") == {Platform.WEB}
    assert configured(zalo_oa_app_id="123", webchat_enabled=False) == {Platform.ZALO_OA}
    # every platform that sends broadcasts is paced, configured or not; the web chat is not
    s = make_settings(URL)
    assert {p.platform for p in PLUGINS if p.pacer(s) is not None} == {
        Platform.TELEGRAM,
        Platform.ZALO_BOT,
        Platform.ZALO_OA,
    }


@pytest.mark.parametrize(
    ("plugin", "settings", "message"),
    [
        (
            telegram.PLUGIN,
            {"telegram_token": "1:x", "telegram_webhook_secret": "short"},
            "TELEGRAM_WEBHOOK_SECRET must be a random value of at least 16 characters",
        ),
        (
            zalo_bot.PLUGIN,
            {"zalo_bot_token": "z", "zalo_bot_webhook_secret": ""},
            "ZALO_BOT_WEBHOOK_SECRET must be a random value of at least 16 characters",
        ),
        (
            zalo_oa.PLUGIN,
            {"zalo_oa_app_id": "123"},
            "ZALO_OA_SECRET_KEY is needed to check webhook signatures",
        ),
    ],
)
async def test_settings_that_cannot_work_refuse_to_start(
    plugin: ChannelPlugin, settings: dict[str, str], message: str, tmp_path: Path
) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'antq.sqlite3'}")
    wiring = Wiring(make_settings(db.url, **settings), db, lambda text: None)
    try:
        with pytest.raises(ConfigurationError, match=message):
            await plugin.setup(wiring)
    finally:
        await db.dispose()
