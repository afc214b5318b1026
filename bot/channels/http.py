"""The HTTP client our own Zalo clients use: httpx's API over aiohttp's connection pool.

httpx's own transport (httpcore on anyio) cost 1.7–2.8 ms of CPU per request on this
machine with tens of requests in flight, against 0.3 ms through `httpx_aiohttp`'s transport
(the same aiohttp the webhooks and the Telegram sender already use): with Zalo replies
sent that way, sending was a third of a busy process's CPU (bench/load.py)."""

from __future__ import annotations

import httpx
from httpx_aiohttp import AiohttpTransport

__all__ = ["async_client"]


def async_client(timeout: float, max_connections: int = 100) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` on an aiohttp transport (keep-alive, at most
    `max_connections` connections)."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=50)
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout), transport=AiohttpTransport(limits=limits)
    )
