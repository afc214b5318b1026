"""`bench/lone.py` runs its script through the real core and handlers to the end (a tiny run,
SQLite only; the figures are not checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "lone.py"


def test_the_lone_update_bench_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--updates", "40", "--residents", "10"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["sqlite_cpu_ms_per_update"] > 0
    assert figures["sqlite_outbox_rows"] >= 50  # every update answered
