"""The contract between the core and a platform: send neutral messages, report failures."""

from __future__ import annotations

from typing import Protocol

from bot.core.platform import Platform
from bot.core.types import Capabilities, Inbound, Reply

__all__ = [
    "Blocked",
    "Channel",
    "DownloadError",
    "DownloadTooLarge",
    "OutOfWindow",
    "PermanentFailure",
    "PhotoSource",
    "RetryLater",
    "SendError",
    "TransientFailure",
]


class SendError(Exception):
    """A message could not be sent."""


class RetryLater(SendError):
    """The platform asked us to slow down (HTTP 429): wait `seconds`, for the whole platform."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds}s")
        self.seconds = seconds


class Blocked(SendError):
    """The resident blocked the bot or left: mark them unsubscribed, never retry."""


class OutOfWindow(SendError):
    """The platform only lets us write to residents who wrote recently (Zalo OA's 7 days):
    skipped and counted apart, not a failure."""


class PermanentFailure(SendError):
    """The platform refused this message for good (bad request, chat not found)."""


class TransientFailure(SendError):
    """Network trouble or a 5xx: retry with backoff."""


class Channel(Protocol):
    """A platform adapter's sending side."""

    name: Platform
    caps: Capabilities

    async def send(self, chat_id: str, message: Reply) -> None:
        """Send one already-rendered message; raise a `SendError` subclass on failure."""

    async def acknowledge(self, inbound: Inbound) -> None:
        """Tell the platform a button press was handled (a no-op where not needed)."""


class DownloadError(Exception):
    """A photo or file the resident sent could not be fetched from the platform."""


class DownloadTooLarge(DownloadError):
    """It has more bytes than allowed: known from the platform's metadata, or cut off while
    streaming once the limit was passed."""


class PhotoSource(Protocol):
    """A platform adapter that can fetch what residents send (`Inbound.photo_ids`)."""

    async def download(self, ref: str, max_bytes: int) -> bytes:
        """The bytes of `ref`; `DownloadTooLarge` beyond `max_bytes`, else `DownloadError`."""
