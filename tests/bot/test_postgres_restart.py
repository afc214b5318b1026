"""PostgreSQL stopped for two seconds and started again in the middle of conversations:
updates that arrive while it is down are refused (Telegram redelivers them), and once it is
back every resident gets exactly the answers of a calm day, in order, with their
conversation state intact.

Stops and starts the local PostgreSQL server (as root, with pg_ctlcluster): only where the tests'
PostgreSQL is this machine's, as in `.ci/run`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.models import InboundUpdate
from tests.harness import MESSAGE_METHODS, Stack, running_stack

#: Onboarding by typing (language, a commune in free text, its confirmation), then the menu.
SCRIPT = ("/start", "1", "phuong quy nhon nam", "1", "2", "/help")
RESIDENTS = 16
#: Seconds a resident reads an answer before the next step: the conversations outlast the
#: restart.
READING = 0.8
#: Seconds PostgreSQL stays down.
DOWN = 2.0


def _restart_command() -> list[str] | None:
    clusters = Path("/etc/postgresql")
    if os.geteuid() != 0 or shutil.which("pg_ctlcluster") is None or not clusters.is_dir():
        return None
    versions = sorted(p.name for p in clusters.iterdir())
    if not versions:
        return None
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main"]


def _texts(stack: Stack, chat: int) -> list[str]:
    return [m.get("text") or "" for m in stack.fake.sent(chat) if m["method"] in MESSAGE_METHODS]


async def _play(stack: Stack, chat: int, replies: list[int] | None) -> list[int]:
    """The script, one step after the other's answer; returns how many messages each step got
    (given `replies`, waits for as many)."""
    counts = []
    for step, text in enumerate(SCRIPT):
        if replies is not None:
            await asyncio.sleep(READING)
        before = len(_texts(stack, chat))
        delivered = await stack.fake.inject_and_wait({"chat_id": chat, "text": text})
        assert delivered["status"] == 200, (chat, text, delivered)
        deadline = time.monotonic() + 60
        want = (replies[step] if replies else 1) + before
        while len(_texts(stack, chat)) < want:
            assert time.monotonic() < deadline, (chat, text, _texts(stack, chat))
            await asyncio.sleep(0.05)
        if replies is None:  # calm: let the step's last message arrive
            await stack.runtime.outbox.flush()
            await asyncio.sleep(0.3)
        counts.append(len(_texts(stack, chat)) - before)
    return counts


async def test_postgresql_restarted_mid_conversation(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL server to restart")
    command = _restart_command()
    host = make_url(database_url).host
    if command is None or host not in ("127.0.0.1", "localhost", "::1"):
        pytest.skip("the tests' PostgreSQL is not this machine's (run as root, like .ci/run)")
    chats = [9_100_000 + i for i in range(RESIDENTS + 1)]
    async with running_stack(database_url, known_chats=chats) as stack:
        # Telegram redelivers a refused update for a long time; the fake, for 30 s here
        stack.fake.webhook_max_attempts = 300
        stack.fake.webhook_retry_delay = 0.1
        calm_chat, *chats = chats
        replies = await _play(stack, calm_chat, None)
        calm = _texts(stack, calm_chat)

        async def pg(action: str) -> None:
            done = await asyncio.to_thread(
                subprocess.run, [*command, action], capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, done.stderr

        async def restart() -> float:
            await asyncio.sleep(1.0)  # the residents are a step or two in
            began = time.monotonic()
            try:
                await pg("stop")
                await asyncio.sleep(DOWN)
            finally:
                await pg("start")
            return time.monotonic() - began

        refused_before = stack.fake.stats()["webhook_failures"]
        began = time.monotonic()
        restarting = asyncio.create_task(restart())
        await asyncio.gather(*(_play(stack, chat, replies) for chat in chats))
        finished = time.monotonic() - began
        down = await restarting
        await asyncio.sleep(1.0)  # an answer sent twice would be here by now
        for chat in chats:
            assert _texts(stack, chat) == calm, chat
        async with stack.runtime.db.session() as session:
            recorded = (
                await session.execute(select(func.count()).select_from(InboundUpdate))
            ).scalar_one()
        assert recorded == len(SCRIPT) * (RESIDENTS + 1)
        refused = stack.fake.stats()["webhook_failures"] - refused_before
        assert refused > 0  # the restart did fall in the conversations
        print(
            f"\nPostgreSQL down and back in {down:.1f} s, {refused} webhook deliveries refused "
            f"meanwhile (redelivered); {RESIDENTS} conversations of {len(SCRIPT)} steps "
            f"({READING} s reading each answer) finished {finished:.1f} s after they began, "
            f"{finished - len(SCRIPT) * READING:.1f} s more than reading took"
        )
