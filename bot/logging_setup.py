"""Logging that never shows a bot token (httpx and PTB log request URLs that contain it)."""

from __future__ import annotations

import logging
import re

__all__ = ["RedactTokens", "configure_logging", "quiet_libraries"]

#: Libraries whose INFO/DEBUG lines carry request URLs (tokens), SQL parameters (chat ids,
#: tip texts) or bodies: kept at WARNING whatever LOG_LEVEL says.
QUIET_LOGGERS = (
    "httpx",
    "httpcore",
    "telegram",  # python-telegram-bot logs every call with its chat id and text at DEBUG
    "aiohttp.access",
    "aiohttp.client",
    "apscheduler",
    "alembic",
    "aiosqlite",
    "asyncpg",
    "sqlalchemy.engine",
    "sqlalchemy.pool",
)


def quiet_libraries() -> None:
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


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
    quiet_libraries()
