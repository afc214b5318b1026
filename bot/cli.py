"""The `antq` command: run, demo, db upgrade, content check, locate, ask."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bot.core.platform import Platform
from bot.core.tasks import wait_for_stop_signal
from bot.logging_setup import configure_logging
from bot.settings import Settings, get_settings

if TYPE_CHECKING:
    from content.answers import Answerer
    from content.library import Library

__all__ = ["main", "run_loop", "settle_heap"]

T = TypeVar("T")
#: The youngest generation's collection threshold once running (CPython's default is 700):
#: a busy process allocates that many objects in well under a millisecond, and most of them
#: are gone again by the time a larger threshold is reached, unexamined.
GC_YOUNG_THRESHOLD = 10_000


def settle_heap() -> None:
    """Once the service is up: what startup built (libraries, the content library, the
    communes) goes into the collector's permanent generation, so that full collections
    stop walking it, and young collections run less often. Together: the collector's
    share of a busy process's CPU went from about 6 % to 2 % (bench/load.py)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


async def _run(settings: Settings) -> int:
    from bot.runtime import ConfigurationError, Runtime

    runtime = Runtime(settings)
    try:
        await runtime.start()
    except ConfigurationError as exc:
        print(f"antq: configuration error: {exc}", file=sys.stderr)
        return 2
    settle_heap()
    try:
        await wait_for_stop_signal()
    finally:
        await runtime.stop()
    return 0


def run_loop(main: Coroutine[Any, Any, T], event_loop: str = "uvloop") -> T:
    """Run `main` on the configured event loop (EVENT_LOOP): uvloop where it is installed
    and asked for, else asyncio's own."""
    if event_loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            logging.getLogger(__name__).info("uvloop is not installed: using asyncio's loop")
        else:
            return uvloop.run(main)
    return asyncio.run(main)


def cmd_run(args: argparse.Namespace) -> int:
    settings = get_settings()
    configure_logging(settings.log_level)
    return run_loop(_run(settings), settings.event_loop)


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    settings = get_settings()
    configure_logging("WARNING" if args.console else settings.log_level)
    return run_loop(run_demo(settings, args), settings.event_loop)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from bot.migrate import upgrade

    settings = get_settings()
    configure_logging(settings.log_level)
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url, args.revision)
    print(f"database at revision {args.revision}")
    return 0


def cmd_content_check(args: argparse.Namespace) -> int:
    from content.library import check_library

    problems = check_library(Path(args.root) if args.root else None)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("content OK")
    return 0


def _locate_json(text: str, province: int, limit: int) -> str:
    from content.locality import lookup

    candidates = lookup(text, province, limit=limit)
    return json.dumps(
        {
            "candidates": [
                {"code": c.code, "name": c.name, "score": round(c.score, 4)} for c in candidates
            ]
        },
        ensure_ascii=False,
    )


def cmd_locate(args: argparse.Namespace) -> int:
    province = args.province or get_settings().province_code
    if args.text == "-":
        for line in sys.stdin:
            print(_locate_json(line.rstrip("\n"), province, args.limit), flush=True)
    else:
        print(_locate_json(args.text, province, args.limit))
    return 0


