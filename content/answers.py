"""Residents' questions answered from the content library, its topics and the bot's intents.

:func:`answer` takes what a resident typed and returns at most ``MAX_ANSWERS`` :class:`Answer`
s, best first, or none when the bot should say it has no answer. What is searched, one target
each: the published items (title, summary, body, tags, example ``questions``), the topics
(title and their items' titles) and the intents of ``intents.yaml`` (``INTENTS``); also the
subjects the bot has no answer for (``out_of_scope.yaml``: weather, lottery, prices…), which
hold only terms nothing else uses and are never answers: a question that is as much about one
of them (``BEYOND_RATIO`` of the best answer's score) gets no answer.

Ranking is bm25s's (BM25, Lucene's variant), over two indexes: the *names* (titles, example
questions, tags, intent phrases) and the *texts* (everything). Terms come from
:mod:`content.question_terms` (diacritics folded and kept, syllable pairs, teen code, English);
a query word the index does not know is corrected to a known one when it is a small typo
(rapidfuzz), else it counts against every answer. An answer's ``score`` (0..1) is how much of
the query's evidence the target holds: per index, the target's BM25 score over the sum of the
best score each query term reaches in that index (plus, for each unknown word, the mean of
those bests, weighted ``UNKNOWN_WEIGHT``); the two indexes are averaged (``NAME_WEIGHT``).

How the bot uses the scores:

* ``answers[0].score >= CONFIDENT``: show that answer (the article, the topic, the feature);
  never when a second answer is nearly as good (``CLOSE``): both are then kept below it;
* otherwise (``ANSWERED <= score < CONFIDENT``): "Có phải bạn muốn hỏi…?" with up to three
  of the answers as choices;
* no answers (best below ``ANSWERED``, or below ``ANSWERED_COVERED`` when it holds at least
  ``WELL_COVERED`` of the question, or holding less than ``COVERED`` of it):
  "mình chưa có câu trả lời", the menu and 113.

How much of the question the best answer holds (``_covered``) is what tells a question out of
scope from one the library answers, whatever its subject: such a question shares a word or
two with the library ("hôm nay", "tiền", "điện thoại", "đăng ký") and has others no answer
holds. The question's words are weighted by their IDF among the answers (a word most answers
hold weighs little, one none holds the most; the generic words of ``question_words.yaml``,
"vừa", "người", "might", count half); a word the answer holds next to one of the question's
neighbours ("người yêu", not "yêu cầu") counts whole, as a syllable only, half; an English
word is whole on its own. The out-of-scope subjects only add to this.

Some questions are told by their words rather than their scores (``question_words.yaml``):

* an *everyday* question ("mở tài khoản ngân hàng", "quên mật khẩu", "giá * bao nhiêu", "bạn
  mấy tuổi": its ``everyday`` patterns) gets no answer, however well it scores on the
  library's words, unless it tells of *trouble* (its ``trouble`` words and ``crimes``: "bị
  lừa", "công an gọi", "trộm", "vi phạm");
* a question that names a crime ("móc túi", "deepfake scam": the ``crimes``) is answered, as
  choices, from ``TROUBLE_ANSWERED`` with ``TROUBLE_COVERED`` held; one that tells of trouble,
  from ``ANSWERED_COVERED`` with ``COVERED`` held;
* a feature clearly first (an intent from ``INTENT_CLEAR``, the next answer at most
  ``INTENT_AHEAD`` of it; not the hotline) is answered however little of the question its few
  phrases hold.

A tip code ("TG-7K3M9Q") anywhere in the text answers the ``follow`` intent, sure.

A text that tells of an emergency ("đang đánh nhau", "có người bị đâm", "cháy nhà", "I was
robbed": the ``emergencies`` of ``question_words.yaml``) is never left without an answer: unless
the ``hotline`` or the ``tip`` intent is its first answer, both come first, as choices (below
``CONFIDENT``).

The index is built from a :class:`~content.library.Library` (about 0.17 s of CPU for the
shipped library, see bench/ask.py; an answer then costs about 0.5 ms): :func:`answer` builds
it for the library ``load_library()`` serves and builds it again when that library is replaced
(the live copy refreshed after staff changed content); :func:`prepare` builds it ahead, at
start or right after a refresh, so that no resident's update waits for it.
"""

from __future__ import annotations

import functools
import math
import re
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import bm25s
import numpy as np
import yaml
from rapidfuzz import fuzz, process

