"""Our own async client for the Zalo Bot Platform API (one httpx.AsyncClient, reused).

The token sits in the URL path, so no URL is ever put into a log line or an error message
(httpx's own request logging is kept at WARNING by `bot.logging_setup`).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from bot.channels.http import async_client
from bot.core.download import fetch_capped

__all__ = ["DEFAULT_BASE_URL", "ZaloBotClient", "ZaloBotError"]

log = logging.getLogger(__name__)
DEFAULT_BASE_URL = "https://bot-api.zaloplatforms.com"
#: Extra seconds the HTTP client waits beyond Zalo's own long-poll timeout.
POLL_MARGIN = 10.0


class ZaloBotError(Exception):
    """`ok: false` from the API (also on HTTP 200), or a transport failure (`code` 0)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"Zalo Bot API error {code}: {description}")
        self.code = code
        self.description = description


class ZaloBotClient:
    def __init__(self, token: str, base_url: str = DEFAULT_BASE_URL, timeout: float = 15.0) -> None:
        self._prefix = f"{base_url.rstrip('/')}/bot{token}/"
        self._http = async_client(timeout)
        #: Each method's URL parsed once: httpx parses a string URL on every request.
        self._urls: dict[str, httpx.URL] = {}

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        read_timeout: float | None = None,
    ) -> Any:
        """POST JSON to `method`; the `result`, or ZaloBotError (never with the URL in it)."""
        try:
            url = self._urls.get(method)
            if url is None:
                url = self._urls[method] = httpx.URL(self._prefix + method)
            response = await self._http.post_json(url, params or {}, read_timeout=read_timeout)
        except httpx.TimeoutException as exc:
            raise ZaloBotError(0, f"timeout ({exc.__class__.__name__})") from None
        except httpx.HTTPError as exc:
            raise ZaloBotError(0, f"network error ({exc.__class__.__name__})") from None
        try:
            body = response.json()
        except ValueError:
            raise ZaloBotError(response.status_code, "response is not JSON") from None
        if not isinstance(body, dict):
            raise ZaloBotError(response.status_code, "response is not a JSON object")
        if body.get("ok") is not True:
            code = body.get("error_code")
            raise ZaloBotError(
                code if isinstance(code, int) else response.status_code,
                str(body.get("description") or "unknown error")[:200],
            )
        return body.get("result")

    async def get_me(self) -> dict[str, Any]:
        return dict(await self.call("getMe"))

    async def get_update(self, wait_seconds: int = 30) -> dict[str, Any] | None:
        """One update, or None when the long poll ended empty (HTTP 408)."""
        try:
            result = await self.call(
                "getUpdates",
                {"timeout": str(wait_seconds)},
                read_timeout=wait_seconds + POLL_MARGIN,
            )
        except ZaloBotError as exc:
            if exc.code == 408:
                return None
            raise
        return result if isinstance(result, dict) else None

    async def set_webhook(self, url: str, secret_token: str) -> Any:
        return await self.call("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> Any:
        return await self.call("deleteWebhook")

    async def get_webhook_info(self) -> dict[str, Any] | None:
        try:
            return dict(await self.call("getWebhookInfo"))
        except ZaloBotError as exc:
            if exc.code == 404:  # observed: no webhook set
                return None
            raise

    async def send_message(self, chat_id: str, text: str) -> Any:
        # No parse_mode: the text may carry what residents typed.
        return await self.call("sendMessage", {"chat_id": chat_id, "text": text})

    async def send_photo(self, chat_id: str, photo_url: str, caption: str = "") -> Any:
        params = {"chat_id": chat_id, "photo": photo_url}
        if caption:
            params["caption"] = caption
        return await self.call("sendPhoto", params)

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> Any:
        return await self.call("sendChatAction", {"chat_id": chat_id, "action": action})

    async def download(self, url: str, max_bytes: int) -> bytes:
        """An image a resident sent (`photo_url`, on Zalo's CDN), at most `max_bytes`."""
        return await fetch_capped(self._http, url, max_bytes)