async def _read_live_library(settings: Settings) -> Library | None:
    """The library the bot serves, read from the database without writing anything; None
    when the database has none (never started, not migrated, or no SQLite file)."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.db import Database
    from content.library import load_files
    from content.store import read

    db = Database(settings.effective_database_url)
    try:
        async with db.reading() as session:
            library = await read(session, load_files())
    except (SQLAlchemyError, OSError):
        return None
    finally:
        await db.dispose()
    return library if library.items else None


def _database_exists(settings: Settings) -> bool:
    """False for an SQLite file that is not there (connecting would create it)."""
    from sqlalchemy.engine import make_url

    if not settings.is_sqlite:
        return True
    path = make_url(settings.effective_database_url).database
    return bool(path) and path != ":memory:" and Path(str(path)).exists()


def _ask_json(answerer: Answerer, text: str) -> str:
    answers = answerer.answer(text)
    return json.dumps(
        {"answers": [{"kind": a.kind, "id": a.id, "score": a.score} for a in answers]},
        ensure_ascii=False,
    )


def cmd_ask(args: argparse.Namespace) -> int:
    from content.answers import prepare
    from content.library import load_files

    settings = get_settings()
    library = None
    if not args.files and _database_exists(settings):
        library = asyncio.run(_read_live_library(settings))
    source = "the database" if library is not None else "the content files"
    library = library or load_files()
    print(f"library: {source} ({len(library.items)} items)", file=sys.stderr)
    answerer = prepare(library)  # what the bot's answer() uses
    if args.text == "-":
        for line in sys.stdin:
            print(_ask_json(answerer, line.rstrip("\n")), flush=True)
    else:
        print(_ask_json(answerer, args.text))
    return 0


def cmd_keys_relay(args: argparse.Namespace) -> int:
    from bot.tips.relay import generate_key

    print(generate_key())
    return 0


def cmd_keys_reseal(args: argparse.Namespace) -> int:
    """Re-seal every tip relay and PIN under the first TIP_RELAY_KEYS key (after adding one)."""
    from bot.db import Database
    from bot.tips.rekey import Resealed, reseal_all
    from bot.tips.relay import RelayCipher, RelayKeyError

    settings = get_settings()
    configure_logging("WARNING")
    try:
        cipher = RelayCipher(settings.tip_relay_keys.get_secret_value())
    except RelayKeyError as exc:
        print(str(exc), file=sys.stderr)
        return 2

    def progress(done: int, total: int) -> None:
        print(f"\r{done}/{total} relays and PINs", end="", file=sys.stderr, flush=True)

    async def run() -> Resealed:
        db = Database(settings.effective_database_url, pool_size=settings.database_pool_size)
        try:
            return await reseal_all(db, cipher, progress)
        finally:
            await db.dispose()

    result = asyncio.run(run())
    print(file=sys.stderr)
    print(
        f"resealed {result.relays} relays and {result.pins} PINs under the newest key; "
        f"{result.unreadable_relays} relays and {result.unreadable_pins} PINs could not be opened"
    )
    return 1 if result.unreadable_relays or result.unreadable_pins else 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    import getpass

    first = getpass.getpass("Mật khẩu / password: ")
    if getpass.getpass("Nhập lại / again: ") != first:
        raise SystemExit("the two passwords differ")
    return first


def cmd_stats_rebuild(args: argparse.Namespace) -> int:
    """Rebuild the statistics from the events and the tips (after an upgrade, a restore or a
    change of TIMEZONE)."""
    import time

    from bot.db import Database
    from bot.stats.rollup import rebuild

    settings = get_settings()
    configure_logging("WARNING")
    started = time.monotonic()
    shown = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - shown[0] >= 1:
            shown[0] = now
            print(
                f"\r{done}/{total} days and periods ({100 * done // max(total, 1)} %)",
                end="" if done < total else "\n",
                file=sys.stderr,
                flush=True,
            )

    async def run() -> int:
        db = Database(settings.effective_database_url, pool_size=settings.database_pool_size)
        try:
            return await rebuild(db, settings.timezone, progress)
        finally:
            await db.dispose()

    days = asyncio.run(run())
    print(f"rebuilt {days} days in {time.monotonic() - started:.1f} s")
    return 0


def cmd_admin_create_user(args: argparse.Namespace) -> int:
    from bot.db import Database
    from bot.migrate import upgrade
    from bot.staff import AccountError, create_account

    settings = get_settings()
    configure_logging("WARNING")
    if settings.is_sqlite:  # the embedded default: make the database if it is not there yet
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade(settings.effective_database_url)
    password = _read_password(args.password_stdin)

    async def create() -> str:
        db = Database(settings.effective_database_url, pool_size=settings.database_pool_size)
        try:
            user = await create_account(
                db, args.username, password, args.role, args.name, args.commune
            )
            return user.username
        finally:
            await db.dispose()

    try:
        name = asyncio.run(create())
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"account {name!r} ({args.role}) created; log in at {settings.public_url or ''}/admin")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="antq", description="ANTQ Connect: citizen-engagement bot for ANTQ."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the service from settings (.env / environment)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "demo", help="run with the bundled fake Telegram and Zalo servers, no tokens needed"
    )
    p.add_argument("--port", type=int, default=8080, help="our HTTP server (web chat, webhook)")
    p.add_argument(
        "--telegram-port",
        type=int,
        default=8081,
        help="the fake Telegram API; the fake Zalo Bot and Zalo OA take the next two ports",
    )
    p.add_argument(
        "--platform",
        choices=[str(p) for p in Platform if p is not Platform.WEB],
        default=str(Platform.TELEGRAM),
        help="which platform the terminal resident uses (with --console)",
    )
    p.add_argument(
        "--console",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="chat as a resident in this terminal (default: when it is a terminal)",
    )
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("db", help="database schema")
    dbsub = p.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="apply migrations")
    up.add_argument("--revision", default="head")
    up.set_defaults(func=cmd_db_upgrade)

    p = sub.add_parser("content", help="the content library")
    csub = p.add_subparsers(dest="content_command", required=True)
    chk = csub.add_parser("check", help="validate every content file")
    chk.add_argument("--root", help="content directory (default: the bundled library)")
    chk.set_defaults(func=cmd_content_check)

    p = sub.add_parser("keys", help="generate keys")
    ksub = p.add_subparsers(dest="keys_command", required=True)
    relay = ksub.add_parser(
        "relay", help="a new tip-relay key (put it first in TIP_RELAY_KEYS, keep the old ones)"
    )
    relay.set_defaults(func=cmd_keys_relay)
    reseal = ksub.add_parser(
        "reseal",
        help="re-seal every tip relay under the first TIP_RELAY_KEYS key (rotation, see README)",
    )
    reseal.set_defaults(func=cmd_keys_reseal)

    p = sub.add_parser("admin", help="staff panel accounts")
    asub = p.add_subparsers(dest="admin_command", required=True)
    create = asub.add_parser("create-user", help="make a staff account (e.g. the first admin)")
    create.add_argument("username")
    create.add_argument("--role", choices=("admin", "officer", "propaganda"), default="admin")
    create.add_argument("--name", default="", help="display name")
    create.add_argument(
        "--commune", type=int, action="append", default=[], help="commune code (officers; repeat)"
    )
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin (scripts)"
    )
    create.set_defaults(func=cmd_admin_create_user)

    p = sub.add_parser("stats", help="engagement statistics")
    ssub = p.add_subparsers(dest="stats_command", required=True)
    rebuild = ssub.add_parser(
        "rebuild",
        help="recount the tips and every day's figures from the events (shows progress)",
    )
    rebuild.set_defaults(func=cmd_stats_rebuild)

    p = sub.add_parser("locate", help='find the commune for an address: antq locate "TEXT" | -')
    p.add_argument("text", help='the address text, or "-" for one text per line on stdin')
    p.add_argument("--province", type=int, default=None, help="province code (default: setting)")
    p.add_argument("--limit", type=int, default=5)
    p.set_defaults(func=cmd_locate)

    p = sub.add_parser(
        "ask",
        help='answer a resident\'s question as the bot would: antq ask "TEXT" | -',
        description=(
            'Prints {"answers": [{"kind", "id", "score"}, ...]} (best first, at most 5; '
            "empty when the bot has no answer), one JSON line per question. The library is "
            "the one the bot serves: read from the database (DATABASE_URL, else the SQLite "
            "file in DATA_DIR; nothing is written), or the content files when the database "
            "has none or with --files."
        ),
    )
    p.add_argument("text", help='the question, or "-" for one question per line on stdin')
    p.add_argument(
        "--files", action="store_true", help="answer from the content files, not the database"
    )
    p.set_defaults(func=cmd_ask)
    return parser


#: Files we create are the owner's alone: the SQLite file and its -wal/-shm hold tip texts,
#: TOTP secrets and the Zalo OA tokens; the demo's password file, exports.
UMASK = 0o077


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.umask(UMASK)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
