"""Mixed load on all three platforms: simulated residents read content, browse the menus,
send feedback, file tips and follow them up, on Telegram, the Zalo Bot API and the Zalo OA,
against one ANTQ Connect process; bare python-telegram-bot and aiogram echo bots get the same
residents' messages on Telegram in the same run.

Topology (2 cores): this process runs the three fake platforms and the residents on one event
loop; each bot runs alone in a child process. Everything is real HTTP on loopback:

    residents --inject--> fakes --POST webhook--> bot --sendMessage / message/cs--> fakes

A resident writes (or presses a button: a callback query on Telegram, the button's payload on
the OA, the choice's number on the Zalo Bot API), waits for the bot's answer and goes on: the
next step needs the buttons of the last answer, and a tipster types back the code and PIN the
bot gave. Two measured runs per bot:

- throughput: every resident starts at once and goes as fast as the answers come;
- paced: the residents' messages are let through at `--rate` per second (default 200), and
  each step's webhook-to-reply latency is measured (from the fake taking the message to the
  last answer of that step arriving at the fake).

    python bench/load.py                      # SQLite; ours, aiogram and PTB (about 4 min)
    python bench/load.py --postgres postgresql://postgres@127.0.0.1:5432/postgres

Progress goes to stderr; the last line on stdout is one JSON object. Exit status 1 when an
answer was missing, doubled or different from the calibration run's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import webhook as wb  # bench/webhook.py: the echo bots and the measuring helpers

SCRIPT = Path(__file__).resolve()
HOST = wb.HOST
TELEGRAM_SECRET = "bench-load-telegram-secret_0123456789"
ZALO_BOT_SECRET = "bench-load-zalo-bot-secret_0123456789"
CHANNELS = ("telegram", "zalo_bot", "zalo_oa")
#: Of every 10 residents of ours: where they write from (the OA's share is kept small: Zalo
#: allows an OA 4,000 requests a minute, which a province's load would go past).
CHANNEL_MIX = ("telegram",) * 4 + ("zalo_bot",) * 4 + ("zalo_oa",) * 2

DESCRIPTION = "Có nhóm người mua bán ma túy tối nay, đi xe máy biển 77A-123.45 ở hẻm sau chợ."
#: What residents do. "[label]" presses the button with that label (its number where the
#: platform shows numbered choices); "{code}" and "{pin}" type back what the bot gave.
SCRIPTS: dict[str, tuple[str, ...]] = {
    # onboarding with a commune, the legal library, one article, the hotlines
    "reader": (
        "/start",
        "[🇻🇳 Tiếng Việt]",
        "phuong quy nhon nam",
        "[✅ Đúng]",
        "[📚 Tuyên truyền pháp luật]",
        "[Lừa đảo qua mạng]",
        "[Cảnh giác cuộc gọi giả danh Công an, Viện kiểm sát, Tòa án]",
        "[🏠 Menu chính]",
        "[☎️ Đường dây nóng]",
    ),
    # English, no commune, the 19 August festival, topics, a free-text intent
    "visitor": (
        "/start",
        "[🇬🇧 English]",
        "[Skip]",
        "[🇻🇳 Festival 19/8]",
        "[🏠 Main menu]",
        "[📚 Legal education]",
        "[Online and phone fraud]",
        "hotline",
    ),
    # feedback written to the database
    "neighbour": (
        "/start",
        "[🇻🇳 Tiếng Việt]",
        "phuong quy nhon nam",
        "[✅ Đúng]",
        "[💬 Góp ý]",
        "Đèn đường ở thôn 3 bị hỏng đã lâu, đề nghị sửa giúp",
    ),
    # a tip from start to code, then followed up with the code and the PIN
    "tipster": (
        "/start",
        "[🇻🇳 Tiếng Việt]",
        "[Bỏ qua]",
        "[🚨 Tố giác tội phạm]",
        "[Tiếp tục]",
        "[Ma túy]",
        "[Không]",
        "phuong quy nhon dong",  # clear enough to be taken at once
        "gần chợ, tổ 5",
        "[Hôm nay]",
        DESCRIPTION,
        "[Bỏ qua]",
        "[✅ Gửi tin báo]",
        "[🚨 Tố giác tội phạm]",
        "[🔎 Theo dõi tin báo]",
        "{code}",
        "{pin}",
    ),
}
#: Of every 10 residents: what they came for.
SCRIPT_MIX = ("reader",) * 4 + ("visitor",) * 3 + ("neighbour",) * 2 + ("tipster",)
CODE = re.compile(r"\b[A-Z]{2}-[A-Z0-9]{6}\b")
PIN = re.compile(r"(PIN: )(\d{6})")
#: Telegram records that are messages a resident sees (not callback answers).
MESSAGE_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendLocation"})


def log(message: str) -> None:
    print(f"[load-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def masked(text: str) -> str:
    """A reply's text with the parts that differ per resident (tip code, PIN) masked."""
    return PIN.sub(r"\1<pin>", CODE.sub("<code>", text))


