"""`bench/ask.py` asks the question set and builds the index to the end (one round; the CPU
figures are not checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ask.py"


def test_the_question_bench_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--rounds", "1", "--builds", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["cpu_ms_per_question"] > 0
    assert figures["build_ms"] > 0
    assert figures["questions"] >= 360
    assert 0 <= figures["held_out_top1"] <= 1
