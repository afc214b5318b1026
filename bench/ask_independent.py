"""The figures of an examiner's set of residents' questions, asked through `antq ask --files -`.

Issue 20's bars are measured "by `antq ask -` on a set of questions no one on the team has
seen": tests/content/ask_independent.yaml (`--set independent`) and ask_blind.yaml (`--set
blind`), each written from what residents see only, without reading the answerer, its word
lists or the other question sets. Every question goes, one per line, to the product's own
command (the code path the bot uses, the content files as the library); from its JSON lines
come top-1 and top-3 of the answerable questions, the share of out-of-scope questions
declined (an empty answer list), and how many first answers sure enough to be shown at once
(score at least CONFIDENT) were right or wrong.

    python bench/ask_independent.py
    python bench/ask_independent.py --set blind --misses 0

The misses go to stderr; the last line on stdout is one JSON object. Measure, do not tune:
a rule or an example question written for one of these questions spoils the set.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: content/answers.py's CONFIDENT: a first answer scored this or more is shown at once.
SURE = 0.6


def antq() -> str:
    """The `antq` command next to this Python, else the one on PATH."""
    here = Path(sys.executable).with_name("antq")
    found = str(here) if here.exists() else shutil.which("antq")
    if found is None:
        raise SystemExit("antq is not installed (pip install -e .)")
    return found


def ask_all(texts: Sequence[str]) -> list[list[tuple[str, float]]]:
    """Every question's answers as ("kind:id", score), best first, from one `antq ask` run."""
    done = subprocess.run(
        [antq(), "ask", "--files", "-"],
        input="".join(f"{text}\n" for text in texts),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if len(lines) != len(texts):
        raise SystemExit(f"antq ask gave {len(lines)} answers for {len(texts)} questions")
    return [
        [(f"{a['kind']}:{a['id']}", float(a["score"])) for a in json.loads(line)["answers"]]
        for line in lines
    ]


def measure(which: str, shown: int) -> dict[str, Any]:
    from tests.content.ask_testset import (
        blind_questions,
        confident,
        figures,
        independent_questions,
    )

    chosen = blind_questions() if which == "blind" else independent_questions()
    got = dict(zip((q.text for q in chosen), ask_all([q.text for q in chosen]), strict=True))
    found = figures(lambda text: [kind for kind, _ in got[text]], chosen)
    right, wrong = confident(lambda text: got[text], chosen, SURE)
    limit = shown if shown >= 0 else None
    for miss in found.misses[:limit]:
        print(f"  miss: {miss}", file=sys.stderr)
    sure_wrong = [
        f"{q.text!r}: expected {sorted(q.expected) or 'no answer'}, got {got[q.text][0]}"
        for q in chosen
        if got[q.text] and got[q.text][0][1] >= SURE and got[q.text][0][0] not in q.expected
    ]
    for line in sure_wrong[:limit]:
        print(f"  sure but wrong: {line}", file=sys.stderr)
    return {
        **found.as_dict(),
        "misses": len(found.misses),
        "sure_right": right,
        "sure_wrong": wrong,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--misses", type=int, default=-1, help="misses listed on stderr (-1: all, 0: none)"
    )
    parser.add_argument(
        "--set", dest="which", choices=("independent", "blind"), default="independent"
    )
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.which, args.misses)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
