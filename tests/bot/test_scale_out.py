"""Scale-out: two `antq run` processes on one database behind one address, as a deployment
behind a load balancer has them. Telegram (the fake) knows only the proxy's address; the proxy
sends each webhook to the next process in turn, and some to both at once (Telegram redelivering
to the other instance). Residents file tips through conversations whose every step lands on
the other process: no state is lost, every update is handled once, every reply is sent once.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import signal
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.db import Database
from bot.fakes.telegram import FakeTelegram
from tests.bot.test_tip_crash import _bot_env, _rows, _start_bot, _until
from tests.handlers.test_tip_intake import TIP_FLOW
from tests.harness import MESSAGE_METHODS, WEBHOOK_SECRET, button_data

RESIDENTS = 6
#: Every how many-th webhook the proxy sends to both processes at once.
BOTH_EVERY = 4


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class RoundRobinProxy:
    """One address in front of several instances (what nginx's upstream block does)."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.turn = itertools.count()
        self.sent_to: list[list[int]] = []  # per request: the instances it went to
        self.http: aiohttp.ClientSession | None = None
        self.runner: web.AppRunner | None = None

    async def start(self, port: int) -> str:
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.forward)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.close()
        if self.runner is not None:
            await self.runner.cleanup()

    async def _one(self, index: int, request: web.Request, body: bytes) -> web.Response:
        assert self.http is not None
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
        }
        async with self.http.request(
            request.method, self.backends[index] + request.path_qs, data=body, headers=headers
        ) as r:
            return web.Response(status=r.status, body=await r.read())

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        n = next(self.turn)
        if request.path.endswith("/webhook") and n % BOTH_EVERY == BOTH_EVERY - 1:
            chosen = list(range(len(self.backends)))  # a redelivery racing the first one
        else:
            chosen = [n % len(self.backends)]
        self.sent_to.append(chosen)
        answers = await asyncio.gather(*(self._one(i, request, body) for i in chosen))
        return answers[0]


def _text(message: dict[str, Any]) -> str:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return "\n".join([message.get("text") or "", *(f"[{b['text']}]" for r in rows for b in r)])


class Resident:
    """A Telegram user whose replies come from whichever process handled the update."""

    def __init__(self, fake: FakeTelegram, chat_id: int, logs: list[Path]) -> None:
        self.fake, self.chat_id, self.logs = fake, chat_id, logs
        self.seen = 0
        self.last: list[dict[str, Any]] = []

    def _messages(self) -> list[dict[str, Any]]:
        return [m for m in self.fake.sent(self.chat_id) if m["method"] in MESSAGE_METHODS]

    async def step(self, utterance: str, expected: str | Sequence[str]) -> None:
        if utterance.startswith("[") and utterance.endswith("]"):
            update = {
                "chat_id": self.chat_id,
                "callback_data": button_data(self.last, utterance[1:-1]),
            }
        else:
            update = {"chat_id": self.chat_id, "text": utterance}
        delivered = await self.fake.inject_and_wait(update)
        assert delivered["status"] == 200, (utterance, delivered)
        fragments = [expected] if isinstance(expected, str) else list(expected)

        async def answered() -> bool:
            text = "\n".join(_text(m) for m in self._messages()[self.seen :])
            return all(f in text for f in fragments)

        await _until(answered, 20, f"{self.chat_id}: an answer to {utterance!r}", self.logs)
        new = self._messages()[self.seen :]
        self.seen += len(new)
        self.last = new


async def test_two_processes_behind_one_address(database_url: str, tmp_path: Path) -> None:
    fake = FakeTelegram()
    fake_url = await fake.start("127.0.0.1", 0)
    proxy_port, *ports = _free_ports(3)
    proxy = RoundRobinProxy([f"http://127.0.0.1:{p}" for p in ports])
    public = await proxy.start(proxy_port)
    db = Database(database_url)
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    bots: list[subprocess.Popen[bytes]] = []
    try:
        for port, log in zip(ports, logs, strict=True):
            env = _bot_env(database_url, fake, fake_url, tmp_path)
            env.update(
                {
                    "TELEGRAM_MODE": "webhook",
                    "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
                    "PUBLIC_URL": public,
                    "PORT": str(port),
                }
            )
            bots.append(_start_bot(env, log))

        async def both_up() -> bool:
            try:
                async with aiohttp.ClientSession() as http:
                    for port in ports:
                        async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                            if r.status != 200:
                                return False
            except aiohttp.ClientError:
                return False
            return fake.webhook_info()["url"] == public + "/telegram/webhook"

        await _until(both_up, 60, "both processes up, the webhook on the proxy", logs)
        residents = [Resident(fake, 880_000 + n, logs) for n in range(RESIDENTS)]
        for resident in residents:
            fake.add_chat(resident.chat_id)

        async def converse(resident: Resident) -> None:
            for utterance, expected in TIP_FLOW:
                await resident.step(utterance, expected)

        await asyncio.gather(*(converse(r) for r in residents))
        # every resident's tip, once; each code shown to its resident once
        await asyncio.sleep(1.0)  # a reply sent twice would arrive by now
        codes = []
        counts = set()
        for resident in residents:
            texts = [_text(m) for m in resident._messages()]
            found = [c for t in texts for c in re.findall(r"\bTG-[0-9A-Z]{6}\b", t)]
            assert len(found) == 1, (resident.chat_id, found)
            codes += found
            # no reply sent twice, though every fourth update reached both processes
            assert all(a != b for a, b in itertools.pairwise(texts)), texts
            counts.add(len(texts))
        assert len(counts) == 1, counts  # every resident got as many messages as the others
        [(tips,)] = await _rows(db, "SELECT count(*) FROM tip")
        assert tips == RESIDENTS and len(set(codes)) == RESIDENTS
        stored = {row[0] for row in await _rows(db, "SELECT code FROM tip")}
        assert stored == set(codes)
        # every update recorded once, though some reached both processes
        [(updates,)] = await _rows(db, "SELECT count(*) FROM inbound_update")
        assert updates == RESIDENTS * len(TIP_FLOW)
        doubled = sum(1 for chosen in proxy.sent_to if len(chosen) == 2)
        assert doubled >= RESIDENTS * len(TIP_FLOW) // BOTH_EVERY - 1
        # both processes took part in every conversation
        served = [sum(1 for chosen in proxy.sent_to if i in chosen) for i in range(2)]
        assert min(served) >= RESIDENTS * len(TIP_FLOW) // 3, served
    finally:
        for bot in bots:
            bot.send_signal(signal.SIGTERM)
        codes_out = [await asyncio.to_thread(bot.wait, 60) for bot in bots]
        await proxy.stop()
        await db.dispose()
        await fake.stop()
    tails = [log.read_text(errors="replace")[-3000:] for log in logs]
    assert codes_out == [0, 0], f"exit codes {codes_out}:\n" + "\n---\n".join(tails)
    for log in logs:
        assert "Traceback" not in log.read_text(errors="replace")
