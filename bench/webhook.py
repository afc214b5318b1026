"""Webhook-to-reply throughput: ANTQ Connect against bare python-telegram-bot and aiogram echo bots.

Topology (2 cores): the parent process runs the fake Telegram Bot API server
(`bot.fakes.telegram.FakeTelegram`) and the load driver on one event loop; each bot under test
runs alone in a child process (one at a time, so each gets a core of its own). Everything talks
real HTTP over loopback:

    driver --inject()--> fake --POST webhook (<= 40 at once)--> bot --sendMessage--> fake

Each simulated resident types a short, realistic dialogue (commands, menu numbers, free text,
a commune name); every step gets at least one reply. All bots receive the same updates. See
bench/README.md for what is measured and how to read it.

    python bench/webhook.py                      # SQLite, 3000 updates per bot
    python bench/webhook.py --postgres postgresql://postgres@127.0.0.1:5432/postgres

Progress goes to stderr; the last line on stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SECRET = "bench-webhook-secret_0123456789"
HOST = "127.0.0.1"
WEBHOOK_PATH = "/webhook"
BOTS = ("ptb", "aiogram", "ours")
LOOPS = ("uvloop", "asyncio")

#: What residents type, one script per kind of resident; every step is a plain text message
#: (button presses need the previous reply to exist, and the echo bots do not answer them;
#: typed menu numbers take the same path through our core as a pressed button's payload).
SCRIPTS: tuple[tuple[str, ...], ...] = (
    # Vietnamese, commune confirmed, hotlines, help
    ("/start", "1", "phuong quy nhon nam", "1", "2", "/help"),
    # English, commune skipped, festival, menu, a hotline intent in free text
    ("xin chào", "2", "1", "3", "/menu", "hotline"),
    # an old district: pick among candidates, then the legal library and a topic
    ("/start", "1", "huyện Tuy Phước", "1", "1", "2"),
    # feedback written to the database
    ("/start", "1", "an nhon", "1", "5", "Đèn đường ở thôn 3 bị hỏng đã lâu, đề nghị sửa giúp"),
)
STEPS = len(SCRIPTS[0])
assert all(len(script) == STEPS for script in SCRIPTS)

CALIBRATION_CHAT = 1_000_000
WARMUP_CHAT = 2_000_000
MEASURE_CHAT = 3_000_000
CHATS_PER_RUN = 100_000
INJECT_BATCH = 200
SCRIPT = Path(__file__).resolve()


def log(message: str) -> None:
    print(f"[webhook-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ================================================================================== children


async def _wait_for_stop() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _ready(url: str) -> None:
    print(f"READY {url}", flush=True)


async def child_ours(args: argparse.Namespace) -> None:
    """The full ANTQ Connect pipeline: `Runtime` with its aiohttp webhook and database."""
    from bot.channels.telegram import TelegramChannel
    from bot.core.platform import Platform
    from bot.logging_setup import configure_logging
    from bot.runtime import TELEGRAM_WEBHOOK_PATH, Runtime
    from bot.settings import Settings

    configure_logging("INFO")
    values: dict[str, Any] = {  # as tests/harness.py::make_settings
        "database_url": args.database_url,
        "host": HOST,
        "port": 0,
        "telegram_mode": "webhook",
        "telegram_token": args.token,
        "telegram_api_base": args.fake_url,
        "telegram_webhook_secret": SECRET,
        "public_url": "",
        "province_police_phone": "069 3822 113",
    }
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    runtime = Runtime(settings)
    await runtime.start()
    url = runtime.url + TELEGRAM_WEBHOOK_PATH
    await runtime.channel(Platform.TELEGRAM, TelegramChannel).bot.set_webhook(
        url, secret_token=SECRET, max_connections=args.max_connections
    )
    _ready(url)
    try:
        await _wait_for_stop()
    finally:
        await runtime.stop()


async def child_ptb(args: argparse.Namespace) -> None:
    """A bare python-telegram-bot v22 echo bot.

    Server "aiohttp" (default): PTB's documented custom-webhook pattern, an aiohttp route that
    puts `Update.de_json(...)` on `application.update_queue` and answers 200 at once. Server
    "tornado": PTB's own `Updater.start_webhook` (what `run_webhook` runs), which needs
    `python-telegram-bot[webhooks]`. Updates are processed `--ptb-concurrency` at a time.
    """
    from aiohttp import web
    from telegram import Update
    from telegram.ext import Application, ContextTypes, MessageHandler, filters

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is not None and message.text:
            await message.reply_text(message.text)

    builder = (
        Application.builder()
        .token(args.token)
        .base_url(args.fake_url + "/bot")
        .base_file_url(args.fake_url + "/file/bot")
        .concurrent_updates(args.ptb_concurrency[0])
    )
    if args.ptb_server == "aiohttp":
        builder = builder.updater(None)
    application = builder.build()
    application.add_handler(MessageHandler(filters.TEXT, echo))

    async with application:
        if args.ptb_server == "tornado":
            assert application.updater is not None
            port = _free_port()
            url = f"http://{HOST}:{port}{WEBHOOK_PATH}"
            await application.updater.start_webhook(
                listen=HOST,
                port=port,
                url_path=WEBHOOK_PATH.lstrip("/"),
                webhook_url=url,
                secret_token=SECRET,
                max_connections=args.max_connections,
            )
            await application.start()
            _ready(url)
            try:
                await _wait_for_stop()
            finally:
                await application.updater.stop()
                await application.stop()
            return

        async def webhook(request: web.Request) -> web.Response:
            if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != SECRET:
                return web.Response(status=403)
            data = await request.json()
            await application.update_queue.put(Update.de_json(data, application.bot))
            return web.Response()

        app = web.Application()
        app.router.add_post(WEBHOOK_PATH, webhook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, HOST, 0).start()
        url = f"http://{HOST}:{runner.addresses[0][1]}{WEBHOOK_PATH}"
        await application.bot.set_webhook(
            url, secret_token=SECRET, max_connections=args.max_connections
        )
        await application.start()
        _ready(url)
        try:
            await _wait_for_stop()
        finally:
            await runner.cleanup()
            await application.stop()


async def child_aiogram(args: argparse.Namespace) -> None:
    """A bare aiogram 3 echo bot behind its own aiohttp webhook (`SimpleRequestHandler`,
    default `handle_in_background=True`: it answers 200 at once and handles the update in a
    task)."""
    from aiogram import Bot, Dispatcher, F
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
    from aiohttp import web

    bot = Bot(args.token, session=AiohttpSession(api=TelegramAPIServer.from_base(args.fake_url)))
    dispatcher = Dispatcher()

    @dispatcher.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    app = web.Application()
    SimpleRequestHandler(dispatcher=dispatcher, bot=bot, secret_token=SECRET).register(
        app, path=WEBHOOK_PATH
    )
    setup_application(app, dispatcher, bot=bot)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, HOST, 0).start()
    url = f"http://{HOST}:{runner.addresses[0][1]}{WEBHOOK_PATH}"
    await bot.set_webhook(url, secret_token=SECRET, max_connections=args.max_connections)
    _ready(url)
    try:
        await _wait_for_stop()
    finally:
        await runner.cleanup()
        await bot.session.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def add_loop_options(parser: argparse.ArgumentParser) -> None:
    """Which event loop each bot process runs on (and the internal option that tells it)."""
    parser.add_argument(
        "--ours-loop",
        choices=LOOPS,
        default="uvloop",
        help="our process's event loop (default uvloop, as `antq run` with EVENT_LOOP unset)",
    )
    parser.add_argument(
        "--echo-loop",
        choices=LOOPS,
        default="asyncio",
        help="the echo bots' event loop (default asyncio, as their documentation runs them)",
    )
    parser.add_argument("--loop", choices=LOOPS, default="asyncio", help=argparse.SUPPRESS)


def run_child(args: argparse.Namespace) -> None:
    entry = {"ours": child_ours, "ptb": child_ptb, "aiogram": child_aiogram}[args.child]
    if args.prelude:
        import runpy

        runpy.run_path(args.prelude, init_globals={"BOT_KIND": args.child})
    if args.child == "ours" and not args.database_url.startswith("sqlite"):
        from bot.migrate import upgrade

        upgrade(args.database_url)
    if args.child == "ours":
        from bot.cli import run_loop  # as `antq run`

        run_loop(entry(args), args.loop)
    elif args.loop == "uvloop":  # the echo bots import nothing of ours (their RSS is theirs)
        import uvloop

        uvloop.run(entry(args))
    else:
        asyncio.run(entry(args))


# ================================================================================== the fake

_CURRENT_UPDATE: contextvars.ContextVar[int] = contextvars.ContextVar("bench_update_id")


def timed_fake(max_attempts: int) -> Any:
    """A FakeTelegram that also notes, by `time.perf_counter()`, when each webhook POST got
    its connection slot and when each sent record arrived (for latencies). It hooks two
    private methods; if they change, latencies are reported as null and throughput still works.
    """
    from bot.fakes.telegram import FakeTelegram

    class TimedFake(FakeTelegram):
        def __init__(self) -> None:
            super().__init__(webhook_max_attempts=max_attempts)
            self.record_times: list[float] = []
            self.post_started: dict[int, float] = {}

        def _record(self, chat: Any, record: dict[str, Any]) -> None:
            super()._record(chat, record)
            self.record_times.append(time.perf_counter())

        async def _post_update(self, hook: Any, update: dict[str, Any], body: bytes) -> Any:
            _CURRENT_UPDATE.set(int(update["update_id"]))
            return await super()._post_update(hook, update, body)

    return TimedFake()


class TimedSemaphore(asyncio.Semaphore):
    """The webhook's connection semaphore, noting when each update's POST may start."""

    def __init__(self, value: int, started: dict[int, float]) -> None:
        super().__init__(value)
        self.started = started

    async def __aenter__(self) -> None:
        await self.acquire()
        update_id = _CURRENT_UPDATE.get(None)
        if update_id is not None:
            self.started[update_id] = time.perf_counter()


def install_timing(fake: Any) -> bool:
    hook = getattr(fake, "_webhook", None)
    if hook is None or not hasattr(hook, "semaphore") or not hasattr(fake, "record_times"):
        return False
    hook.semaphore = TimedSemaphore(hook.max_connections, fake.post_started)
    return True


# ================================================================================== driver


@dataclass
class Target:
    name: str  # key prefix in the JSON: ours_sqlite, ours_postgres, ptb_echo, aiogram_echo
    kind: str  # ours | ptb | aiogram
    database_url: str = ""
    ptb_concurrency: int = 1


@dataclass
class LoadResult:
    updates: int
    expected_replies: int
    replies: int = 0
    seconds: float = 0.0
    ups: float = 0.0
    p50_ms: float | None = None
    p99_ms: float | None = None
    bot_cpu_pct: float | None = None
    bot_cpu_ms_per_update: float | None = None
    fake_cpu_pct: float | None = None
    other_cpu_pct: float | None = None
    missing: int = 0
    unexpected: int = 0
    webhook_failures: int = 0
    errors: list[str] = field(default_factory=list)
    all_ups: list[float] = field(default_factory=list)
    #: The bot process's peak resident memory since it started (Linux's VmHWM), in MB.
    peak_rss_mb: float | None = None

    def summary(self) -> str:
        text = (
            f"{self.ups} updates/s ({self.updates} updates, {self.replies} replies in "
            f"{self.seconds:.2f}s), latency p50 {self.p50_ms} ms p99 {self.p99_ms} ms, CPU: bot "
            f"{self.bot_cpu_pct}% ({self.bot_cpu_ms_per_update} ms/update), fake+driver "
            f"{self.fake_cpu_pct}%, other processes {self.other_cpu_pct}%, peak RSS "
            f"{self.peak_rss_mb} MB"
        )
        return text + ("" if self.ok else f"; ERRORS: {'; '.join(self.errors)}")

    @property
    def ok(self) -> bool:
        return not self.errors


def make_plan(updates: int, users: int, first_chat: int) -> list[tuple[int, int, int]]:
    """(chat id, script, step) in rounds: every resident's step 1, then every step 2, …

    With hundreds of residents and 40 webhook connections, a resident's next message is
    delivered long after the previous one was answered, as when people read before typing.
    """
    plan = [
        (first_chat + user, user % len(SCRIPTS), step)
        for step in range(STEPS)
        for user in range(users)
    ]
    return plan[:updates]


def _peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident set size since it started (VmHWM), in MB (Linux)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def _cpu(pid: int | None) -> float | None:
    try:
        import psutil
    except ImportError:
        return None
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return float(times.user + times.system)


def _system_busy() -> float | None:
    """CPU seconds all processes of the machine have used (to spot other load)."""
    try:
        import psutil
    except ImportError:
        return None
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return round(ordered[index] * 1000, 2)


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir

    # --- child process -----------------------------------------------------------------
    async def spawn(self, target: Target, fake: Any) -> tuple[asyncio.subprocess.Process, Path]:
        errlog = self.workdir / f"{target.name}.log"
        command = [
            sys.executable,
            str(SCRIPT),
            "--child",
            target.kind,
            "--fake-url",
            fake.url,
            "--token",
            fake.token,
            "--database-url",
            target.database_url,
            "--max-connections",
            str(self.args.max_connections),
            "--ptb-concurrency",
            str(target.ptb_concurrency),
            "--ptb-server",
            self.args.ptb_server,
            "--loop",
            self.args.ours_loop if target.kind == "ours" else self.args.echo_loop,
        ]
        if self.args.prelude:
            command += ["--prelude", self.args.prelude]
        proc, url = await self.start_child(target.name, command, errlog)
        log(f"{target.name}: bot up (pid {proc.pid}), webhook {url}")
        return proc, errlog

    async def start_child(
        self, name: str, command: list[str], errlog: Path
    ) -> tuple[asyncio.subprocess.Process, str]:
        """Start a bot process (stderr to `errlog`) and wait for its "READY <url>" line."""
        with errlog.open("wb") as err:
            proc = await asyncio.create_subprocess_exec(
                *command,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
                stdin=asyncio.subprocess.DEVNULL,
            )
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), timeout=90)
        except TimeoutError:
            line = b""
        if not line.startswith(b"READY "):
            await self.terminate(proc)
            raise RuntimeError(f"{name} did not start:\n{self.tail(errlog)}")
        return proc, line.decode().split()[1]

    async def terminate(self, proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), timeout=20)
            except TimeoutError:
                proc.kill()
                await proc.wait()

    @staticmethod
    def tail(path: Path, lines: int = 30) -> str:
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # --- phases ------------------------------------------------------------------------
    async def calibrate(self, fake: Any) -> list[list[list[str]]]:
        """Play each script once, one step at a time; what each step answers (texts) is what
        every resident with that script must get under load."""

        async def play(script: int) -> list[list[str]]:
            chat = CALIBRATION_CHAT + script
            answers: list[list[str]] = []
            for text in SCRIPTS[script]:
                before = len(fake.sent(chat))
                fake.inject(self.update(chat, text))
                await fake.wait_sent(chat, count=before + 1, timeout=30)
                await asyncio.sleep(self.args.settle)  # more messages for this step?
                records = fake.sent(chat)[before:]
                texts = [r.get("text") or "" for r in records if r["method"] == "sendMessage"]
                answers.append(texts)
            return answers

        return list(await asyncio.gather(*(play(i) for i in range(len(SCRIPTS)))))

    @staticmethod
    def update(chat: int, text: str) -> dict[str, Any]:
        return {"chat_id": chat, "text": text, "first_name": f"Dân {chat}", "language_code": "vi"}

    async def load(
        self,
        label: str,
        fake: Any,
        pid: int,
        plan: list[tuple[int, int, int]],
        expected: list[list[list[str]]],
        timed: bool,
        ordered: bool,
    ) -> LoadResult:
        total = sum(len(expected[script][step]) for _chat, script, step in plan)
        result = LoadResult(updates=len(plan), expected_replies=total)
        seq0 = fake.last_seq()
        failures0 = fake.stats().get("webhook_failures", 0)
        bot_cpu0, fake_cpu0, busy0 = _cpu(pid), _cpu(None), _system_busy()
        log(f"{label}: injecting {len(plan)} updates, waiting for {total} replies")
        t0 = time.perf_counter()
        update_ids: list[int] = []
        progress = asyncio.create_task(self.progress(label, fake, seq0, total, t0))
        try:
            if self.args.rate:  # paced: update i is injected at t0 + i / rate
                for i, (chat, script, step) in enumerate(plan):
                    delay = t0 + i / self.args.rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    update_ids.append(fake.inject(self.update(chat, SCRIPTS[script][step])))
            else:
                for start in range(0, len(plan), INJECT_BATCH):
                    for chat, script, step in plan[start : start + INJECT_BATCH]:
                        update_ids.append(fake.inject(self.update(chat, SCRIPTS[script][step])))
                    await asyncio.sleep(0)
            try:
                await fake.wait_sent(None, count=total, timeout=self.args.timeout, since=seq0)
            except TimeoutError:
                result.errors.append(f"timed out after {self.args.timeout}s")
        finally:
            progress.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await progress
        arrived = fake.last_seq() - seq0
        record_times: list[float] = getattr(fake, "record_times", [])
        if arrived >= total and len(record_times) >= seq0 + total:
            t_end = record_times[seq0 + total - 1]
        else:
            t_end = time.perf_counter()
        bot_cpu1, fake_cpu1, busy1 = _cpu(pid), _cpu(None), _system_busy()
        await asyncio.sleep(self.args.settle)  # anything beyond what was expected?
        result.seconds = t_end - t0
        result.ups = round(len(plan) / result.seconds, 1) if result.seconds > 0 else 0.0
        if bot_cpu0 is not None and bot_cpu1 is not None:
            result.bot_cpu_pct = round(100 * (bot_cpu1 - bot_cpu0) / result.seconds, 1)
            result.bot_cpu_ms_per_update = round(1000 * (bot_cpu1 - bot_cpu0) / len(plan), 2)
        if fake_cpu0 is not None and fake_cpu1 is not None:
            result.fake_cpu_pct = round(100 * (fake_cpu1 - fake_cpu0) / result.seconds, 1)
        if None not in (bot_cpu0, bot_cpu1, fake_cpu0, fake_cpu1, busy0, busy1):
            own = (bot_cpu1 or 0) - (bot_cpu0 or 0) + (fake_cpu1 or 0) - (fake_cpu0 or 0)
            other = (busy1 or 0) - (busy0 or 0) - own
            result.other_cpu_pct = round(max(0.0, 100 * other / result.seconds), 1)
        result.webhook_failures = fake.stats().get("webhook_failures", 0) - failures0
        result.peak_rss_mb = _peak_rss_mb(pid)
        self.verify(fake, result, plan, update_ids, expected, seq0, timed, ordered)
        return result

    async def progress(self, label: str, fake: Any, seq0: int, total: int, t0: float) -> None:
        while True:
            await asyncio.sleep(self.args.progress_every)
            done = fake.last_seq() - seq0
            elapsed = time.perf_counter() - t0
            stats = fake.stats()
            log(
                f"{label}: {done}/{total} replies in {elapsed:.1f}s "
                f"({done / elapsed:.0f} replies/s), webhook deliveries {stats['updates_delivered']}"
                f", failures {stats['webhook_failures']}"
            )

    def verify(
        self,
        fake: Any,
        result: LoadResult,
        plan: list[tuple[int, int, int]],
        update_ids: list[int],
        expected: list[list[list[str]]],
        seq0: int,
        timed: bool,
        ordered: bool,
    ) -> None:
        """Every step of every resident got its replies, with the texts calibration saw."""
        steps_of: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
        for (chat, script, step), update_id in zip(plan, update_ids, strict=True):
            steps_of[chat].append((script, step, update_id))
        record_times: list[float] = getattr(fake, "record_times", [])
        latencies: list[float] = []
        received = 0
        for chat, steps in steps_of.items():
            records = [r for r in fake.sent(chat, since=seq0) if r.get("method") == "sendMessage"]
            received += len(records)
            want = [text for script, step, _ in steps for text in expected[script][step]]
            got = [r.get("text") or "" for r in records]
            result.missing += max(0, len(want) - len(got))
            if not ordered:
                # The echo bots answer the webhook before handling the update, so one chat's
                # replies may overtake each other: compare them as multisets.
                want, got = sorted(want), sorted(got)
            result.unexpected += sum(1 for w, g in zip(want, got, strict=False) if w != g)
            result.unexpected += max(0, len(got) - len(want))
            if not timed:
                continue
            cursor = 0
            for script, step, update_id in steps:
                cursor += len(expected[script][step])
                started = fake.post_started.get(update_id)
                if cursor <= len(records) and started is not None:
                    seq = records[cursor - 1]["seq"]
                    if seq <= len(record_times):
                        latencies.append(record_times[seq - 1] - started)
        result.replies = received
        if result.missing:
            result.errors.append(f"{result.missing} expected replies never arrived")
        if result.unexpected:
            result.errors.append(f"{result.unexpected} replies differ from the calibration run")
        if result.webhook_failures:
            result.errors.append(f"{result.webhook_failures} failed webhook deliveries")
        result.p50_ms = _percentile(latencies, 0.50)
        result.p99_ms = _percentile(latencies, 0.99)

    # --- one bot -----------------------------------------------------------------------
    async def run_target(self, target: Target) -> LoadResult:
        fake = timed_fake(max_attempts=self.args.webhook_attempts)
        await fake.start(HOST, 0)
        proc: asyncio.subprocess.Process | None = None
        profiler: asyncio.subprocess.Process | None = None
        errlog = self.workdir / f"{target.name}.log"
        try:
            proc, errlog = await self.spawn(target, fake)
            timed = install_timing(fake)
            ordered = target.kind == "ours"  # the outbox keeps each chat's replies in order
            if not timed:
                log("latency hooks unavailable in this FakeTelegram: latencies will be null")
            expected = await self.calibrate(fake)
            counts = [[len(step) for step in script] for script in expected]
            log(f"{target.name}: calibrated, replies per step {counts}")
            users = self.args.users or math.ceil(self.args.updates / STEPS)
            if self.args.warmup:
                warm_users = math.ceil(self.args.warmup / STEPS)
                plan = make_plan(self.args.warmup, warm_users, WARMUP_CHAT)
                warm = await self.load(
                    f"{target.name} warm-up", fake, proc.pid, plan, expected, timed, ordered
                )
                if not warm.ok:
                    log(f"{target.name} warm-up problems: {'; '.join(warm.errors)}")
            if self.args.py_spy:
                profiler = await self.start_profiler(target, proc.pid)
            runs: list[LoadResult] = []
            for run in range(self.args.repeat):
                plan = make_plan(self.args.updates, users, MEASURE_CHAT + run * CHATS_PER_RUN)
                label = target.name if self.args.repeat == 1 else f"{target.name} #{run + 1}"
                runs.append(await self.load(label, fake, proc.pid, plan, expected, timed, ordered))
                log(f"{label}: {runs[-1].summary()}")
            # Other load on the machine only ever slows a run down: report the fastest run,
            # and fail if any run lost a reply.
            result = max(runs, key=lambda r: r.ups)
            result.all_ups = [r.ups for r in runs]
            for other in runs:
                if other is not result:
                    result.errors.extend(other.errors)
            if proc.returncode is not None:
                result.errors.append(f"bot process exited with {proc.returncode}")
            return result
        except Exception as exc:
            log(f"{target.name}: failed: {exc}\n{self.tail(errlog)}")
            result = LoadResult(updates=self.args.updates, expected_replies=0)
            result.errors.append(f"{exc.__class__.__name__}: {exc}")
            return result
        finally:
            if profiler is not None:
                await self.stop_profiler(profiler)
            if proc is not None:
                await self.terminate(proc)
            await fake.stop()

    async def start_profiler(self, target: Target, pid: int) -> asyncio.subprocess.Process | None:
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        out = Path(self.args.py_spy) / f"{target.name}.speedscope.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        proc = await asyncio.create_subprocess_exec(
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--rate",
            "250",
            "--format",
            "speedscope",
            "--output",
            str(out),
            "--nonblocking",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await asyncio.sleep(0.5)
        log(f"{target.name}: py-spy recording to {out}")
        return proc

    async def stop_profiler(self, proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), timeout=30)
            except TimeoutError:
                proc.kill()
                await proc.wait()

    # --- PostgreSQL --------------------------------------------------------------------
    async def create_pg_database(self, url: str) -> tuple[str, str]:
        import asyncpg
        from sqlalchemy.engine import make_url

        base = make_url(url)
        name = f"antq_bench_{uuid.uuid4().hex[:10]}"
        conn = await asyncpg.connect(**self._pg_params(url))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        target = base.set(drivername="postgresql+asyncpg", database=name)
        return name, target.render_as_string(hide_password=False)

    async def drop_pg_database(self, url: str, name: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(**self._pg_params(url))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    @staticmethod
    def _pg_params(url: str) -> dict[str, Any]:
        from sqlalchemy.engine import make_url

        u = make_url(url)
        return {
            "host": u.host or "127.0.0.1",
            "port": u.port or 5432,
            "user": u.username,
            "password": u.password,
            "database": u.database or "postgres",
        }

    # --- all ---------------------------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        args = self.args
        wanted = [b.strip() for b in args.bots.split(",") if b.strip()]
        targets: list[Target] = []
        for kind in wanted:
            if kind == "ptb":
                for level in args.ptb_concurrency:
                    targets.append(Target(f"ptb_echo_c{level}", "ptb", ptb_concurrency=level))
            elif kind == "aiogram":
                targets.append(Target("aiogram_echo", "aiogram"))
            elif kind == "ours":
                sqlite = f"sqlite+aiosqlite:///{self.workdir / 'antq.sqlite3'}"
                targets.append(Target("ours_sqlite", "ours", sqlite))
                if args.postgres:
                    targets.append(Target("ours_postgres", "ours", "postgres"))
        out: dict[str, Any] = {
            "bench": "webhook",
            "updates": args.updates,
            "users": args.users or math.ceil(args.updates / STEPS),
            "max_connections": args.max_connections,
            "ours_loop": args.ours_loop,
            "echo_loop": args.echo_loop,
            "ptb_concurrency_levels": args.ptb_concurrency,
            "ptb_server": args.ptb_server,
            "repeat": args.repeat,
            "rate": args.rate or None,
        }
        for name in ("ours_sqlite", "ours_postgres", "ptb_echo", "aiogram_echo"):
            out[f"{name}_ups"] = None
        out["ptb_echo_concurrency"] = None
        results: dict[str, LoadResult] = {}
        for target in targets:
            pg_name = ""
            try:
                if target.database_url == "postgres":
                    pg_name, target.database_url = await self.create_pg_database(args.postgres)
                    log(f"created PostgreSQL database {pg_name}")
                log(f"=== {target.name} ===")
                results[target.name] = result = await self.run_target(target)
            finally:
                if pg_name:
                    await self.drop_pg_database(args.postgres, pg_name)
            log(f"{target.name}: {result.summary()}")
            out[f"{target.name}_ups"] = result.ups
            out[f"{target.name}_p50_ms"] = result.p50_ms
            out[f"{target.name}_p99_ms"] = result.p99_ms
            out[f"{target.name}_replies"] = result.replies
            out[f"{target.name}_seconds"] = round(result.seconds, 3)
            out[f"{target.name}_bot_cpu_pct"] = result.bot_cpu_pct
            out[f"{target.name}_bot_cpu_ms_per_update"] = result.bot_cpu_ms_per_update
            out[f"{target.name}_fake_cpu_pct"] = result.fake_cpu_pct
            out[f"{target.name}_other_cpu_pct"] = result.other_cpu_pct
            out[f"{target.name}_peak_rss_mb"] = result.peak_rss_mb
            if len(result.all_ups) > 1:
                out[f"{target.name}_all_ups"] = result.all_ups
            if not result.ok:
                out[f"{target.name}_errors"] = result.errors
        # The bar is the faster of PTB's settings: its default (1) or many concurrent updates.
        ptb_runs = [(out[f"{t.name}_ups"], t) for t in targets if t.kind == "ptb"]
        if ptb_runs and all(ups for ups, _ in ptb_runs):
            best_ups, best = max(ptb_runs, key=lambda run: run[0])
            out["ptb_echo_ups"] = best_ups
            out["ptb_echo_concurrency"] = best.ptb_concurrency
        ours = out.get("ours_sqlite_ups")
        for other in ("ptb_echo", "aiogram_echo"):
            theirs = out.get(f"{other}_ups")
            key = "ratio_ours_vs_ptb" if other == "ptb_echo" else "ratio_ours_vs_aiogram"
            out[key] = round(ours / theirs, 3) if ours and theirs else None
        if out.get("ours_postgres_ups") and out.get("ptb_echo_ups"):
            out["ratio_ours_postgres_vs_ptb"] = round(
                out["ours_postgres_ups"] / out["ptb_echo_ups"], 3
            )
        out["ok"] = bool(results) and all(r.ok for r in results.values())
        return out


# ================================================================================== CLI


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python bench/webhook.py",
        description=(
            "Webhook-to-reply throughput through real HTTP on loopback against the fake "
            "Telegram server, for ANTQ Connect (full pipeline, database included), a bare "
            "python-telegram-bot echo bot and a bare aiogram echo bot, each in its own "
            "process. Prints one JSON line on stdout; exits 1 if any update went unanswered."
        ),
    )
    parser.add_argument(
        "--updates",
        type=int,
        default=3000,
        help="updates per bot in the measured run (default 3000)",
    )
    parser.add_argument(
        "--users",
        type=int,
        default=0,
        help=f"distinct residents (default updates/{STEPS}: one script each)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=300,
        help="updates per bot before measuring, other residents (default 300)",
    )
    parser.add_argument(
        "--bots",
        default=",".join(BOTS),
        help="which bots, comma-separated from ptb,aiogram,ours (default all)",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default="",
        help="also run ours on PostgreSQL: a server URL such as "
        "postgresql://postgres@127.0.0.1:5432/postgres; a fresh database is "
        "created, migrated and dropped",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=40,
        help="setWebhook max_connections: concurrent deliveries (default 40)",
    )
    parser.add_argument(
        "--ptb-concurrency",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1, 256],
        help="PTB concurrent_updates levels to measure, comma-separated (default 1,256: PTB's "
        "default and what `True` means); the faster one is the bar ours is compared with",
    )
    parser.add_argument(
        "--ptb-server",
        choices=("aiohttp", "tornado"),
        default="aiohttp",
        help="PTB webhook server: an aiohttp route feeding update_queue "
        "(default) or PTB's own tornado server (needs tornado installed)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measured runs per bot (fresh residents each); the fastest is reported, all are "
        "checked (default 1)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=180,
        help="seconds to wait for all replies of one run (default 180)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=0.25,
        help="quiet seconds that end a calibration step / the check for "
        "extra replies (default 0.25)",
    )
    parser.add_argument(
        "--webhook-attempts",
        type=int,
        default=1,
        help="delivery attempts per update (default 1: a failure is an error)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="inject this many updates per second (latency at a steady load) instead of all "
        "at once (throughput); default: all at once",
    )
    parser.add_argument("--progress-every", type=float, default=2.0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--prelude",
        metavar="FILE",
        default="",
        help="for experiments: a Python file each bot process runs before it starts (e.g. to "
        "monkeypatch a product change and measure it); it sees BOT_KIND",
    )
    parser.add_argument(
        "--py-spy",
        metavar="DIR",
        default="",
        help="record each bot process with py-spy during the measured run "
        "(speedscope JSON files in DIR)",
    )
    add_loop_options(parser)
    # Internal: the bot processes.
    parser.add_argument("--child", choices=BOTS, help=argparse.SUPPRESS)
    parser.add_argument("--fake-url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is None:
        if args.updates < 1:
            parser.error("--updates must be positive")
        if args.prelude:
            args.prelude = str(Path(args.prelude).resolve())
        if args.repeat < 1:
            parser.error("--repeat must be positive")
        if args.users and args.users * STEPS < args.updates:
            parser.error(f"--users {args.users} x {STEPS} steps < --updates {args.updates}")
        unknown = set(args.bots.split(",")) - set(BOTS)
        if unknown:
            parser.error(f"unknown bots: {', '.join(sorted(unknown))}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child is not None:
        run_child(args)
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="antq-webhook-bench-"))
    try:
        out = asyncio.run(Bench(args, workdir).run())
    finally:
        if not os.environ.get("ANTQ_BENCH_KEEP"):
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(out, ensure_ascii=False), flush=True)
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