from bot.tips.codes import normalise_code
from content.library import Library, load_library
from content.question_terms import (
    PAIR,
    Terms,
    crime,
    emergency,
    everyday,
    fold,
    generic,
    terms,
    trouble,
    words,
)

__all__ = [
    "ANSWERED",
    "CONFIDENT",
    "COVERED",
    "INTENTS",
    "INTENTS_FILE",
    "LISTED",
    "MAX_ANSWERS",
    "MAX_CHARS",
    "Answer",
    "Answerer",
    "Kind",
    "answer",
    "load_intents",
    "prepare",
]

Kind = Literal["item", "topic", "intent"]

#: The intents the handlers act on, in the order of ``intents.yaml``.
INTENTS: Final[tuple[str, ...]] = (
    "hotline",
    "tip",
    "follow",
    "festival",
    "feedback",
    "settings",
    "unsubscribe",
    "library",
    "help",
    "menu",
    "greeting",
    "thanks",
)
INTENTS_FILE: Final[Path] = Path(__file__).resolve().parent / "intents.yaml"
#: The subjects the bot has no answer for (weather, lottery…): searched like the library, and
#: a question more about one of them than about anything the bot has is not answered.
OUT_OF_SCOPE_FILE: Final[Path] = Path(__file__).resolve().parent / "out_of_scope.yaml"

#: From this score on, the best answer is shown as it is.
CONFIDENT: Final[float] = 0.6
#: Below this score for the best answer, the bot has no answer (an empty list).
ANSWERED: Final[float] = 0.35
#: A best answer holding at least ``WELL_COVERED`` of the question is answered from this lower
#: score on: the question is the library's, in words it spreads over several answers.
ANSWERED_COVERED: Final[float] = 0.3
WELL_COVERED: Final[float] = 0.6
#: A question that names a crime (``crimes`` of ``question_words.yaml``: "trộm", "lừa",
#: "scam") is answered, as choices, from this score and this share of it held, lower than
#: ``ANSWERED`` and ``COVERED``: better a list of near articles than nothing to a victim.
#: One that tells of trouble (``trouble`` words: "số lạ", "công an", "chuyển tiền") is
#: answered, as choices too, from ``ANSWERED_COVERED`` with ``COVERED`` held.
TROUBLE_ANSWERED: Final[float] = 0.2
TROUBLE_COVERED: Final[float] = 0.2
#: ...with the answers after the first from this score on.
TROUBLE_LISTED: Final[float] = 0.1
#: A feature (an intent) scoring this, with the next answer at most ``INTENT_AHEAD`` of it,
#: is answered however little of the question its few phrases hold ("xã mình năm nay có tổ
#: chức ngày hội ko": the festival).
INTENT_CLEAR: Final[float] = 0.55
INTENT_AHEAD: Final[float] = 0.6
#: ...but the hotline, whose phrases ("số điện thoại") every business's number shares.
_NUMBERED: Final[frozenset[str]] = frozenset(("hotline",))
#: The answers after the first are listed from this score on.
LISTED: Final[float] = 0.2
#: A question is not answered when its best out-of-scope subject scores at least this, and at
#: least this share of the best answer's score.
BEYOND_MIN: Final[float] = 0.1
BEYOND_RATIO: Final[float] = 0.35
#: A text made of at least half of a topic's title's words and nothing else (no "thì làm sao":
#: a keyword, not a question) names the topic
#: ("lừa đảo"): it comes first, with the best score (plus this, to rank it first).
TOPIC_NAMED: Final[float] = 1e-3
#: A question ("thì làm sao", "là gì", "how…") is answered by an article rather than a topic's
#: list: a topic's score is multiplied by this.
TOPIC_ASKED: Final[float] = 0.8
_ASKING: Final[frozenset[str]] = frozenset(
    ("sao", "gi", "nao", "the", "dau", "how", "what", "why", "where", "which")
)
#: A question asking for kinds ("các hình thức", "những chiêu", "types of") is answered by a
#: topic's list rather than one article: a topic's score is multiplied by this.
TOPIC_LISTED: Final[float] = 1.3
_LISTING: Final[re.Pattern[str]] = re.compile(
    r"\b(hinh thuc|(cac|nhung) (kieu|loai|chieu|dang|thu doan)|thu doan|(types|kinds) of)\b"
)
#: When the second answer scores at least this share of the first, neither is sure: both are
#: offered as choices (their scores are kept below ``CONFIDENT``).
CLOSE: Final[float] = 0.9
#: Below this share of the question (its words weighted by IDF) held by the best answer, the
#: bot has no answer: a question out of scope shares a word or two with the library ("hôm
#: nay", "tiền", "điện thoại") and has others no answer holds.
COVERED: Final[float] = 0.4
#: What a word an answer holds only as a syllable, never next to the question's neighbour,
#: counts for (a whole word held counts 1).
SYLLABLE_ONLY: Final[float] = 0.5
#: What a generic word ("hôm nay", "vừa", "người": ``question_words.yaml``) weighs in
#: ``_covered``, against its IDF.
GENERIC_WEIGHT: Final[float] = 0.5
#: At most this many answers.
MAX_ANSWERS: Final[int] = 5
#: Only the start of a long text is read: a question is a few words, and the cost of an
#: answer grows with the terms (a whole pasted article took 20 ms).
MAX_CHARS: Final[int] = 300
#: The share of the names' index in a score (the texts' index has the rest).
NAME_WEIGHT: Final[float] = 0.5
#: BM25's length normalisation (0: none, 1: full) in the names' and the texts' index: a
#: long title that holds more of the question should not lose to a short one that holds less.
NAMES_B: Final[float] = 0.3
TEXTS_B: Final[float] = 0.75
#: What a query word the index does not know weighs, against the known words' mean.
UNKNOWN_WEIGHT: Final[float] = 2.0
#: A typo is corrected to a known word from this rapidfuzz ratio (0..100) on, for words of
#: at least ``FUZZY_MIN_LENGTH`` letters (shorter ones have too many neighbours).
FUZZY_CUTOFF: Final[float] = 85.0
FUZZY_MIN_LENGTH: Final[int] = 5
#: Against one answer's own words (``_covered``), a typo is corrected from this length on.
FUZZY_NEAR_LENGTH: Final[int] = 4
#: How unknown a word typed with diacritics is that the index knows only without them
#: ("bóng" where the library has only "bông"/"bong"...): a hint, not proof (a misplaced
#: diacritic is a common typo).
HALF_KNOWN: Final[float] = 0.5
#: How unknown a pair of two non-stopwords is that the index has never seen ("giá vàng").
PAIR_UNKNOWN: Final[float] = 0.5

