"""The web chat API: cookies, bad input, duplicates, long polling, shutdown."""

from __future__ import annotations

import asyncio
import time
import uuid

import aiohttp

from bot.channels.webchat import WebChatChannel
from bot.core.platform import Platform
from tests.harness import running_stack


def _jar() -> aiohttp.CookieJar:
    return aiohttp.CookieJar(unsafe=True)


async def test_without_the_page_cookie_nothing_is_accepted(database_url: str) -> None:
    async with running_stack(database_url) as stack, aiohttp.ClientSession() as session:
        body = {"id": str(uuid.uuid4()), "text": "/start"}
        async with session.post(stack.runtime.url + "/chat/api/send", json=body) as response:
            assert response.status == 403
        async with session.get(stack.runtime.url + "/chat/api/messages") as response:
            assert response.status == 403


async def test_bad_input_gets_a_clear_4xx(database_url: str) -> None:
    async with (
        running_stack(database_url) as stack,
        aiohttp.ClientSession(cookie_jar=_jar()) as session,
    ):
        base = stack.runtime.url
        await (await session.get(base + "/chat")).read()
        send = base + "/chat/api/send"
        cases: list[tuple[dict[str, object], int]] = [
            ({"data": b"not json", "headers": {"Content-Type": "application/json"}}, 400),
            ({"data": b"x=1"}, 415),
            ({"json": {"id": "not-a-uuid", "text": "hi"}}, 400),
            ({"json": {"id": str(uuid.uuid4()), "text": ""}}, 400),
            ({"json": {"id": str(uuid.uuid4()), "text": 5}}, 400),
            ({"json": {"id": str(uuid.uuid4()), "payload": "x" * 65}}, 400),
            ({"json": {"id": str(uuid.uuid4()), "text": "x" * 20_000}}, 413),
            ({"json": [1, 2]}, 400),
        ]
        for kwargs, status in cases:
            async with session.post(send, **kwargs) as response:  # type: ignore[arg-type]
                assert response.status == status, (kwargs, await response.text())
        cross_site = {"Origin": "https://evil.example"}
        body = {"id": str(uuid.uuid4()), "text": "/start"}
        async with session.post(send, json=body, headers=cross_site) as response:
            assert response.status == 403
        async with session.get(base + "/chat/api/messages?after=x") as response:
            assert response.status == 400


async def test_a_resent_message_is_handled_once(database_url: str) -> None:
    async with (
        running_stack(database_url) as stack,
        aiohttp.ClientSession(cookie_jar=_jar()) as session,
    ):
        base = stack.runtime.url
        await (await session.get(base + "/chat")).read()
        body = {"id": str(uuid.uuid4()), "text": "/start"}
        for expected_duplicate in (False, True):
            async with session.post(base + "/chat/api/send", json=body) as response:
                assert (await response.json())["duplicate"] is expected_duplicate
        await stack.runtime.outbox.flush()
        async with session.get(base + "/chat/api/messages") as response:
            assert len((await response.json())["messages"]) == 1


async def test_long_poll_wakes_on_a_reply_and_shutdown_is_prompt(database_url: str) -> None:
    async with (
        running_stack(database_url) as stack,
        aiohttp.ClientSession(cookie_jar=_jar()) as session,
    ):
        base = stack.runtime.url
        await (await session.get(base + "/chat")).read()
        poll = asyncio.create_task(session.get(base + "/chat/api/messages?after=0&wait=20"))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        body = {"id": str(uuid.uuid4()), "text": "/start"}
        await (await session.post(base + "/chat/api/send", json=body)).read()
        response = await poll
        assert len((await response.json())["messages"]) == 1
        assert time.monotonic() - started < 3
        # a poll still waiting when the server stops is answered at once
        waiting = asyncio.create_task(session.get(base + "/chat/api/messages?after=99&wait=20"))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        await stack.runtime.channel(Platform.WEB, WebChatChannel).close()
        assert (await (await waiting).json())["messages"] == []
        assert time.monotonic() - started < 3


async def test_cookie_is_httponly_strict_and_secure_behind_https(database_url: str) -> None:
    async with (
        running_stack(database_url, public_url="https://antq.example.vn") as stack,
        aiohttp.ClientSession() as session,
        session.get(stack.runtime.url + "/chat") as response,
    ):
        cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie
