"""Residents' questions (and the texts they are matched against) as search terms.

Vietnamese as residents type it: with or without diacritics, in teen code, with old or new
tone placement, in full sentences or a keyword. A text becomes a list of terms:

* words are lower-cased, NFC, split on anything that is not a letter or digit (an emoji is a
  word of its own); abbreviations and teen code are expanded (``question_words.yaml``);
* a question's everyday paraphrases ("xưng là công an", "phạt nguội", "mất nick") are
  rewritten in the library's words ("giả danh công an", "chiếm tài khoản": the
  ``paraphrases`` of ``question_words.yaml``), for the question only (``paraphrase=True``):
  the library keeps its own words;
* each word that is not a stopword gives its folded form (diacritics removed, đ → d) and,
  when it has diacritics, also its own form, so ``lua dao`` and ``lừa đảo`` both match;
* each pair of neighbouring words gives a two-syllable term ("lua_dao"): most Vietnamese
  words are two syllables, so the pair is what carries the meaning (unless both are stopwords);
* English endings ("s", "ed", "ing") are dropped (no Vietnamese syllable has them);
* a text made of stopwords only ("giúp tôi với", "what can you do") keeps them all.

The same function makes the index's terms and the query's, so both sides agree.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml

__all__ = [
    "GAP",
    "WORDS_FILE",
    "Terms",
    "crime",
    "emergency",
    "everyday",
    "fold",
    "generic",
    "terms",
    "trouble",
    "words",
]

#: Abbreviations and stopwords.
WORDS_FILE: Final[Path] = Path(__file__).resolve().parent / "question_words.yaml"
#: Marks the two-syllable terms ("lua_dao"); never inside a word (\w excludes nothing else).
PAIR: Final[str] = "_"

_WORD: Final[re.Pattern[str]] = re.compile(
    r"[^\W_]+|[\U0001F300-\U0001FAFF\u2600-\u27BF]", re.UNICODE
)


@dataclass(frozen=True)
class Terms:
    """A text's terms: its single ``words`` as (folded, as typed) pairs, and its two-syllable
    ``pairs`` (folded, and as typed when that differs). The single words are what a question is
    judged by: one the index does not know makes an answer less sure."""

    words: tuple[tuple[str, str], ...]
    pairs: tuple[str, ...]
    #: the folded pairs of two words that are not stopwords ("gia_vang" of "giá vàng"): what
    #: a question is about, when the index has never seen it
    content_pairs: tuple[str, ...] = ()
    #: per single word (in the order of ``words``), the folded pairs it forms with the words
    #: next to it, stopwords included ("nguoi_yeu", "yeu_chua" for "yêu" of "người yêu chưa"):
    #: whether a text holds the word as the question uses it, or only the syllable
    neighbours: tuple[tuple[str, ...], ...] = ()

    def all(self) -> list[str]:
        """Every term, as the index takes them."""
        typed = [t for f, t in self.words if t != f]
        return [*(f for f, _ in self.words), *typed, *self.pairs]


def fold(text: str) -> str:
    """``text`` without Vietnamese diacritics (đ → d), NFC."""
    stripped = "".join(
        c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn"
    )
    return unicodedata.normalize("NFC", stripped.replace("đ", "d").replace("Đ", "D"))


@functools.cache
def _paraphrases() -> dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]]:
    """The paraphrases by their first word (folded): (their words, the library's words), the
    longest first."""
    data = yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8"))
    found: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
    for key, value in (data.get("paraphrases") or {}).items():
        said = tuple(_WORD.findall(unicodedata.normalize("NFC", str(key)).lower()))
        meant = tuple(_WORD.findall(unicodedata.normalize("NFC", str(value)).lower()))
        if said:
            found.setdefault(fold(said[0]), []).append((said, meant))
    for options in found.values():
        options.sort(key=lambda option: -len(option[0]))
    return found


def _says(typed: str, word: str, bare: bool) -> bool:
    """Whether ``typed`` is ``word``; in a text typed without any diacritics (``bare``), their
    folded form is enough ("danh" is "đánh" only there: "mạo danh" is not "đánh")."""
    return typed == word or (bare and fold(word) == typed)


def _bare(text: str) -> bool:
    """Whether ``text`` was typed without any diacritics (its abbreviations aside)."""
    return fold(text) == text


def _paraphrased(found: list[str], bare: bool) -> list[str]:
    paraphrases = _paraphrases()
    rewritten: list[str] = []
    index = 0
    while index < len(found):
        for said, meant in paraphrases.get(fold(found[index]), ()):
            end = index + len(said)
            if end <= len(found) and all(
                _says(t, w, bare) for t, w in zip(found[index:end], said, strict=True)
            ):
                rewritten.extend(meant)
                index = end
                break
        else:
            rewritten.append(found[index])
            index += 1
    return rewritten


@functools.cache
def _word_lists() -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
    data = yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8"))
    abbreviations = {
        unicodedata.normalize("NFC", str(k)).lower(): tuple(_WORD.findall(str(v).lower()))
        for k, v in data["abbreviations"].items()
    }
    stopwords = frozenset(unicodedata.normalize("NFC", str(w)).lower() for w in data["stopwords"])
    return abbreviations, stopwords


@functools.cache
def generic() -> frozenset[str]:
    """The generic words of ``question_words.yaml``, as :func:`terms` gives single words
    (folded, English endings taken off): searched, but telling little of what is asked."""
    data = yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8"))
    return frozenset(_plain(unicodedata.normalize("NFC", str(w)).lower()) for w in data["generic"])


@functools.cache
def _emergencies() -> dict[str, list[tuple[str, ...]]]:
    data = yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8"))
    found: dict[str, list[tuple[str, ...]]] = {}
    for phrase in data.get("emergencies") or ():
        said = tuple(_WORD.findall(unicodedata.normalize("NFC", str(phrase)).lower()))
        if said:
            found.setdefault(fold(said[0]), []).append(said)
    return found


def emergency(text: str) -> bool:
    """Whether ``text`` tells of something happening that needs help now (a fight, a stabbing,
    a robbery, a fire: the ``emergencies`` of ``question_words.yaml``)."""
    found = words(text)
    emergencies = _emergencies()
    bare = _bare(unicodedata.normalize("NFC", text))
    for index, word in enumerate(found):
        for said in emergencies.get(fold(word), ()):
            end = index + len(said)
            if end <= len(found) and all(
                _says(t, w, bare) for t, w in zip(found[index:end], said, strict=True)
            ):
                return True
    return False


#: In a pattern of ``everyday``, ``trouble`` or ``crimes``, a word standing for up to ``GAP``
#: words ("mua * ở đâu": "mua xe máy ở đâu"); never a pattern's first word.
GAP: Final[int] = 3


@functools.cache
def _patterns(key: str) -> tuple[tuple[str, ...], ...]:
    data = yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8"))
    found = []
    for phrase in data.get(key) or ():
        said = tuple(
            "*" if part == "*" else w
            for part in unicodedata.normalize("NFC", str(phrase)).lower().split()
            for w in ((part,) if part == "*" else _WORD.findall(part))
        )
        if said:
            found.append(said)
    return tuple(found)


@functools.cache
def _by_first(key: str) -> dict[str, tuple[tuple[str, ...], ...]]:
    """The patterns of ``key`` by their first word, folded (none starts with a gap)."""
    found: dict[str, list[tuple[str, ...]]] = {}
    for said in _patterns(key):
        if said[0] != "*":
            found.setdefault(fold(said[0]), []).append(said)
    return {first: tuple(options) for first, options in found.items()}


def _at(found: list[str], said: tuple[str, ...], index: int, part: int, bare: bool) -> bool:
    """Whether the words ``found`` hold the pattern ``said`` from its ``part`` on at ``index``
    (``*``: a gap)."""
    if part == len(said):
        return True
    if said[part] == "*":
        return any(_at(found, said, index + gap, part + 1, bare) for gap in range(GAP + 1))
    return (
        index < len(found)
        and _says(found[index], said[part], bare)
        and _at(found, said, index + 1, part + 1, bare)
    )


def _holds(found: list[str], key: str, bare: bool, *, typed_lone: bool = False) -> bool:
    """Whether the words ``found`` hold one of the patterns of ``key``; with ``typed_lone``,
    in a text typed without diacritics (``bare``), a pattern of one word with diacritics
    does not count (typed so, one syllable is too many words: "toi" is "tôi" or "tội",
    "mat" is "mất" or "mật")."""
    patterns = _by_first(key)
    for index, word in enumerate(found):
        for said in patterns.get(fold(word), ()):
            if typed_lone and bare and len(said) == 1 and fold(said[0]) != said[0]:
                continue
            if _at(found, said, index, 0, bare):
                return True
    return False


def everyday(text: str) -> bool:
    """Whether ``text`` asks about an everyday service or purchase the bot has no answer for
    ("mở tài khoản ngân hàng", "quên mật khẩu", "giá xe máy", "bạn mấy tuổi": the
    ``everyday`` patterns of ``question_words.yaml``) and tells of no trouble (no crime, no
    danger, no law: its ``trouble`` words), although it uses the library's words."""
    bare = _bare(unicodedata.normalize("NFC", text))
    return _holds(words(text), "everyday", bare) and not trouble(text)


def trouble(text: str) -> bool:
    """Whether ``text`` tells of a crime, a danger, the law or the police (the ``trouble``
    words and the ``crimes`` of ``question_words.yaml``), in its own words or in the
    library's ("xưng là công an": "giả danh công an")."""
    bare = _bare(unicodedata.normalize("NFC", text))
    return any(
        _holds(found, "trouble", bare, typed_lone=True) or _holds(found, "crimes", bare)
        for found in (words(text), words(text, paraphrase=True))
    )


def crime(text: str) -> bool:
    """Whether ``text`` names a crime (the ``crimes`` of ``question_words.yaml``: "lừa
    đảo", "trộm", "móc túi", "tố giác", "scam"), in its own words or in the library's."""
    bare = _bare(unicodedata.normalize("NFC", text))
    return any(
        _holds(found, "crimes", bare) for found in (words(text), words(text, paraphrase=True))
    )


def words(text: str, *, paraphrase: bool = False) -> list[str]:
    """The words of ``text``: lower case, NFC, abbreviations expanded (and with
    ``paraphrase``, a question's everyday paraphrases in the library's words)."""
    abbreviations, _ = _word_lists()
    found: list[str] = []
    for word in _WORD.findall(unicodedata.normalize("NFC", text).lower()):
        found.extend(abbreviations.get(word, (word,)))
    return _paraphrased(found, _bare(unicodedata.normalize("NFC", text))) if paraphrase else found


_ENGLISH_ENDINGS: Final[tuple[tuple[str, str, int], ...]] = (
    # (ending, replacement, shortest word it is taken from)
    ("ies", "y", 5),
    ("ing", "", 6),
    ("ed", "", 5),
    ("s", "", 4),
)


def _plain(word: str) -> str:
    """The folded word, an English ending taken off: no Vietnamese syllable ends in "s",
    "ed" or "ing" (Vietnamese writes "inh"), so Vietnamese words are never cut."""
    folded = fold(word)
    if folded.endswith("ss"):
        return folded
    for ending, replacement, shortest in _ENGLISH_ENDINGS:
        if len(folded) >= shortest and folded.endswith(ending):
            stem = folded[: -len(ending)] + replacement
            if ending != "s" and len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] in "bdgmnpt":
                stem = stem[:-1]  # "scammed" -> "scam"
            return stem
    return folded


def terms(text: str, *, paraphrase: bool = False) -> Terms:
    """The search terms of ``text`` (see the module's docstring); ``paraphrase`` for a
    question."""
    _, stopwords = _word_lists()
    found = words(text, paraphrase=paraphrase)
    stop = [w in stopwords for w in found]
    if all(stop):  # "giúp tôi với", "what can you do": then every word counts
        stop = [False] * len(found)
    single: list[tuple[str, str]] = []
    neighbours: list[tuple[str, ...]] = []
    pairs: list[str] = []
    content_pairs: list[str] = []
    plain = [_plain(word) for word in found]
    numeral = [any(c.isdigit() for c in word) for word in plain]
    for index, (word, is_stop) in enumerate(zip(found, stop, strict=True)):
        if not is_stop:
            single.append((plain[index], word if fold(word) != word else plain[index]))
            # a number ("ngày 19 tháng 8") pairs with nothing
            around = [i for i in (index - 1, index + 1) if 0 <= i < len(found)]
            neighbours.append(
                ()
                if numeral[index]
                else tuple(
                    PAIR.join((plain[min(i, index)], plain[max(i, index)]))
                    for i in around
                    if not numeral[i]
                )
            )
    for index in range(len(found) - 1):
        if stop[index] and stop[index + 1]:
            continue
        first, second = found[index], found[index + 1]
        pairs.append(f"{plain[index]}{PAIR}{plain[index + 1]}")
        if not stop[index] and not stop[index + 1]:
            content_pairs.append(pairs[-1])
        if fold(first) != first or fold(second) != second:
            pairs.append(f"{first}{PAIR}{second}")
    return Terms(tuple(single), tuple(pairs), tuple(content_pairs), tuple(neighbours))