#: A Vietnamese syllable without its diacritics (an onset, one to three vowels, a final): a
#: word held is whole only with a neighbour of the question's, unless it cannot be a syllable
#: and is whole on its own ("scam", "online", "english").
_SYLLABLE: Final[re.Pattern[str]] = re.compile(
    r"(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnpqrstvx])?[aeiouy]{1,3}(ch|ng|nh|[cmnpt])?$"
)
#: What an emergency is answered with, in this order (call 113, or send a tip).
_EMERGENCY: Final[tuple[str, ...]] = ("hotline", "tip")
_TIP_CODE: Final[re.Pattern[str]] = re.compile(r"\bTG[\s\-_.]?[0-9A-Z]{6}\b", re.IGNORECASE)


@dataclass(frozen=True)
class Answer:
    """One answer: an item id, a topic id or an intent id (``INTENTS``); ``score`` in 0..1."""

    kind: Kind
    id: str
    score: float


@dataclass(frozen=True)
class _Target:
    kind: Kind | Literal["none"]  # "none": a subject of ``OUT_OF_SCOPE_FILE``, never an answer
    id: str
    #: one document each in the names' index (a target scores its best one)
    names: tuple[tuple[str, ...], ...]
    texts: tuple[str, ...]


def load_intents(path: Path = INTENTS_FILE) -> dict[str, list[str]]:
    """The intents' phrases (both languages together), checked against ``INTENTS``."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or sorted(data) != sorted(INTENTS):
        raise ValueError(f"{path.name}: the intents must be exactly {', '.join(INTENTS)}")
    phrases: dict[str, list[str]] = {}
    for intent in INTENTS:
        entry = data[intent]
        phrases[intent] = [str(p) for language in ("vi", "en") for p in entry.get(language, [])]
        if not phrases[intent]:
            raise ValueError(f"{path.name}: intent {intent!r} has no phrases")
    return phrases


def load_out_of_scope(path: Path = OUT_OF_SCOPE_FILE) -> dict[str, list[str]]:
    """The out-of-scope subjects' phrases (both languages together)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{path.name}: expected subjects, each with vi and en phrases")
    return {
        str(subject): [str(p) for language in ("vi", "en") for p in entry.get(language, [])]
        for subject, entry in data.items()
    }


def _targets(
    library: Library,
    intents: Mapping[str, Sequence[str]],
    out_of_scope: Mapping[str, Sequence[str]],
) -> list[_Target]:
    targets: list[_Target] = []
    for item in library.items.values():
        title = (item.title.vi, item.title.en, *(tag.replace("-", " ") for tag in item.tags))
        asked = tuple(item.questions.all()) if item.questions is not None else ()
        texts = (*title, *asked, item.summary.vi, item.summary.en, item.body.vi, item.body.en)
        names = (title, *((q,) for q in asked))
        targets.append(_Target("item", item.id, names, texts))
    for topic in library.topics:
        if len(library.items_by_topic(topic.id)) < 2:
            continue  # a topic of one item is that item: the item answers
        title = (topic.title.vi, topic.title.en)
        members = [t for i in library.items_by_topic(topic.id) for _, t in i.title.items()]
        targets.append(_Target("topic", topic.id, (title,), (*title, *members)))
    hotlines = [text for h in library.hotlines for text in (h.number, h.title.vi, h.title.en)]
    for intent, phrases in intents.items():
        texts = (*phrases, *hotlines) if intent == "hotline" else tuple(phrases)
        targets.append(_Target("intent", intent, tuple((p,) for p in phrases), texts))
    for subject, phrases in out_of_scope.items():
        targets.append(_Target("none", subject, tuple((p,) for p in phrases), tuple(phrases)))
    return targets


def _idf(documents: int, holding: int) -> float:
    """BM25's inverse document frequency (as bm25s's Lucene variant weighs a term)."""
    return math.log(1 + (documents - holding + 0.5) / (holding + 0.5))


def _index(documents: list[list[str]], b: float) -> bm25s.BM25:
    index = bm25s.BM25(b=b)
    index.index(documents, show_progress=False)
    return index


