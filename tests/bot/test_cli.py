"""The `antq` command as people use it: real subprocesses where it matters."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, inspect

from bot.cli import main

ANTQ = [sys.executable, "-m", "bot.cli"]


def test_locate_prints_candidates_best_first(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["locate", "tôi ở thôn 3 xã Tây Sơn"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["candidates"][0]["name"] == "Xã Tây Sơn"
    assert isinstance(data["candidates"][0]["code"], int)
    assert 0 < data["candidates"][0]["score"] <= 1
    scores = [c["score"] for c in data["candidates"]]
    assert scores == sorted(scores, reverse=True)


def test_locate_nothing_plausible(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["locate", "xin chào"]) == 0
    assert json.loads(capsys.readouterr().out) == {"candidates": []}


def test_locate_reads_lines_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        sys, "stdin", io.StringIO("phuong quy nhon nam\nxin chào\nP. Lê Lợi, TP Quy Nhơn\n")
    )
    assert main(["locate", "-"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 3
    assert lines[0]["candidates"][0]["name"] == "Phường Quy Nhơn Nam"
    assert lines[1]["candidates"] == []
    assert lines[2]["candidates"][0]["name"] == "Phường Quy Nhơn"


def test_content_check_passes_on_the_shipped_library(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["content", "check"]) == 0
    assert "content OK" in capsys.readouterr().out


def test_content_check_fails_on_a_broken_library(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from content.library import DEFAULT_ROOT

    for name in ("topics.yaml", "hotlines.yaml", "festival.yaml"):
        (tmp_path / name).write_bytes((DEFAULT_ROOT / name).read_bytes())
    (tmp_path / "items").mkdir()
    (tmp_path / "items" / "bad.yaml").write_text("id: bad\ntopic: law\n", encoding="utf-8")
    assert main(["content", "check", "--root", str(tmp_path)]) == 1
    assert "bad.yaml" in capsys.readouterr().out


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path), "DATABASE_URL": ""}
    result = subprocess.run(
        [*ANTQ, "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    engine = create_engine(f"sqlite:///{tmp_path / 'antq.sqlite3'}")
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"resident", "inbound_update", "outbox", "feedback", "alembic_version"} <= tables
    # the database holds tip texts, TOTP secrets, tokens: nobody but its owner may read it
    for made in tmp_path.glob("antq.sqlite3*"):
        assert made.stat().st_mode & 0o077 == 0, (made.name, oct(made.stat().st_mode))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _free_ports(count: int) -> int:
    """The first of `count` consecutive free ports (the demo's fakes take tg_port + 1, + 2)."""
    for _ in range(100):
        first = _free_port()
        sockets = []
        try:
            for offset in range(count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", first + offset))
            return first
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no run of free ports")


def test_demo_runs_without_tokens_and_answers_a_resident(tmp_path: Path) -> None:
    port, tg_port = _free_port(), _free_ports(3)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    env.update({"DATA_DIR": str(tmp_path), "DATABASE_URL": "", "PYTHONUNBUFFERED": "1"})
    proc = subprocess.Popen(
        [*ANTQ, "demo", "--port", str(port), "--telegram-port", str(tg_port), "--no-console"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = ""
        deadline = time.monotonic() + 60
        while "Stop with Ctrl+C" not in banner and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            banner += line
        assert f"http://127.0.0.1:{port}/chat" in banner, banner
        fake = f"http://127.0.0.1:{tg_port}"
        with httpx.Client(timeout=30) as client:
            client.post(
                f"{fake}/_control/updates",
                params={"wait": "1"},
                json={"chat_id": 42, "text": "/start"},
            ).raise_for_status()
            sent = client.get(
                f"{fake}/_control/sent", params={"chat_id": 42, "wait_for": 1, "timeout": 10}
            ).json()
            assert "Chọn ngôn ngữ" in sent["result"][0]["text"]
            page = client.get(f"http://127.0.0.1:{port}/chat")
            assert page.status_code == 200 and "Trò chuyện" in page.text
            # the staff panel, with the demo accounts the banner names
            password = banner.split("password ", 1)[1].split(")", 1)[0]
            login = client.get(f"http://127.0.0.1:{port}/admin/login")
            token = login.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            response = client.post(
                f"http://127.0.0.1:{port}/admin/login",
                data={"username": "canbo", "password": password, "csrf": token},
            )
            assert response.status_code == 303
            assert "Xin chào" in client.get(f"http://127.0.0.1:{port}/admin/").text
        assert (tmp_path / "demo.sqlite3").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert not re.search(r"\d{6,}:[A-Za-z0-9_-]{20,}", banner + out), "a token was printed"


def test_admin_create_user(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    env.update({"DATA_DIR": str(tmp_path), "DATABASE_URL": ""})
    command = [*ANTQ, "admin", "create-user", "truongcongan", "--password-stdin"]
    done = subprocess.run(
        command,
        env=env,
        cwd=tmp_path,
        input="một-mật-khẩu-dài-2026\n",
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "truongcongan" in done.stdout
    again = subprocess.run(
        command,
        env=env,
        cwd=tmp_path,
        input="một-mật-khẩu-dài-2026\n",
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert again.returncode == 2 and "taken" in again.stderr
    short = subprocess.run(
        [
            *ANTQ,
            "admin",
            "create-user",
            "canbo",
            "--role",
            "officer",
            "--commune",
            "21601",
            "--password-stdin",
        ],
        env=env,
        cwd=tmp_path,
        input="ngắn\n",
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert short.returncode == 2 and "10 characters" in short.stderr


def test_keys_relay_prints_a_working_key(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.tips.relay import RelayCipher

    assert main(["keys", "relay"]) == 0
    key = capsys.readouterr().out.strip()
    cipher = RelayCipher(key)
    assert cipher.open(cipher.seal("telegram", "1")) == ("telegram", "1")


def test_stats_rebuild_shows_progress_and_fills_the_daily_figures(tmp_path: Path) -> None:
    import sqlite3

    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    url = f"sqlite:///{tmp_path / 'antq.db'}"
    env.update({"DATA_DIR": str(tmp_path), "DATABASE_URL": url})
    done = subprocess.run(
        [*ANTQ, "db", "upgrade"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "antq.db") as conn:
        conn.execute(
            "INSERT INTO event (kind, ref, channel, commune_code, created_at) "
            "VALUES ('hotlines', NULL, 'telegram', 21601, datetime('now', '-3 days'))"
        )
    done = subprocess.run(
        [*ANTQ, "stats", "rebuild"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "rebuilt 4 days" in done.stdout or "rebuilt 5 days" in done.stdout
    assert "(100 %)" in done.stderr
    with sqlite3.connect(tmp_path / "antq.db") as conn:
        [(value,)] = conn.execute(
            "SELECT value FROM stat_daily"
            " WHERE grain = 'd' AND metric = 'hotlines' AND commune_code = 21601"
        ).fetchall()
    assert value == 1


@pytest.mark.parametrize("choice", ["uvloop", "asyncio"])
def test_the_event_loop_is_the_one_configured(choice: str) -> None:
    import asyncio

    import uvloop

    from bot.cli import run_loop

    async def which() -> bool:
        return isinstance(asyncio.get_running_loop(), uvloop.Loop)

    assert run_loop(which(), choice) is (choice == "uvloop")


def test_settle_heap_freezes_startup_and_raises_the_young_threshold() -> None:
    import gc

    from bot.cli import GC_YOUNG_THRESHOLD, settle_heap

    before = gc.get_threshold()
    try:
        settle_heap()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, before[1], before[2])
        # cycles made afterwards are still collected
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_ask_answers_from_the_files_without_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("lừa đảo\nthời tiết hôm nay thế nào\n113\n"))
    assert main(["ask", "--files", "-"]) == 0
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    first = lines[0]["answers"][0]
    assert (first["kind"], first["id"]) == ("topic", "fraud")
    assert 0 < lines[0]["answers"][0]["score"] <= 1
    assert len(lines[0]["answers"]) <= 5
    assert lines[1] == {"answers": []}
    assert lines[2]["answers"][0]["kind"] == "intent"
    assert lines[2]["answers"][0]["id"] == "hotline"
    assert "the content files" in captured.err


def test_ask_reads_the_live_library_from_the_database_and_writes_nothing(
    tmp_path: Path, database_url: str
) -> None:
    """A database that has the content serves it (an item staff unpublished is not an
    answer); the CLI changes no row and creates no SQLite file."""
    import asyncio

    from sqlalchemy import func, select, update

    from bot.db import Database
    from bot.models import ContentItem, ContentRevision
    from content.library import load_files
    from content.store import seed

    async def prepare() -> None:
        db = Database(database_url)
        async with db.session() as session:
            await seed(session, load_files())
            await session.execute(
                update(ContentItem)
                .where(ContentItem.id == "khi-bi-lua-dao")
                .values(published=False)
            )
        await db.dispose()

    async def state() -> tuple[int, int]:
        db = Database(database_url)
        async with db.session() as session:
            items = (await session.execute(select(func.count()).select_from(ContentItem))).scalar()
            revision = (await session.execute(select(ContentRevision.revision))).scalar()
        await db.dispose()
        return int(items or 0), int(revision or 0)

    asyncio.run(prepare())
    before = asyncio.run(state())
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": database_url}
    done = subprocess.run(
        [*ANTQ, "ask", "bị lừa chuyển tiền rồi phải làm gì"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    answers = json.loads(done.stdout)["answers"]
    assert answers, done.stderr
    assert "khi-bi-lua-dao" not in [a["id"] for a in answers]
    assert "the database (22 items)" in done.stderr
    assert asyncio.run(state()) == before

    without = {**env, "DATABASE_URL": ""}
    done = subprocess.run(
        [*ANTQ, "ask", "bị lừa chuyển tiền rồi phải làm gì"],
        env=without,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout)["answers"][0]["id"] == "khi-bi-lua-dao"
    assert "the content files" in done.stderr
    assert not (tmp_path / "data" / "antq.sqlite3").exists()