# ================================================================================ our process


async def child_ours(args: argparse.Namespace) -> None:
    """The full ANTQ Connect process with all three platforms on their fakes."""
    from bot.channels.telegram import TelegramChannel
    from bot.channels.zalo_bot import ZaloBotChannel
    from bot.cli import settle_heap
    from bot.core.platform import Platform
    from bot.logging_setup import configure_logging
    from bot.runtime import TELEGRAM_WEBHOOK_PATH, ZALO_BOT_WEBHOOK_PATH, Runtime
    from bot.settings import Settings
    from bot.tips.relay import generate_key

    configure_logging("INFO")
    values: dict[str, Any] = {
        "database_url": args.database_url,
        "host": HOST,
        "port": 0,
        "public_url": "",
        "province_police_phone": "069 3822 113",
        "tip_relay_keys": generate_key(),
        "telegram_mode": "webhook",
        "telegram_webhook_secret": TELEGRAM_SECRET,
        "zalo_bot_webhook_secret": ZALO_BOT_SECRET,
        **json.loads(args.settings_json),
    }
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    runtime = Runtime(settings)
    await runtime.start()
    await runtime.channel(Platform.TELEGRAM, TelegramChannel).bot.set_webhook(
        runtime.url + TELEGRAM_WEBHOOK_PATH, secret_token=TELEGRAM_SECRET, max_connections=40
    )
    await runtime.channel(Platform.ZALO_BOT, ZaloBotChannel).client.set_webhook(
        runtime.url + ZALO_BOT_WEBHOOK_PATH, ZALO_BOT_SECRET
    )
    settle_heap()  # as `antq run` does once started
    print(f"READY {runtime.url}", flush=True)
    try:
        await wb._wait_for_stop()
    finally:
        await runtime.stop()


def run_child(args: argparse.Namespace) -> None:
    if not args.database_url.startswith("sqlite"):
        from bot.migrate import upgrade

        upgrade(args.database_url)
    from bot.cli import run_loop

    run_loop(child_ours(args), args.loop)


# ============================================================================= the platforms


class Platform(ABC):
    """A fake platform as a resident sees it: writing, pressing, reading the answers."""

    name = ""

    def __init__(self, fake: Any, strict: bool = True) -> None:
        self.fake = fake
        #: A label not among the last answer's choices is an error (ours); an echo bot has
        #: none, and gets the label as text.
        self.strict = strict
        #: When each sent record arrived (by the record's `seq`), for latencies.
        self.arrived: dict[int, float] = {}
        log_ = fake._sent  # the fakes' SentLog; wrapped to time each arrival
        add = log_.add

        def timed_add(key: Any, record: dict[str, Any]) -> None:
            add(key, record)
            self.arrived[record["seq"]] = time.perf_counter()

        log_.add = timed_add

    @abstractmethod
    def key(self, number: int) -> Any:
        """The platform's id of resident `number`."""

    @abstractmethod
    def write(self, key: Any, text: str) -> None:
        """The resident types `text`."""

    def press(self, key: Any, label: str, last: list[dict[str, Any]]) -> None:
        """Numbered choices (the Zalo Bot API's only kind): type the number."""
        number = _number(last, label)
        if number is None and self.strict:
            shown = [self.text(r)[:300] for r in last]
            raise LookupError(f"{self.name}: no choice {label!r} in the last answer {shown}")
        self.write(key, number if number is not None else label)

    def is_message(self, record: dict[str, Any]) -> bool:
        return True

    @staticmethod
    def text(record: dict[str, Any]) -> str:
        return str(record.get("text") or record.get("caption") or "")

    def failures(self) -> int:
        """Webhook deliveries that got no 200 (every fake counts them the same way)."""
        return int(self.fake.stats().get("webhook_failures", 0))


