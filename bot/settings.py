"""Settings from the environment and `.env`; every field is documented in `.env.example`."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("var")


class Settings(BaseSettings):
    """Runtime configuration. Environment variables are the upper-case field names."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # --- storage -------------------------------------------------------------------------
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL. Empty = SQLite file DATA_DIR/antq.sqlite3.",
    )
    data_dir: Path = DEFAULT_DATA_DIR
    #: PostgreSQL connections each process keeps open (and up to 10 more at a peak).
    database_pool_size: int = Field(default=20, ge=2, le=200)

    # --- the province ----------------------------------------------------------------------
    province_code: int = 52
    province_police_phone: str = ""
    commune_phones_file: Path | None = None
    timezone: str = "Asia/Ho_Chi_Minh"
    default_language: Literal["vi", "en"] = "vi"

    # --- HTTP server -----------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""

    # --- Telegram --------------------------------------------------------------------------
    telegram_token: SecretStr = SecretStr("")
    telegram_mode: Literal["webhook", "polling", "off"] = "webhook"
    telegram_webhook_secret: SecretStr = SecretStr("")
    telegram_api_base: str = "https://api.telegram.org"
    telegram_broadcast_rate: float = 25.0
    telegram_broadcast_per_chat_seconds: float = 1.0

    # --- Zalo Bot Platform ----------------------------------------------------------------
    zalo_bot_token: SecretStr = SecretStr("")
    zalo_bot_mode: Literal["webhook", "polling", "off"] = "webhook"
    zalo_bot_webhook_secret: SecretStr = SecretStr("")
    zalo_bot_api_base: str = "https://bot-api.zaloplatforms.com"
    zalo_bot_retry_after: float = 5.0
    zalo_bot_broadcast_rate: float = 15.0

    # --- Zalo Official Account (Open API v3) ----------------------------------------------
    zalo_oa_app_id: str = ""
    zalo_oa_app_secret: SecretStr = SecretStr("")
    zalo_oa_secret_key: SecretStr = SecretStr("")
    zalo_oa_access_token: SecretStr = SecretStr("")
    zalo_oa_refresh_token: SecretStr = SecretStr("")
    zalo_oa_api_base: str = "https://openapi.zalo.me"
    zalo_oa_oauth_base: str = "https://oauth.zaloapp.com"
    zalo_oa_refresh_margin_hours: float = 5.0
    zalo_oa_requests_per_minute: int = 4000
    zalo_oa_max_buttons: int = 5
    zalo_oa_broadcast_rate: float = 60.0

    # --- anonymous tip-offs ---------------------------------------------------------------
    tip_relay_keys: SecretStr = SecretStr("")
    tip_relay_retention_days: int = 90
    tip_first_response_hours: float = 8.0
    tip_urgent_response_hours: float = 4.0
    tip_working_hours: str = "07:30-11:30,13:30-17:00"
    tip_working_days: str = "mon-fri"
    tip_holidays_country: str = "VN"
    tip_daily_limit: int = 5
    #: Web chat only, where a fresh cookie is a fresh resident: tips per client address.
    tip_daily_limit_per_address: int = 10

    # --- staff panel (/admin) ---------------------------------------------------------------
    admin_enabled: bool = True
    admin_title: str = "ANTQ Connect"
    admin_session_hours: float = 12.0
    admin_session_idle_minutes: float = 120.0
    admin_trust_forwarded: bool = False

    # --- campaigns ---------------------------------------------------------------------------
    campaign_approval_required: bool = True
    campaign_quiet_hours: str = "21:00-07:00"
    #: Tip counts from 1 to this minus one are shown as "<N" on the statistics pages.
    stats_privacy_threshold: int = Field(default=3, ge=1, le=100)

    # --- staff alerts ---------------------------------------------------------------------
    staff_alert_telegram_chat_id: str = ""

    # --- web chat --------------------------------------------------------------------------
    webchat_enabled: bool = True

    # --- behaviour -------------------------------------------------------------------------
    content_page_size: int = 5
    log_level: str = "INFO"
    #: uvloop (libuv, in C) or Python's own asyncio loop; uvloop spends less CPU per request.
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"

    @field_validator("commune_phones_file", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'antq.sqlite3').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")


@cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
