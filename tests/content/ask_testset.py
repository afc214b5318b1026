"""The residents' questions of ``ask_questions.yaml`` and the figures content/answers.py
reaches on them (top-1, top-3, declined), per part: the tuning part, the held-out part of the
first set (every third question of each list) and the fresh part (every third question of the
second set, written before the second round of tuning and never looked at during it). Used by
tests/content/test_answers.py and bench/ask.py."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import yaml

QUESTIONS_FILE: Final[Path] = Path(__file__).resolve().parent / "ask_questions.yaml"
#: The independent set: written by an examiner who never saw the answerer, its word lists or
#: the questions above; measured by bench/ask_independent.py, never tuned against.
INDEPENDENT_FILE: Final[Path] = Path(__file__).resolve().parent / "ask_independent.yaml"
#: The second blind set: written by a second examiner under the same rules, with phrasings kept
#: away from the articles' own titles; measured once by bench/ask_blind.py, never tuned against.
BLIND_FILE: Final[Path] = Path(__file__).resolve().parent / "ask_blind.yaml"
#: Every HELD_OUT-th question (the 3rd, 6th…) of each list is held out from the tuning.
HELD_OUT: Final[int] = 3

Part = Literal["tuning", "held_out", "fresh", "independent", "blind"]
#: The parts, in the order the figures are reported.
PARTS: Final[tuple[Part, ...]] = ("tuning", "held_out", "fresh")
#: The lists of the file: (answerable, out of scope, the part their held-out questions are).
_SETS: Final[tuple[tuple[str, str, Part], ...]] = (
    ("answerable", "out_of_scope", "held_out"),
    ("second_answerable", "second_out_of_scope", "fresh"),
)


@dataclass(frozen=True)
class Question:
    text: str
    expected: frozenset[str]  # "kind:id"; empty for an out-of-scope question
    part: Part

    @property
    def held_out(self) -> bool:
        """Not used in the tuning (the held-out or the fresh part)."""
        return self.part != "tuning"


@functools.cache
def questions() -> tuple[Question, ...]:
    data = yaml.safe_load(QUESTIONS_FILE.read_text(encoding="utf-8"))
    found = []
    for answerable, out_of_scope, held_out in _SETS:
        for index, (text, expected) in enumerate(data[answerable], start=1):
            wanted = [expected] if isinstance(expected, str) else expected
            part: Part = held_out if index % HELD_OUT == 0 else "tuning"
            found.append(Question(str(text), frozenset(wanted), part))
        for index, text in enumerate(data[out_of_scope], start=1):
            part = held_out if index % HELD_OUT == 0 else "tuning"
            found.append(Question(str(text), frozenset(), part))
    # the third round's own questions (issue 20): all of them tuning questions
    for text, expected in data.get("tuning_answerable", []):
        wanted = [expected] if isinstance(expected, str) else expected
        found.append(Question(str(text), frozenset(wanted), "tuning"))
    found.extend(
        Question(str(text), frozenset(), "tuning") for text in data.get("tuning_out_of_scope", [])
    )
    return tuple(found)


def _examiner_set(path: Path, name: Part) -> tuple[Question, ...]:
    """An examiner's set (``answerable`` as [text, expected or a list of acceptable answers],
    ``out_of_scope`` as texts), all in the part `name`."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    found = []
    for text, expected in data["answerable"]:
        wanted = [expected] if isinstance(expected, str) else expected
        found.append(Question(str(text), frozenset(wanted), name))
    found.extend(Question(str(text), frozenset(), name) for text in data["out_of_scope"])
    return tuple(found)


@functools.cache
def independent_questions() -> tuple[Question, ...]:
    """The questions of ``ask_independent.yaml``, all in the part "independent"."""
    return _examiner_set(INDEPENDENT_FILE, "independent")


@functools.cache
def blind_questions() -> tuple[Question, ...]:
    """The questions of ``ask_blind.yaml`` (the shape of ``ask_independent.yaml``), all in the
    part "blind"."""
    return _examiner_set(BLIND_FILE, "blind")


def part(name: Part) -> list[Question]:
    """The questions of one part."""
    return [q for q in questions() if q.part == name]


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


def confident(
    ask: Callable[[str], Sequence[tuple[str, float]]], chosen: Sequence[Question], sure: float
) -> tuple[int, int]:
    """How many of ``chosen`` get a first answer scored at least ``sure`` (shown at once), as
    (right, wrong); ``ask`` gives a question's answers as ("kind:id", score), best first."""
    right = wrong = 0
    for question in chosen:
        got = list(ask(question.text))
        if got and got[0][1] >= sure:
            if got[0][0] in question.expected:
                right += 1
            else:
                wrong += 1
    return right, wrong
