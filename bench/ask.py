"""CPU per resident's question answered by content/answers.py, and the index's build time.

Every question of tests/content/ask_questions.yaml is asked `--rounds` times through the
answerer the bot uses (built from the content files); the CPU time of the process
(`time.process_time`) over all of them, divided by their number, is `cpu_ms_per_question`
(the goal of issue 20: at most 5 ms). `build_ms` is the best of `--builds` index builds for
the shipped library. Also the figures of the question set (top-1 and top-3 of the
answerable questions, the share of out-of-scope questions declined, and how many first
answers sure enough to be shown at once were right or wrong), for the tuning part, the
held-out part of the first set and the fresh part (the held-out part of the second set).

    python bench/ask.py
    python bench/ask.py --rounds 20

Progress goes to stderr; the last line on stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: The goal of issue 20, CPU per question.
GOAL_MS = 5.0


def log(message: str) -> None:
    print(f"[ask-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def measure(rounds: int, builds: int) -> dict[str, Any]:
    from content.answers import CONFIDENT, Answerer, load_intents
    from content.library import load_files
    from tests.content.ask_testset import PARTS, confident, figures, part, questions

    library, intents = load_files(), load_intents()
    build_times = []
    for _ in range(builds):
        started = time.process_time()
        answerer = Answerer(library, intents)
        build_times.append(time.process_time() - started)
    log(f"index built {builds} times, best {min(build_times) * 1000:.1f} ms")

    texts = [q.text for q in questions()]
    for text in texts:  # warm-up: first calls import and cache
        answerer.answer(text)
    started = time.process_time()
    for round_ in range(rounds):
        for text in texts:
            answerer.answer(text)
        log(f"round {round_ + 1}/{rounds}: {len(texts)} questions")
    cpu = time.process_time() - started
    per_question_ms = cpu * 1000 / (rounds * len(texts))

    def ask(text: str) -> list[str]:
        return [f"{a.kind}:{a.id}" for a in answerer.answer(text)]

    def ask_scored(text: str) -> list[tuple[str, float]]:
        return [(f"{a.kind}:{a.id}", a.score) for a in answerer.answer(text)]

    parts: dict[str, dict[str, object]] = {}
    for name in PARTS:
        right, wrong = confident(ask_scored, part(name), CONFIDENT)
        parts[name] = {
            **figures(ask, part(name)).as_dict(),
            "confident_right": right,
            "confident_wrong": wrong,
        }
    return {
        "questions": len(texts),
        "rounds": rounds,
        "cpu_ms_per_question": round(per_question_ms, 3),
        "goal_ms_met": per_question_ms <= GOAL_MS,
        "build_ms": round(min(build_times) * 1000, 1),
        "items": len(library.items),
        **{f"{part}_{key}": value for part, got in parts.items() for key, value in got.items()},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="times every question is asked")
    parser.add_argument("--builds", type=int, default=5, help="index builds measured")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.rounds, args.builds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