def _number(last: list[dict[str, Any]], label: str) -> str | None:
    for record in reversed(last):
        found = re.search(rf"^(\d+)\. {re.escape(label)}$", Platform.text(record), re.M)
        if found:
            return found.group(1)
    return None


class TelegramPlatform(Platform):
    name = "telegram"

    def key(self, number: int) -> int:
        return number

    def write(self, key: Any, text: str) -> None:
        self.fake.inject({"chat_id": key, "text": text, "first_name": "Dân", "language_code": "vi"})

    def press(self, key: Any, label: str, last: list[dict[str, Any]]) -> None:
        for record in reversed(last):
            for row in (record.get("reply_markup") or {}).get("inline_keyboard") or []:
                for button in row:
                    if button.get("text") == label and "callback_data" in button:
                        self.fake.inject(
                            {
                                "chat_id": key,
                                "callback_data": button["callback_data"],
                                "message_id": record["message_id"],
                            }
                        )
                        return
        super().press(key, label, last)  # numbered, or an echo bot: typed

    def is_message(self, record: dict[str, Any]) -> bool:
        return record.get("method") in MESSAGE_METHODS


class ZaloBotPlatform(Platform):
    name = "zalo_bot"

    def key(self, number: int) -> str:
        return f"{number:020x}"

    def write(self, key: Any, text: str) -> None:
        self.fake.inject(chat_id=key, text=text, display_name="Dân")


class ZaloOAPlatform(Platform):
    name = "zalo_oa"

    def key(self, number: int) -> str:
        return str(6_100_000_000_000_000_000 + number)

    def write(self, key: Any, text: str) -> None:
        self.fake.inject({"user_id": key, "text": text, "display_name": "Dân"})

    def press(self, key: Any, label: str, last: list[dict[str, Any]]) -> None:
        for record in reversed(last):
            for button in record.get("buttons") or []:
                if button.get("title") == label:
                    # a tap sends the button's payload back as a text message
                    self.fake.inject({"user_id": key, "tap": button["payload"]})
                    return
        super().press(key, label, last)  # beyond the OA's button limit: numbered


# ================================================================================ residents


@dataclass
class Step:
    """What one step of a script answered in the calibration run."""

    records: int  # every record the fake got (Telegram: callback answers too)
    texts: list[str]  # the messages' texts, masked


@dataclass
class RunResult:
    updates: int = 0
    seconds: float = 0.0
    ups: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    #: the same by script step ("tipster 14"), to see which steps are slow
    by_step: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    cpu_seconds: float | None = None
    fake_cpu_seconds: float | None = None

    def percentile(self, q: float, channel: str | None = None) -> float | None:
        values = (
            self.latencies.get(channel, [])
            if channel
            else [v for vs in self.latencies.values() for v in vs]
        )
        return wb._percentile(values, q)


