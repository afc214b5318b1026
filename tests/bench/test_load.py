"""`bench/load.py` still plays its residents' scripts to the end on all three platforms: the
labels it presses are the product's, so a renamed button must fail here, not on the day the
load is measured. A tiny run (20 residents), SQLite only; the figures are not checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "load.py"


def test_the_load_bench_runs_every_script_on_every_platform(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--residents", "20", "--warmup", "0", "--bots", "ours"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["ok"] is True
    assert set(figures["channels"]) == {"telegram", "zalo_bot", "zalo_oa"}
    for channel in figures["channels"]:
        assert figures[f"ours_sqlite_updates_{channel}"] > 0
    assert figures["ours_sqlite_ups"] > 0 and figures["ours_sqlite_p99_ms"] is not None
    assert "calibrated 12 scripts" in done.stderr
