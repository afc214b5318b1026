"""Our own async client for the Zalo OA Open API v3 (consultation messages)."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from bot.channels.http import ApiClient
from bot.channels.zalo_oa._tokens import TokenStore
from bot.core.pacing import Pacer

__all__ = ["ZaloOAClient", "ZaloOAError"]

log = logging.getLogger(__name__)
TOKEN_ERRORS = frozenset({-216, -220})
#: "Exceeded the request limit".
RATE_LIMITED = -32


class ZaloOAError(Exception):
    """`error != 0` (Zalo answers errors with HTTP 200), or a transport failure (code 0)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"Zalo OA error {code}: {message}")
        self.code, self.message = code, message


class ZaloOAClient:
    def __init__(
        self, http: ApiClient, api_base: str, tokens: TokenStore, per_minute: int = 4000
    ) -> None:
        self.http, self.tokens = http, tokens
        self.base = api_base.rstrip("/")
        #: Each path's URL parsed once: httpx parses a string URL on every request.
        self._urls: dict[str, httpx.URL] = {}
        # Zalo: 4,000 requests per minute per app, spread evenly.
        self.limiter = Pacer(per_minute / 60)

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        await self.limiter.wait()
        token = self.tokens.access_token
        data = await self._request(path, body, token)
        code = int(data.get("error", 0) or 0)
        if code in TOKEN_ERRORS:
            # expired or revoked: renew once (single-flight) and retry once
            token = await self.tokens.refresh(spent=token)
            data = await self._request(path, body, token)
            code = int(data.get("error", 0) or 0)
        if code != 0:
            raise ZaloOAError(code, str(data.get("message") or "")[:200])
        result = data.get("data")
        return result if isinstance(result, dict) else {}

    async def _request(self, path: str, body: dict[str, Any], token: str) -> dict[str, Any]:
        try:
            url = self._urls.get(path)
            if url is None:
                url = self._urls[path] = httpx.URL(self.base + path)
            response = await self.http.post_json(
                url, body, headers=[(b"access_token", token.encode())]
            )
            if response.status_code == 429:  # a gateway's rate limit: as Zalo's own
                raise ZaloOAError(RATE_LIMITED, "HTTP 429")
            data = response.json()
        except httpx.HTTPError as exc:
            raise ZaloOAError(0, f"network error ({exc.__class__.__name__})") from None
        except ValueError:
            raise ZaloOAError(0, "response is not JSON") from None
        if not isinstance(data, dict):
            raise ZaloOAError(0, "response is not a JSON object")
        if not response.is_success:
            # Zalo answers its errors with HTTP 200 and an error code; any other status came
            # from something in between, and nothing says the message went out
            raise ZaloOAError(0, f"HTTP {response.status_code}")
        return data

    async def send_cs(self, user_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """A consultation message ("tin tư vấn") to a follower."""
        return await self._post(
            "/v3.0/oa/message/cs", {"recipient": {"user_id": user_id}, "message": message}
        )
