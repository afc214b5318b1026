"""The messaging platforms residents reach us on: their names as the code and the database
know them."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Platform"]


class Platform(StrEnum):
    """A platform's name. The values are stored in the database (residents, outbox rows,
    statistics, campaign channels): renaming one needs a migration."""

    TELEGRAM = "telegram"
    ZALO_BOT = "zalo_bot"
    ZALO_OA = "zalo_oa"
    WEB = "web"