class Pacer:
    """Lets the residents' messages through at `rate` per second overall (open schedule:
    message i at t0 + i / rate, never earlier)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next = 0.0

    async def wait(self) -> None:
        now = time.perf_counter()
        if self.next == 0.0:
            self.next = now
        slot = self.next
        self.next += self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


class Resident:
    def __init__(self, platform: Platform, key: Any, script: str) -> None:
        self.platform, self.key, self.script = platform, key, script
        self.seen = len(platform.fake.sent(key))
        self.last: list[dict[str, Any]] = []
        self.code = "TG-AAAAAA"  # an echo bot gives none: anything is echoed
        self.pin = "000000"
        self.steps: list[Step] = []

    def _act(self, utterance: str) -> None:
        if utterance == "{code}":
            self.platform.write(self.key, self.code)
        elif utterance == "{pin}":
            self.platform.write(self.key, self.pin)
        elif utterance.startswith("[") and utterance.endswith("]"):
            self.platform.press(self.key, utterance[1:-1], self.last)
        else:
            self.platform.write(self.key, utterance)

    def _took(self, records: list[dict[str, Any]]) -> Step:
        messages = [r for r in records if self.platform.is_message(r)]
        if messages:
            self.last = messages
        texts = [self.platform.text(r) for r in messages]
        for text in texts:
            # the answer to a tip holds both (the follow-up's prompt shows an example code)
            code, pin = CODE.search(text), PIN.search(text)
            if code and pin:
                self.code, self.pin = code.group(0), pin.group(2)
        return Step(len(records), [masked(t) for t in texts])

    async def calibrate(self, settle: float) -> list[Step]:
        """Play the script slowly: each step's answers are what arrives until `settle`
        seconds pass without anything new."""
        fake = self.platform.fake
        for utterance in SCRIPTS[self.script]:
            self._act(utterance)
            await fake.wait_sent(self.key, count=self.seen + 1, timeout=30)
            while True:
                count = len(fake.sent(self.key))
                await asyncio.sleep(settle)
                if len(fake.sent(self.key)) == count:
                    break
            records = fake.sent(self.key)[self.seen :]
            self.seen += len(records)
            self.steps.append(self._took(records))
        return self.steps

    async def play(
        self,
        expected: list[Step],
        pacer: Pacer | None,
        result: RunResult,
        wait: float,
        arrive: float = 0.0,
    ) -> None:
        fake = self.platform.fake
        await asyncio.sleep(arrive)
        for number, utterance in enumerate(SCRIPTS[self.script]):
            want = expected[number]
            if pacer is not None:
                await pacer.wait()
            started = time.perf_counter()
            self._act(utterance)
            result.updates += 1
            try:
                records = await fake.wait_sent(
                    self.key, count=self.seen + want.records, timeout=wait
                )
            except TimeoutError:
                result.errors.append(
                    f"{self.platform.name} {self.key} ({self.script}) step {number + 1} "
                    f"{utterance!r}: no answer within {wait}s"
                )
                return
            records = records[self.seen : self.seen + want.records]
            self.seen += want.records
            step = self._took(records)
            arrived = self.platform.arrived.get(records[-1]["seq"])
            if arrived is not None:
                result.latencies[self.platform.name].append(arrived - started)
                result.by_step[f"{self.script} {number + 1}"].append(arrived - started)
            if step.texts != want.texts:
                result.errors.append(
                    f"{self.platform.name} {self.key} ({self.script}) step {number + 1} "
                    f"{utterance!r}: answered {step.texts!r}, calibration {want.texts!r}"[:600]
                )
                return

    def extra(self) -> int:
        """Records beyond what the script's steps answered (a reply sent twice)."""
        return len(self.platform.fake.sent(self.key)) - self.seen


# ================================================================================ the bench


