"""The Zalo clients' HTTP client: JSON calls straight through the aiohttp transport."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from bot.channels.http import async_client


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback API that records what it got and answers by path."""
    seen: list[dict[str, Any]] = []

    async def answer(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        seen.append({"path": request.path, "headers": dict(request.headers), "raw": raw})
        if request.path == "/moved":
            raise web.HTTPFound("/elsewhere")
        if request.path == "/slow":
            await asyncio.sleep(2)
        response = web.json_response({"ok": True, "echo": json.loads(raw)})
        if request.path == "/cookie":
            response.set_cookie("session", "abc")
        return response

    app = web.Application()
    app.router.add_route("*", "/{name}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


async def test_post_json_sends_utf8_json_with_the_headers(
    server: tuple[str, list[dict[str, Any]]],
) -> None:
    base, seen = server
    body = {"text": "Xin chào 👋 Gia Lai", "n": 1}
    async with async_client(5.0) as http:
        response = await http.post_json(
            httpx.URL(base + "/send"), body, headers=[(b"access_token", b"tok-1")]
        )
    assert response.status_code == 200
    assert response.json() == {"ok": True, "echo": body}
    [got] = seen
    assert got["headers"]["Content-Type"] == "application/json"
    assert got["headers"]["access_token"] == "tok-1"
    # as httpx's own `json=` encodes it: compact, and the text as UTF-8, not \\u escapes
    assert got["raw"] == json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


async def test_post_json_follows_no_redirect_and_keeps_no_cookie(
    server: tuple[str, list[dict[str, Any]]],
) -> None:
    base, seen = server
    async with async_client(5.0) as http:
        moved = await http.post_json(httpx.URL(base + "/moved"), {})
        await http.post_json(httpx.URL(base + "/cookie"), {})
        await http.post_json(httpx.URL(base + "/send"), {})
        assert len(http.cookies) == 0
    assert moved.status_code == 302
    assert [s["path"] for s in seen] == ["/moved", "/cookie", "/send"]
    assert "Cookie" not in seen[-1]["headers"]


async def test_post_json_read_timeout_raises_an_httpx_timeout(
    server: tuple[str, list[dict[str, Any]]],
) -> None:
    base, _ = server
    async with async_client(5.0) as http:
        with pytest.raises(httpx.TimeoutException):
            await http.post_json(httpx.URL(base + "/slow"), {}, read_timeout=0.2)
        # the client is still usable afterwards
        response = await http.post_json(httpx.URL(base + "/send"), {"a": 1})
        assert response.json()["echo"] == {"a": 1}


async def test_post_json_unreachable_raises_an_httpx_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with async_client(5.0) as http:
        with pytest.raises(httpx.HTTPError):
            await http.post_json(httpx.URL(f"http://127.0.0.1:{port}/send"), {})


async def test_post_json_refuses_nan() -> None:
    async with async_client(5.0) as http:
        with pytest.raises(ValueError):
            await http.post_json(httpx.URL("http://127.0.0.1:9/send"), {"x": float("nan")})
