"""The Zalo OA platform in the runtime: its tokens, its signed webhook, their renewal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from aiohttp import web

from bot.channels.http import ApiClient, async_client
from bot.channels.plugin import ActiveChannel, ConfigurationError, Wiring
from bot.channels.zalo_oa._channel import ZaloOAChannel, zalo_oa_webhook_handler
from bot.channels.zalo_oa._client import ZaloOAClient
from bot.channels.zalo_oa._tokens import TokenError, TokenStore
from bot.core.channel import PhotoSource
from bot.core.dispatch import Core
from bot.core.pacing import Pacer
from bot.core.platform import Platform
from bot.core.tasks import Job
from bot.i18n import N_, staff_text
from bot.settings import Settings

__all__ = ["PLUGIN", "WEBHOOK_PATH"]

WEBHOOK_PATH = "/zalo/oa/webhook"
#: Access tokens live 25 hours: the store renews them well before, checked this often.
TOKEN_CHECK_EVERY = timedelta(minutes=30)
RENEWAL_FAILED = N_(
    "⚠️ Zalo OA: renewing the access token failed ({reason}). If it happens again, an "
    "administrator must grant the OAuth access again and update ZALO_OA_REFRESH_TOKEN."
)


class ZaloOAPlugin:
    platform = Platform.ZALO_OA

    def configured(self, settings: Settings) -> bool:
        return bool(settings.zalo_oa_app_id)

    def pacer(self, settings: Settings) -> Pacer:
        return Pacer(settings.zalo_oa_broadcast_rate)

    async def setup(self, wiring: Wiring) -> ActiveChannel:
        s, alert_staff = wiring.settings, wiring.alert_staff
        secrets = {
            "oa_secret_key": s.zalo_oa_secret_key.get_secret_value(),
            "app_secret": s.zalo_oa_app_secret.get_secret_value(),
        }
        if not any(secrets.values()):
            raise ConfigurationError("ZALO_OA_SECRET_KEY is needed to check webhook signatures")
        http = async_client(15.0)
        tokens = TokenStore(
            wiring.db,
            http,
            oauth_base=s.zalo_oa_oauth_base,
            app_id=s.zalo_oa_app_id,
            app_secret=secrets["app_secret"],
            seed_access_token=s.zalo_oa_access_token.get_secret_value(),
            seed_refresh_token=s.zalo_oa_refresh_token.get_secret_value(),
            refresh_margin=timedelta(hours=s.zalo_oa_refresh_margin_hours),
            on_failure=lambda reason: alert_staff(staff_text(RENEWAL_FAILED).format(reason=reason)),
        )
        try:
            await tokens.load()
        except TokenError as exc:
            await http.aclose()
            raise ConfigurationError(str(exc)) from exc
        client = ZaloOAClient(http, s.zalo_oa_api_base, tokens, s.zalo_oa_requests_per_minute)
        channel = ZaloOAChannel(client, max_buttons=s.zalo_oa_max_buttons)
        return ActiveZaloOA(s, channel, http, tokens, secrets)


@dataclass
class ActiveZaloOA:
    settings: Settings
    channel: ZaloOAChannel
    http: ApiClient
    tokens: TokenStore
    #: The webhook's signature keys (and what its deduplication keys are derived from).
    secrets: dict[str, str] = field(repr=False)

    @property
    def photos(self) -> PhotoSource:
        return self.channel

    def routes(self, core: Core) -> list[web.AbstractRouteDef]:
        handler = zalo_oa_webhook_handler(
            core, app_id=self.settings.zalo_oa_app_id, secrets=self.secrets
        )
        return [web.post(WEBHOOK_PATH, handler)]

    def jobs(self) -> list[Job]:
        # failures are logged as errors by the store, and staff alerted
        return [Job("oa-token", self.tokens.refresh_if_due, TOKEN_CHECK_EVERY, at_start=True)]

    async def connect(self, core: Core) -> None:
        """Nothing to do: the webhook's address is set in the OA's console."""

    async def disconnect(self) -> None:
        pass

    async def close(self) -> None:
        await self.http.aclose()


PLUGIN = ZaloOAPlugin()
