"""Questions residents asked that the bot could not answer, and what staff do with them.

The bot's fallback for free text that no step expects (never text typed inside the tip flow
or feedback) calls :func:`record_unanswered` when ``content.answers.answer`` has nothing.
What is kept: the question with identifiers and names masked (:mod:`content.question_mask`),
its language, the local day, and how often it was asked that day; one row per day and
question (the words folded: "Giá vàng?" and "gia vang" are one), under a random id. No
resident, chat, channel or commune, no time finer than the day, no audit entry, no log line:
a question can say as much as a tip, and nothing may tie it to who asked. Rows are deleted
``RETENTION_DAYS`` after their day (:func:`prune`, from housekeeping).

Propaganda staff see them grouped by similarity (:func:`groups`) and can

* attach a group's question to an item as an example question (:func:`attach`): the item is
  saved as a new version through `content.actions`, so the next resident asking it gets the
  item once the live library is refreshed (``content.store.changed``);
* start a new item from it (the panel's new-item form, pre-filled); creating that item ends
  the group (:func:`resolve`);
* dismiss it (:func:`dismiss`).

Each of these deletes the group's rows (nothing is kept longer than needed) and writes the
audit entry, in the caller's transaction.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from pydantic import ValidationError
from rapidfuzz import fuzz, process
from sqlalchemy import CursorResult, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.audit import ActionError, AuditAction, audit
from bot.db import dialect_of
from bot.models import ContentItem, StaffUser, UnansweredQuestion, local_day
from content import actions
from content.library import Item, Questions
from content.question_mask import mask_question
from content.question_terms import fold, words
from content.store import ITEM

__all__ = [
    "MAX_KEYS",
    "QUESTION_MAX_CHARS",
    "RETENTION_DAYS",
    "TEXT_MAX_CHARS",
    "Group",
    "UnansweredError",
    "attach",
    "clean_question",
    "dismiss",
    "group_of",
    "groups",
    "ids_of",
    "prune",
    "question_key",
    "record_unanswered",
    "resolve",
]

#: Days a question is kept after the day it was asked.
RETENTION_DAYS: Final[int] = 30
#: What is kept of a question (characters, after masking).
TEXT_MAX_CHARS: Final[int] = 500
_KEY_MAX_CHARS: Final[int] = 200
#: An example question added to an item, at most (characters).
QUESTION_MAX_CHARS: Final[int] = 200
#: The most asked distinct questions grouped for the page (the rest are counted only):
#: grouping compares each with every one before it.
MAX_KEYS: Final[int] = 1000
#: Two questions are one group from this rapidfuzz score (0..100) of their folded words:
#: the words in any order with small typos, or all the words of one (two or more) in the other.
SIMILAR: Final[float] = 85.0
_CONTAINED_SHARE: Final[float] = 0.6
_PLACEHOLDER: Final = re.compile(r"\[[^\[\]\s]{1,12}\]")


class UnansweredError(ActionError):
    """A staff action on unanswered questions refused; ``code`` says why (the panel words
    it): ``question_required``, ``question_too_long``, ``question_invisible``, ``gone`` (the
    questions were dealt with already), ``unknown_item``, ``item_invalid`` (the item no longer
    passes today's checks)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def question_key(text: str) -> str:
    """A question's words, folded (lower case, no diacritics, teen code expanded), in order
    and without the placeholders of masked parts: what two wordings of the same question
    share."""
    return " ".join(fold(w) for w in words(_PLACEHOLDER.sub(" ", text)))[:_KEY_MAX_CHARS]


def _kept_text(text: str) -> str:
    masked = mask_question(text)
    return " ".join(masked.split())[:TEXT_MAX_CHARS]


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert if dialect_of(session) == "postgresql" else sqlite.insert


async def record_unanswered(session: AsyncSession, text: str, language: str) -> None:
    """Keep a question the bot had no answer to, masked and to the day, in the caller's
    transaction; nothing for an empty text or one without a word (emoji, digits only)."""
    kept = _kept_text(text)
    key = question_key(kept)
    if not key or not any(c.isalpha() for c in key):
        return
    table = UnansweredQuestion.__table__  # type: ignore[attr-defined]
    stmt = (
        _insert(session)(table)
        .values(
            day=local_day(),
            key=key,
            text=kept,
            language="en" if language == "en" else "vi",
            asked=1,
        )
        .on_conflict_do_update(index_elements=["day", "key"], set_={"asked": table.c.asked + 1})
    )
    await session.execute(stmt)


async def prune(session: AsyncSession, now: datetime | None = None) -> int:
    """Delete the questions of days more than ``RETENTION_DAYS`` ago; returns how many rows."""
    oldest = local_day(now) - timedelta(days=RETENTION_DAYS)
    result = await session.execute(
        delete(UnansweredQuestion).where(col(UnansweredQuestion.day) < oldest)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount


def ids_of(values: Iterable[str]) -> list[int]:
    """Row ids as a form or a link carries them (one per value, or comma-separated); what is
    not a row id (not digits, past 64 bits) is left out."""
    parts = [part.strip() for value in values for part in value.split(",")]
    ids = {int(p) for p in parts if p.isascii() and p.isdigit() and len(p) <= 19}
    return sorted(i for i in ids if 0 < i < 2**63)


# --- the page's groups ----------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """Similar questions: the rows behind them, the most asked wording, how often they were
    asked in all and on which day last."""

    ids: tuple[int, ...]
    text: str
    language: str
    asked: int
    last_day: date
    #: Every wording (its most asked text) with how often it was asked, most asked first.
    wordings: tuple[tuple[str, int], ...]


@dataclass
class _Wording:
    key: str
    ids: list[int]
    texts: Counter[str]
    languages: Counter[str]
    asked: int
    last_day: date

    @property
    def text(self) -> str:
        return self.texts.most_common(1)[0][0]


def _similar(key: str, other: str) -> bool:
    if max(fuzz.ratio(key, other), fuzz.token_sort_ratio(key, other)) >= SIMILAR:
        return True
    mine, theirs = set(key.split()), set(other.split())
    small, large = sorted((mine, theirs), key=len)
    return len(small) >= 2 and small <= large and len(small) >= _CONTAINED_SHARE * len(large)


def _cluster(wordings: list[_Wording]) -> list[list[_Wording]]:
    """Greedy: each wording, most asked first, joins the group of the first wording so far
    that it is similar to (rapidfuzz's token set ratio picks the candidates)."""
    clusters: list[list[_Wording]] = []
    seen: list[str] = []
    cluster_of: list[int] = []
    for wording in wordings:
        candidates = process.extract(
            wording.key, seen, scorer=fuzz.token_set_ratio, score_cutoff=SIMILAR, limit=None
        )
        for _key, _score, index in sorted(candidates, key=lambda c: c[2]):
            if _similar(wording.key, seen[index]):
                clusters[cluster_of[index]].append(wording)
                cluster_of.append(cluster_of[index])
                break
        else:
            clusters.append([wording])
            cluster_of.append(len(clusters) - 1)
        seen.append(wording.key)
    return clusters


async def groups(session: AsyncSession, today: date | None = None) -> tuple[list[Group], int]:
    """The questions of the last ``RETENTION_DAYS`` days grouped by similarity, most asked
    first (then the most recent); and how many distinct questions were left out (past
    ``MAX_KEYS``)."""
    today = today or local_day()
    rows = (
        await session.execute(
            select(UnansweredQuestion).where(
                col(UnansweredQuestion.day) >= today - timedelta(days=RETENTION_DAYS)
            )
        )
    ).scalars()
    by_key: dict[str, _Wording] = {}
    for row in rows:
        assert row.id is not None
        # grouped again by today's key: the words' lists may have changed since it was kept
        key = question_key(row.text) or row.key
        wording = by_key.get(key)
        if wording is None:
            wording = by_key[key] = _Wording(key, [], Counter(), Counter(), 0, row.day)
        wording.ids.append(row.id)
        wording.texts[row.text] += row.asked
        wording.languages[row.language] += row.asked
        wording.asked += row.asked
        wording.last_day = max(wording.last_day, row.day)
    ranked = sorted(by_key.values(), key=lambda w: (-w.asked, -w.last_day.toordinal(), w.key))
    left_out = max(0, len(ranked) - MAX_KEYS)
    found = []
    for cluster in _cluster(ranked[:MAX_KEYS]):
        languages: Counter[str] = sum((w.languages for w in cluster), Counter())
        found.append(
            Group(
                ids=tuple(sorted(i for w in cluster for i in w.ids)),
                text=cluster[0].text,
                language=languages.most_common(1)[0][0],
                asked=sum(w.asked for w in cluster),
                last_day=max(w.last_day for w in cluster),
                wordings=tuple((w.text, w.asked) for w in cluster),
            )
        )
    found.sort(key=lambda g: (-g.asked, -g.last_day.toordinal(), g.text))
    return found, left_out


async def group_of(session: AsyncSession, ids: Iterable[int]) -> Group | None:
    """The rows `ids` (those still there) as one group, or None when none is left."""
    wanted = sorted(set(ids))
    if not wanted:
        return None
    rows = list(
        (
            await session.execute(
                select(UnansweredQuestion).where(col(UnansweredQuestion.id).in_(wanted))
            )
        ).scalars()
    )
    if not rows:
        return None
    texts: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    for row in rows:
        texts[row.text] += row.asked
        languages[row.language] += row.asked
    return Group(
        ids=tuple(sorted(r.id for r in rows if r.id is not None)),
        text=texts.most_common(1)[0][0],
        language=languages.most_common(1)[0][0],
        asked=sum(r.asked for r in rows),
        last_day=max(r.day for r in rows),
        wordings=tuple(texts.most_common()),
    )


# --- staff actions --------------------------------------------------------------------------


def clean_question(text: str) -> str:
    """An example question as staff typed it: NFC, on one line, checked like the files'
    texts; raises :class:`UnansweredError`."""
    question = " ".join(unicodedata.normalize("NFC", text).split())
    if not question:
        raise UnansweredError("question_required")
    if len(question) > QUESTION_MAX_CHARS:
        raise UnansweredError("question_too_long")
    try:
        Questions(vi=[question])
    except ValidationError:
        raise UnansweredError("question_invisible") from None
    return question


async def _delete(session: AsyncSession, ids: Sequence[int]) -> tuple[int, int]:
    """Delete the rows `ids`; returns (rows, times asked) of those that were there."""
    group = await group_of(session, ids)
    if group is None:
        return 0, 0
    await session.execute(
        delete(UnansweredQuestion).where(col(UnansweredQuestion.id).in_(group.ids))
    )
    return len(group.ids), group.asked


async def attach(
    session: AsyncSession,
    actor: StaffUser,
    ids: Sequence[int],
    item_id: str,
    question: str,
    language: str,
    note: str = "",
) -> ContentItem:
    """Add `question` to the example questions of item `item_id` (in `language`) as a new
    version of the item, and end the group `ids`. A question the item has already (in either
    language, ignoring case) is not added twice."""
    question = clean_question(question)
    if await group_of(session, ids) is None:
        raise UnansweredError("gone")
    row = await actions.get_row(session, ITEM, item_id, lock=True)
    if not isinstance(row, ContentItem):
        raise UnansweredError("unknown_item")
    item = Item.model_validate(row.data)
    saved = item.questions or Questions()
    if question.casefold() not in {q.casefold() for q in saved.all()}:
        lists = {"vi": list(saved.vi), "en": list(saved.en)}
        lists["en" if language == "en" else "vi"].append(question)
        updated = item.model_copy(update={"questions": Questions(**lists)})
        try:
            await actions.edit_item(session, actor, updated, note, row.version)
        except actions.ContentError:  # the item no longer passes today's checks
            raise UnansweredError("item_invalid") from None
    rows, asked = await _delete(session, ids)
    detail = f"item {item_id}: {question} ({rows} rows, asked {asked} times)"
    audit(session, actor, AuditAction.QUESTION_ATTACH, detail=detail)
    return row


async def resolve(session: AsyncSession, actor: StaffUser, ids: Sequence[int], item_id: str) -> int:
    """End the group `ids` after a new item was made from it; returns the rows deleted."""
    rows, asked = await _delete(session, ids)
    if rows:
        detail = f"new item {item_id} ({rows} rows, asked {asked} times)"
        audit(session, actor, AuditAction.QUESTION_ATTACH, detail=detail)
    return rows


async def dismiss(session: AsyncSession, actor: StaffUser, ids: Sequence[int]) -> int:
    """Drop the group `ids` (not a question for the library); returns the rows deleted. The
    audit entry says how many, not what: the text is not kept past its 30 days."""
    rows, asked = await _delete(session, ids)
    if not rows:
        raise UnansweredError("gone")
    audit(session, actor, AuditAction.QUESTION_DISMISS, detail=f"{rows} rows, asked {asked} times")
    return rows
