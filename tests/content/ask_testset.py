"""The residents' questions of ``ask_questions.yaml`` and the figures content/answers.py
reaches on them (top-1, top-3, declined), on the tuning part and on the held-out part (every
third question of each list). Used by tests/content/test_answers.py and bench/ask.py."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml

QUESTIONS_FILE: Final[Path] = Path(__file__).resolve().parent / "ask_questions.yaml"
#: Every HELD_OUT-th question (the 3rd, 6th…) of each list is held out from the tuning.
HELD_OUT: Final[int] = 3


@dataclass(frozen=True)
class Question:
    text: str
    expected: frozenset[str]  # "kind:id"; empty for an out-of-scope question
    held_out: bool


@functools.cache
def questions() -> tuple[Question, ...]:
    data = yaml.safe_load(QUESTIONS_FILE.read_text(encoding="utf-8"))
    found = []
    for index, (text, expected) in enumerate(data["answerable"], start=1):
        wanted = [expected] if isinstance(expected, str) else expected
        found.append(Question(str(text), frozenset(wanted), index % HELD_OUT == 0))
    for index, text in enumerate(data["out_of_scope"], start=1):
        found.append(Question(str(text), frozenset(), index % HELD_OUT == 0))
    return tuple(found)


@dataclass(frozen=True)
class Figures:
    answerable: int
    top1: float
    top3: float
    out_of_scope: int
    declined: float
    misses: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "answerable": self.answerable,
            "top1": round(self.top1, 3),
            "top3": round(self.top3, 3),
            "out_of_scope": self.out_of_scope,
            "declined": round(self.declined, 3),
        }


def figures(ask: Callable[[str], Sequence[str]], chosen: Sequence[Question]) -> Figures:
    """The figures of ``ask`` (a question -> its answers as "kind:id", best first)."""
    top1 = top3 = declined = answerable = 0
    misses = []
    for question in chosen:
        got = list(ask(question.text))
        if not question.expected:
            declined += not got
            if got:
                misses.append(f"{question.text!r}: expected no answer, got {got[:3]}")
            continue
        answerable += 1
        top1 += bool(got) and got[0] in question.expected
        top3 += any(a in question.expected for a in got[:3])
        if not got or got[0] not in question.expected:
            misses.append(f"{question.text!r}: expected {sorted(question.expected)}, got {got[:3]}")
    out = len(chosen) - answerable
    return Figures(
        answerable,
        top1 / max(answerable, 1),
        top3 / max(answerable, 1),
        out,
        declined / max(out, 1),
        tuple(misses),
    )
