"""Logging that never shows a bot token (httpx and PTB log request URLs that contain it)."""

from __future__ import annotations

import logging
import re

__all__ = ["RedactTokens", "configure_logging"]

# Telegram tokens ("123456:AA…" in /bot<token>/ URLs) and any ?access_token= parameter.
_PATTERNS = (
    re.compile(r"(?<=/bot)\d+:[A-Za-z0-9_-]+"),
    re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b"),
    re.compile(r"(?i)(?<=access_token=)[^&\s]+"),
)


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub("<redacted>", text)
    return text


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Per-request lines from the HTTP clients are noise at INFO (and carry URLs).
    for name in ("httpx", "httpcore", "telegram.ext", "aiohttp.access", "apscheduler", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