@dataclass
class Target:
    name: str  # ours_sqlite, ours_postgres, aiogram_echo, ptb_echo_c1 ...
    kind: str  # ours | aiogram | ptb
    database_url: str = ""
    ptb_concurrency: int = 1


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.kit = wb.Bench(args, workdir)  # process and PostgreSQL helpers
        self.next_key = 1_000_000
        wanted = args.channels.split(",")
        self.channel_mix = tuple(c for c in CHANNEL_MIX if c in wanted) or CHANNEL_MIX

    def keys(self, count: int) -> range:
        start = self.next_key
        self.next_key += count + 1000
        return range(start, start + count)

    async def start_fakes(self, kind: str) -> dict[str, Platform]:
        from bot.fakes.telegram import FakeTelegram
        from bot.fakes.zalo_bot import FakeZaloBot
        from bot.fakes.zalo_oa import FakeZaloOA

        telegram = FakeTelegram(webhook_max_attempts=1)
        await telegram.start(HOST, 0)
        platforms: dict[str, Platform] = {
            "telegram": TelegramPlatform(telegram, strict=kind == "ours")
        }
        if kind == "ours":
            zalo_bot, zalo_oa = FakeZaloBot(), FakeZaloOA()
            await zalo_bot.start(HOST, 0)
            await zalo_oa.start(HOST, 0)
            platforms["zalo_bot"] = ZaloBotPlatform(zalo_bot)
            platforms["zalo_oa"] = ZaloOAPlatform(zalo_oa)
        return platforms

    async def spawn(self, target: Target, platforms: dict[str, Platform]) -> Any:
        telegram = platforms["telegram"].fake
        if target.kind == "ours":
            oa = platforms["zalo_oa"].fake
            access, refresh = oa.initial_tokens()
            overrides = {
                "telegram_token": telegram.token,
                "telegram_api_base": telegram.url,
                "zalo_bot_token": platforms["zalo_bot"].fake.token,
                "zalo_bot_api_base": platforms["zalo_bot"].fake.url,
                "zalo_oa_app_id": oa.app_id,
                "zalo_oa_app_secret": oa.app_secret,
                "zalo_oa_secret_key": oa.oa_secret_key,
                "zalo_oa_access_token": access,
                "zalo_oa_refresh_token": refresh,
                "zalo_oa_api_base": oa.url,
                "zalo_oa_oauth_base": oa.url,
                # the fake has no quota: Zalo's 4,000 a minute would measure Zalo, not us
                "zalo_oa_requests_per_minute": self.args.oa_per_minute,
            }
            command = [
                sys.executable,
                str(SCRIPT),
                "--child",
                "--database-url",
                target.database_url,
                "--settings-json",
                json.dumps(overrides),
                "--loop",
                self.args.ours_loop,
            ]
        else:
            command = [
                sys.executable,
                str(wb.SCRIPT),
                "--child",
                target.kind,
                "--fake-url",
                telegram.url,
                "--token",
                telegram.token,
                "--max-connections",
                "40",
                "--ptb-concurrency",
                str(target.ptb_concurrency),
                "--loop",
                self.args.echo_loop,
            ]
        errlog = self.workdir / f"{target.name}.log"
        proc, url = await self.kit.start_child(target.name, command, errlog)
        if target.kind == "ours":
            from bot.runtime import ZALO_OA_WEBHOOK_PATH

            platforms["zalo_oa"].fake.set_webhook(url + ZALO_OA_WEBHOOK_PATH)
        log(f"{target.name}: up (pid {proc.pid})")
        return proc

    def residents(
        self, target: Target, platforms: dict[str, Platform], count: int
    ) -> list[Resident]:
        out = []
        for i, number in enumerate(self.keys(count)):
            mix = self.channel_mix if target.kind == "ours" else ("telegram",)
            channel = mix[i % len(mix)]
            platform = platforms[channel]
            out.append(
                Resident(platform, platform.key(number), SCRIPT_MIX[(i // 3) % len(SCRIPT_MIX)])
            )
        return out

    async def calibrate(
        self, target: Target, platforms: dict[str, Platform]
    ) -> dict[tuple[str, str], list[Step]]:
        pairs = [(c, s) for c in platforms for s in SCRIPTS]
        residents = [
            Resident(platforms[c], platforms[c].key(number), s)
            for (c, s), number in zip(pairs, self.keys(len(pairs)), strict=True)
        ]
        steps = await asyncio.gather(*(r.calibrate(self.args.settle) for r in residents))
        expected = dict(zip(pairs, steps, strict=True))
        for (channel, script), answers in expected.items():
            if any(step.records == 0 for step in answers):
                raise RuntimeError(f"{target.name}: a step of {script} on {channel} got no answer")
            if target.kind == "ours" and script == "tipster":
                follow = answers[-1].texts
                if not any("<code>" in t for t in follow):
                    raise RuntimeError(
                        f"{target.name}: the follow-up on {channel} failed: {follow}"
                    )
        return expected

    async def run_once(
        self,
        label: str,
        target: Target,
        platforms: dict[str, Platform],
        expected: dict[tuple[str, str], list[Step]],
        count: int,
        rate: float,
        pid: int,
    ) -> RunResult:
        residents = self.residents(target, platforms, count)
        result = RunResult()
        pacer = Pacer(rate) if rate else None
        failures0 = sum(p.failures() for p in platforms.values())
        cpu0, fake0 = wb._cpu(pid), wb._cpu(None)
        started = time.perf_counter()
        progress = asyncio.create_task(self.progress(label, result, started))
        # Paced, residents arrive one after another over most of the run (as on a busy day,
        # not all in the same second); unpaced, all at once (a burst: how fast can it go).
        spread = 0.0
        if rate:
            spread = 0.75 * sum(len(SCRIPTS[r.script]) for r in residents) / rate / len(residents)
        try:
            await asyncio.gather(
                *(
                    r.play(
                        expected[(r.platform.name, r.script)],
                        pacer,
                        result,
                        self.args.timeout,
                        arrive=i * spread,
                    )
                    for i, r in enumerate(residents)
                )
            )
        finally:
            progress.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await progress
        result.seconds = time.perf_counter() - started
        cpu1, fake1 = wb._cpu(pid), wb._cpu(None)
        if cpu0 is not None and cpu1 is not None:
            result.cpu_seconds = cpu1 - cpu0
        if fake0 is not None and fake1 is not None:
            result.fake_cpu_seconds = fake1 - fake0
        result.ups = round(result.updates / result.seconds, 1)
        await asyncio.sleep(self.args.settle * 2)  # a reply sent twice would arrive by now
        doubled = sum(max(0, r.extra()) for r in residents)
        if doubled:
            result.errors.append(f"{doubled} answers beyond the expected ones (sent twice?)")
        failed = sum(p.failures() for p in platforms.values()) - failures0
        if failed:
            result.errors.append(f"{failed} webhook deliveries failed")
        return result

    async def progress(self, label: str, result: RunResult, started: float) -> None:
        while True:
            await asyncio.sleep(2)
            elapsed = time.perf_counter() - started
            log(
                f"{label}: {result.updates} messages in {elapsed:.0f}s "
                f"({result.updates / elapsed:.0f}/s)"
            )

    async def run_target(self, target: Target) -> dict[str, Any]:
        platforms = await self.start_fakes(target.kind)
        proc = None
        out: dict[str, Any] = {}
        try:
            proc = await self.spawn(target, platforms)
            expected = await self.calibrate(target, platforms)
            log(f"{target.name}: calibrated {len(expected)} scripts")
            if self.args.warmup:
                warm = await self.run_once(
                    f"{target.name} warm-up",
                    target,
                    platforms,
                    expected,
                    self.args.warmup,
                    0,
                    proc.pid,
                )
                if warm.errors:
                    log(f"{target.name} warm-up problems: {warm.errors[:3]}")
            runs = {
                "throughput": await self.run_once(
                    f"{target.name} throughput",
                    target,
                    platforms,
                    expected,
                    self.args.residents,
                    0,
                    proc.pid,
                ),
                "paced": await self.run_once(
                    f"{target.name} paced {self.args.rate}/s",
                    target,
                    platforms,
                    expected,
                    self.args.residents,
                    self.args.rate,
                    proc.pid,
                ),
            }
            fast, paced = runs["throughput"], runs["paced"]
            out = {
                "ups": fast.ups,
                "updates": fast.updates,
                "cpu_ms_per_update": _per_update(fast),
                "cpu_pct": _pct(fast.cpu_seconds, fast.seconds),
                "fake_cpu_pct": _pct(fast.fake_cpu_seconds, fast.seconds),
                "p50_ms_unpaced": fast.percentile(0.5),
                "p99_ms_unpaced": fast.percentile(0.99),
                "paced_ups": paced.ups,
                "p50_ms": paced.percentile(0.5),
                "p99_ms": paced.percentile(0.99),
                "paced_cpu_pct": _pct(paced.cpu_seconds, paced.seconds),
                "peak_rss_mb": wb._peak_rss_mb(proc.pid),
            }
            if target.kind == "ours":
                for channel in CHANNELS:
                    out[f"p99_ms_{channel}"] = paced.percentile(0.99, channel)
                    out[f"updates_{channel}"] = len(paced.latencies.get(channel, []))
            errors = [f"{kind}: {e}" for kind, run in runs.items() for e in run.errors]
            if proc.returncode is not None:
                errors.append(f"the bot process exited with {proc.returncode}")
            if errors:
                out["errors"] = errors[:20]
            for kind, run in runs.items():
                slowest = sorted(
                    ((wb._percentile(v, 0.99) or 0.0, step) for step, v in run.by_step.items()),
                    reverse=True,
                )[:4]
                log(f"{target.name} {kind}: slowest steps (p99 ms): {slowest}")
                log(
                    f"{target.name} {kind}: {run.ups} messages/s "
                    f"({run.updates} in {run.seconds:.1f}s), "
                    f"p50 {run.percentile(0.5)} ms, p99 {run.percentile(0.99)} ms, CPU "
                    f"{_per_update(run)} ms/message, {len(run.errors)} errors"
                )
        except Exception as exc:
            log(
                f"{target.name}: failed: {exc}\n"
                + self.kit.tail(self.workdir / f"{target.name}.log")
            )
            out["errors"] = [f"{exc.__class__.__name__}: {exc}"]
        finally:
            for platform in platforms.values():
                attempts = list(getattr(platform.fake, "webhook_attempts", []))
                failed = [a for a in attempts if a.get("status") != 200]
                if failed:
                    slow = sorted(a.get("elapsed_ms") or 0 for a in attempts)
                    log(
                        f"{target.name}: {len(failed)} of {len(attempts)} webhook deliveries to "
                        f"{platform.name} failed, e.g. {failed[0].get('error')}; slowest "
                        f"{slow[-3:]} ms"
                    )
            if proc is not None:
                await self.kit.terminate(proc)
            for platform in platforms.values():
                await platform.fake.stop()
        return out

    async def run(self) -> dict[str, Any]:
        args = self.args
        targets: list[Target] = []
        for kind in [b.strip() for b in args.bots.split(",") if b.strip()]:
            if kind == "ours":
                sqlite = f"sqlite+aiosqlite:///{self.workdir / 'antq.sqlite3'}"
                targets.append(Target("ours_sqlite", "ours", sqlite))
                if args.postgres:
                    targets.append(Target("ours_postgres", "ours", "postgres"))
            elif kind == "aiogram":
                targets.append(Target("aiogram_echo", "aiogram"))
            elif kind == "ptb":
                for level in args.ptb_concurrency:
                    targets.append(Target(f"ptb_echo_c{level}", "ptb", ptb_concurrency=level))
        out: dict[str, Any] = {
            "bench": "load",
            "residents": args.residents,
            "rate": args.rate,
            "ours_loop": args.ours_loop,
            "echo_loop": args.echo_loop,
            "channels": dict(zip(*_counts(self.channel_mix), strict=True)),
            "scripts": dict(zip(*_counts(SCRIPT_MIX), strict=True)),
        }
        ok = True
        # Rounds: every target once per round, so each round compares runs made minutes
        # apart; this machine's speed drifts, so the figures are each round's median and
        # the ratios the median of each round's own ratio.
        rounds: list[dict[str, Any]] = []
        for number in range(1, args.rounds + 1):
            figures_of_round: dict[str, Any] = {}
            for target in targets:
                log(f"=== {target.name} (round {number} of {args.rounds}) ===")
                pg_name = ""
                url = target.database_url
                try:
                    if url == "postgres":
                        pg_name, target.database_url = await self.kit.create_pg_database(
                            args.postgres
                        )
                    elif url.startswith("sqlite") and number > 1:  # a fresh database
                        target.database_url = url.replace(".sqlite3", f"-{number}.sqlite3")
                    figures = await self.run_target(target)
                finally:
                    target.database_url = url
                    if pg_name:
                        await self.kit.drop_pg_database(args.postgres, pg_name)
                ok = ok and "errors" not in figures and bool(figures.get("ups"))
                figures_of_round.update(
                    {f"{target.name}_{key}": value for key, value in figures.items()}
                )
            ptb = [
                figures_of_round.get(f"ptb_echo_c{level}_ups") or 0
                for level in args.ptb_concurrency
            ]
            figures_of_round["ptb_echo_ups"] = max(ptb) if "ptb" in args.bots else None
            for ours in ("ours_sqlite", "ours_postgres"):
                mine = figures_of_round.get(f"{ours}_ups")
                for echo in ("aiogram_echo", "ptb_echo"):
                    theirs = figures_of_round.get(f"{echo}_ups")
                    figures_of_round[f"ratio_{ours}_vs_{echo}"] = (
                        round(mine / theirs, 3) if mine and theirs else None
                    )
            rounds.append(figures_of_round)
        out["rounds"] = args.rounds
        for key in rounds[0]:
            values = [r.get(key) for r in rounds]
            numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
            if len(numbers) == len(values) and numbers:
                out[key] = round(statistics.median(numbers), 3)
                if args.rounds > 1 and (
                    key.endswith(("_ups", "_p99_ms")) or key.startswith("ratio_")
                ):
                    out[f"{key}_each_round"] = numbers
            elif args.rounds == 1 or all(v is None for v in values):
                out[key] = values[-1]
            else:  # not a figure (errors, ...): each round's
                out[key] = values
        ours_keys = [k for k in ("ours_sqlite", "ours_postgres") if out.get(f"{k}_ups")]
        out["goal_throughput_met"] = (
            all((out.get(f"ratio_{k}_vs_aiogram_echo") or 0) >= 1.0 for k in ours_keys)
            if ours_keys and "aiogram" in args.bots
            else None
        )
        out["goal_p99_met"] = (
            all((out.get(f"{k}_p99_ms") or 1e9) <= 200 for k in ours_keys) if ours_keys else None
        )
        out["goal_rss_met"] = (
            all((out.get(f"{k}_peak_rss_mb") or 1e9) <= 250 for k in ours_keys)
            if ours_keys
            else None
        )
        out["ok"] = ok and bool(targets)
        return out


def _counts(mix: Sequence[str]) -> tuple[list[str], list[float]]:
    names = sorted(set(mix), key=mix.index)
    return names, [round(mix.count(n) / len(mix), 2) for n in names]


def _per_update(run: RunResult) -> float | None:
    if run.cpu_seconds is None or not run.updates:
        return None
    return round(1000 * run.cpu_seconds / run.updates, 2)


def _pct(cpu: float | None, seconds: float) -> float | None:
    return round(100 * cpu / seconds, 1) if cpu is not None and seconds > 0 else None


# ====================================================================================== CLI


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python bench/load.py",
        description=(
            "Simulated residents on Telegram, the Zalo Bot API and the Zalo OA (through the "
            "fakes) against one ANTQ Connect process, and the same residents' messages to bare "
            "aiogram and python-telegram-bot echo bots on Telegram. Prints one JSON line; exits "
            "1 if an answer was missing, doubled or wrong."
        ),
    )
    parser.add_argument(
        "--residents", type=int, default=600, help="residents per measured run (default 600)"
    )
    parser.add_argument(
        "--warmup", type=int, default=60, help="residents before measuring (default 60)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=200.0,
        help="messages per second in the paced run (default 200)",
    )
    parser.add_argument(
        "--bots",
        default="ours,aiogram,ptb",
        help="comma-separated from ours,aiogram,ptb (default all)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every bot this many times, in turn, and report medians (default 1)",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default="",
        help="also run ours on PostgreSQL (a fresh database on this server, dropped after)",
    )
    parser.add_argument(
        "--ptb-concurrency",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1, 256],
        help="python-telegram-bot concurrent_updates levels (default 1,256); the faster counts",
    )
    parser.add_argument(
        "--oa-per-minute",
        type=int,
        default=60_000,
        help="our Zalo OA client's requests per minute (Zalo allows 4,000; the fake has no "
        "limit; default 60000)",
    )
    parser.add_argument(
        "--timeout", type=float, default=60, help="seconds a step may wait for its answer"
    )
    parser.add_argument(
        "--settle", type=float, default=0.3, help="quiet seconds that end a calibration step"
    )
    parser.add_argument(
        "--channels",
        default=",".join(CHANNELS),
        help="where our residents write from, comma-separated (default all three)",
    )
    wb.add_loop_options(parser)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--settings-json", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    # what bench/webhook.py's helpers read
    args.max_connections, args.ptb_server, args.prelude = 40, "aiohttp", ""
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        run_child(args)
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="antq-load-bench-"))
    try:
        out = asyncio.run(Bench(args, workdir).run())
    finally:
        if not os.environ.get("ANTQ_BENCH_KEEP"):
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(out, ensure_ascii=False), flush=True)
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
    sys.exit(130)
