"""The HTTP client our own Zalo clients use: httpx's API over aiohttp's connection pool.

httpx's own transport (httpcore on anyio) cost 1.7–2.8 ms of CPU per request on this
machine with tens of requests in flight, against 0.3 ms through `httpx_aiohttp`'s transport
(the same aiohttp the webhooks and the Telegram sender already use): with Zalo replies
sent that way, sending was a third of a busy process's CPU (bench/load.py).

The API calls themselves (`ApiClient.post_json`) go straight to that transport with an
`httpx.Request`: the client's layers around it (cookie jar, auth, redirects, event hooks,
header merging) were a third of each call's CPU, and an API call wants none of them: a
redirect would carry the token in the URL to wherever it pointed, and no Zalo API sets
cookies. Token renewals and downloads, rare, use the full client."""

from __future__ import annotations

import json
from typing import Any

import httpx
from httpx_aiohttp import AiohttpTransport

__all__ = ["ApiClient", "async_client"]

_JSON = (b"content-type", b"application/json")


class ApiClient(httpx.AsyncClient):
    """An `httpx.AsyncClient` with a lean path for JSON API calls (`post_json`)."""

    def __init__(self, timeout: float, max_connections: int) -> None:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=50)
        self._api_transport = AiohttpTransport(limits=limits)
        self._api_timeout = httpx.Timeout(timeout)
        super().__init__(timeout=self._api_timeout, transport=self._api_transport)

    async def post_json(
        self,
        url: httpx.URL,
        body: Any,
        *,
        headers: list[tuple[bytes, bytes]] | None = None,
        read_timeout: float | None = None,
    ) -> httpx.Response:
        """POST `body` as JSON (UTF-8, as httpx encodes it) and read the whole answer.

        `read_timeout` (seconds) replaces the client's timeout for this call (a long poll).
        Never follows a redirect and keeps no cookies. Transport failures and timeouts
        raise `httpx.HTTPError`s, as `post` does."""
        content = json.dumps(
            body, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode()
        limits = self._api_timeout if read_timeout is None else httpx.Timeout(read_timeout)
        request = httpx.Request(
            "POST",
            url,
            content=content,
            headers=[_JSON, *headers] if headers else [_JSON],
            extensions={"timeout": limits.as_dict()},
        )
        response = await self._api_transport.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response


def async_client(timeout: float, max_connections: int = 100) -> ApiClient:
    """An `ApiClient` on an aiohttp transport (keep-alive, at most `max_connections`
    connections)."""
    return ApiClient(timeout, max_connections)