class Answerer:
    """The index of one library: :meth:`answer` answers questions from it."""

    def __init__(
        self,
        library: Library,
        intents: Mapping[str, Sequence[str]] | None = None,
        out_of_scope: Mapping[str, Sequence[str]] | None = None,
    ):
        self.library = library
        self._targets = _targets(
            library,
            load_intents() if intents is None else intents,
            _out_of_scope() if out_of_scope is None else out_of_scope,
        )
        self._none = np.array([t.kind == "none" for t in self._targets])
        names = [[self._document(n) for n in t.names] for t in self._targets]
        texts = [self._document(t.texts) for t in self._targets]
        # an out-of-scope subject holds only what nothing the bot has holds: a word the
        # library uses ("tết", "tiếng anh", "nước") is evidence for the library, never against
        ours = {
            term
            for t, text in zip(self._targets, texts, strict=True)
            if t.kind != "none"
            for term in text
        }
        # each answer's terms, and each term's IDF among the answers (how much of a question
        # an answer holds, ``_covered``)
        self._terms = [frozenset(text) for text in texts]
        self._generic = generic()
        self._words_of = [sorted({w for w in text if PAIR not in w}) for text in texts]
        answers = [
            held for t, held in zip(self._targets, self._terms, strict=True) if t.kind != "none"
        ]
        counts = Counter(term for held in answers for term in held)
        self._idf = {term: _idf(len(answers), count) for term, count in counts.items()}
        self._rarest = _idf(len(answers), 0)
        for index, target in enumerate(self._targets):
            if target.kind == "none":
                names[index] = [[w for w in n if w not in ours] for n in names[index]]
                texts[index] = [w for w in texts[index] if w not in ours]
        self._names = _index([n for target_names in names for n in target_names], NAMES_B)
        # where each target's name documents start (they are contiguous)
        sizes = [len(t.names) for t in self._targets]
        self._name_starts = np.cumsum([0, *sizes[:-1]])
        self._texts = _index(texts, TEXTS_B)
        # each title's words, per topic: a question made of half of them names the topic
        self._topics = [
            (index, [frozenset(fold(w) for w in words(title)) for title in t.names[0]])
            for index, t in enumerate(self._targets)
            if t.kind == "topic"
        ]
        known = set(self._names.vocab_dict) | set(self._texts.vocab_dict)
        self._typed = frozenset(w for w in known if w and PAIR not in w)
        self._words = sorted(w for w in self._typed if fold(w) == w)
        self._known = frozenset(self._words)
        self._pairs = frozenset(w for w in known if PAIR in w)

    @staticmethod
    def _document(texts: Sequence[str]) -> list[str]:
        return [term for text in texts for term in terms(text).all()]

    def _corrected(self, query: Terms) -> tuple[list[str], float, list[tuple[str | None, int]]]:
        """The query's terms with typos corrected, how many words stay unknown (a word typed
        with diacritics known only without them counts ``HALF_KNOWN``), and each word's
        known form (``None``: unknown) with its place in ``query.words``."""
        found: list[str] = []
        unknown = 0.0
        known: list[tuple[str | None, int]] = []
        for place, (folded, typed) in enumerate(query.words):
            numeral = any(c.isdigit() for c in folded)
            if folded in self._known:
                found.append(folded)
                if not numeral:
                    known.append((folded, place))
                if typed != folded:
                    if typed in self._typed:
                        found.append(typed)
                    else:
                        unknown += HALF_KNOWN
                continue
            if numeral:
                continue  # an amount or a date ("20tr", "30%", "2026"), not a subject
            if len(folded) >= FUZZY_MIN_LENGTH:
                match = process.extractOne(
                    folded, self._words, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF
                )
                if match is not None:
                    found.append(match[0])
                    known.append((match[0], place))
                    continue
            unknown += 1
            known.append((None, place))
        unknown += PAIR_UNKNOWN * sum(p not in self._pairs for p in query.content_pairs)
        return [*found, *query.pairs], unknown, known

    def _covered(self, target: int, query: Terms, known: list[tuple[str | None, int]]) -> float:
        """How much of the question ``target`` holds (0..1): its words weighted by their IDF
        among the answers (a word most answers hold, "công", "báo", weighs little; one none
        holds, the most), a word held as the question uses it (with a neighbour, "người
        yêu") counting whole, held only as a syllable ("yêu" of "yêu cầu") half."""
        held = self._terms[target]
        total = covered = 0.0
        for word, place in known:
            weight = self._idf.get(word, self._rarest) if word is not None else self._rarest
            if query.words[place][0] in self._generic:
                weight *= GENERIC_WEIGHT
            total += weight
            if word is None:
                # a typo too short to be corrected against every answer ("denn"), corrected
                # against this one's words
                typed = query.words[place][0]
                if len(typed) >= FUZZY_NEAR_LENGTH and process.extractOne(
                    typed, self._words_of[target], scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF
                ):
                    covered += weight * SYLLABLE_ONLY
            elif word in held:
                around = query.neighbours[place]
                whole = not around or not _SYLLABLE.match(word) or any(p in held for p in around)
                covered += weight * (1.0 if whole else SYLLABLE_ONLY)
        return covered / total if total else 1.0

    @staticmethod
    def _share(index: bm25s.BM25, query: list[str], unknown: float) -> np.ndarray:
        """Per target: its BM25 score over the most the query's terms can reach here."""
        ids = index.get_tokens_ids(query)
        count = int(index.scores["num_docs"])
        if not ids:
            return np.zeros(count)
        per_term = np.vstack([index.get_scores_from_ids([i]) for i in ids])
        best = per_term.max(axis=1)
        reachable = float(best.sum()) + unknown * UNKNOWN_WEIGHT * float(best.mean())
        if reachable <= 0:
            return np.zeros(count)
        return np.asarray(per_term.sum(axis=0) / reachable)

    def _scored(self, question: str) -> tuple[list[Answer], float, float]:
        """Every answer with its score, best first, the best out-of-scope subject's score and
        how much of the question the best answer holds (``_covered``)."""
        asked = terms(question[:MAX_CHARS], paraphrase=True)
        query, unknown, known = self._corrected(asked)
        if not query:
            return [], 0.0, 0.0
        names = np.maximum.reduceat(self._share(self._names, query, unknown), self._name_starts)
        texts = self._share(self._texts, query, unknown)
        score = NAME_WEIGHT * names + (1 - NAME_WEIGHT) * texts
        beyond = float(score[self._none].max()) if self._none.any() else 0.0
        typed = {fold(w) for w in words(question[:MAX_CHARS], paraphrase=True)}
        said = " ".join(fold(w) for w in words(question[:MAX_CHARS]))
        if _LISTING.search(said):  # "các hình thức lừa đảo", "kinds of scams": a topic's list
            for index, _ in self._topics:
                score[index] *= TOPIC_LISTED
        elif typed & _ASKING:  # "… thì làm sao": a question, which an article answers
            for index, _ in self._topics:
                score[index] *= TOPIC_ASKED
        for index, titles in self._topics:
            if typed and any(typed <= t and 2 * len(typed) >= len(t) for t in titles):
                # "lừa đảo", "ma túy": the topic named, first (with the best score)
                score[index] = max(score[index], float(score[~self._none].max()))
                score[index] += TOPIC_NAMED
        order = np.argsort(-score, kind="stable")
        score = np.minimum(score, 1.0)
        ranked: list[Answer] = []
        covered = 0.0
        for i in order:
            target = self._targets[i]
            if target.kind != "none":
                if not ranked:
                    covered = self._covered(int(i), asked, known)
                ranked.append(Answer(target.kind, target.id, round(float(score[i]), 4)))
        return ranked, beyond, covered

    def scores(self, question: str) -> list[Answer]:
        """Every target with its score, best first (what :meth:`answer` chooses from)."""
        return self._scored(question)[0]

    def answer(self, question: str) -> list[Answer]:
        """At most ``MAX_ANSWERS`` answers, best first; empty when there is no answer."""
        if any(normalise_code(m.group()) for m in _TIP_CODE.finditer(question)):
            return [Answer("intent", "follow", 1.0)]
        found = self._found(question)
        if emergency(question[:MAX_CHARS]) and not (
            found and found[0].kind == "intent" and found[0].id in _EMERGENCY
        ):
            unsure = round(CONFIDENT - 0.01, 4)
            first = [Answer("intent", intent, unsure) for intent in _EMERGENCY]
            rest = [a for a in found if (a.kind, a.id) not in {("intent", i) for i in _EMERGENCY}]
            return [*first, *rest[: MAX_ANSWERS - len(first)]]
        return found

    def _found(self, question: str) -> list[Answer]:
        if everyday(question[:MAX_CHARS]):
            return []  # "mở tài khoản ngân hàng", "giá xe máy": no crime, no law in it
        ranked, beyond, covered = self._scored(question)
        if not ranked:
            return []
        named = crime(question[:MAX_CHARS])
        if beyond >= BEYOND_MIN and beyond >= BEYOND_RATIO * ranked[0].score:
            return []
        clear_intent = (
            ranked[0].kind == "intent"
            and ranked[0].id not in _NUMBERED
            and ranked[0].score >= INTENT_CLEAR
            and (len(ranked) < 2 or ranked[1].score <= INTENT_AHEAD * ranked[0].score)
        )
        if not clear_intent and (
            covered < COVERED
            or ranked[0].score < (ANSWERED_COVERED if covered >= WELL_COVERED else ANSWERED)
        ):
            near = covered >= TROUBLE_COVERED and ranked[0].score >= TROUBLE_ANSWERED and named
            if not near and not (
                covered >= COVERED
                and ranked[0].score >= ANSWERED_COVERED
                and trouble(question[:MAX_CHARS])
            ):
                return []
            # a crime, a danger told in words the library spreads thin ("móc túi ở chợ",
            # "deepfake scam", "số lạ nói là công an"): the closest answers as choices, never
            # shown at once
            unsure = round(CONFIDENT - 0.01, 4)
            listed = [a for a in ranked[1:MAX_ANSWERS] if a.score >= TROUBLE_LISTED]
            return [Answer(a.kind, a.id, min(a.score, unsure)) for a in (ranked[0], *listed)]
        answers = [ranked[0], *(a for a in ranked[1:MAX_ANSWERS] if a.score >= LISTED)]
        if len(answers) > 1 and answers[1].score >= CLOSE * answers[0].score:
            # two answers nearly as good: the resident chooses ("Có phải bạn muốn hỏi…?")
            unsure = round(CONFIDENT - 0.01, 4)
            answers = [Answer(a.kind, a.id, min(a.score, unsure)) for a in answers]
        return answers


class _Current:
    answerer: Answerer | None = None
    lock = threading.Lock()


_current = _Current()


def prepare(library: Library | None = None) -> Answerer:
    """The index of ``library`` (default: what ``load_library()`` serves), built now unless
    it is already built; :func:`answer` uses it from then on."""
    library = load_library() if library is None else library
    with _current.lock:
        answerer = _current.answerer
        if answerer is None or answerer.library is not library:
            answerer = _current.answerer = Answerer(library, _intents())
        return answerer


@functools.cache
def _intents() -> dict[str, list[str]]:
    return load_intents()


@functools.cache
def _out_of_scope() -> dict[str, list[str]]:
    return load_out_of_scope()


def answer(question: str) -> list[Answer]:
    """The answers to a resident's question from the library residents see (see the module's
    docstring for what the scores mean); the index is rebuilt when that library changed."""
    return prepare().answer(question)
