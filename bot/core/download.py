"""Fetching a file a resident sent from a platform's CDN URL, never more than a byte limit."""

from __future__ import annotations

import httpx

from bot.core.channel import DownloadError, DownloadTooLarge

__all__ = ["fetch_capped"]


async def fetch_capped(http: httpx.AsyncClient, url: str, max_bytes: int) -> bytes:
    """GET `url` and return its body; `DownloadTooLarge` as soon as it passes `max_bytes`.

    The announced Content-Length refuses early, and the stream is cut off anyway when the
    announcement was missing or wrong. Errors never carry the URL (it may hold a token).
    """
    if not url.startswith(("https://", "http://")):
        raise DownloadError("not an http(s) URL")
    try:
        async with http.stream("GET", url) as response:
            if response.status_code != 200:
                raise DownloadError(f"HTTP {response.status_code}")
            announced = response.headers.get("content-length", "")
            if announced.isdigit() and int(announced) > max_bytes:
                raise DownloadTooLarge(f"{announced} bytes announced")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise DownloadTooLarge(f"more than {max_bytes} bytes")
            return bytes(body)
    except httpx.HTTPError as exc:
        raise DownloadError(f"network error ({exc.__class__.__name__})") from None
