"""Text folding and tokenisation for the commune lookup.

Everything is reduced to lowercase ASCII words: diacritics removed (any Unicode
form), 'đ' -> 'd', invisible characters (zero-width, bidi marks, BOM, soft
hyphen) and symbols such as emoji dropped, apostrophes joined ("K'Bang" ->
"kbang"), every other non-alphanumeric character turned into a word break.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Administrative-type words ("markers").  Levels: "ward" (commune level),
# "district" (the pre-2025 middle level) and "province".
WARD_TYPES = frozenset({"phuong", "xa", "thitran", "dackhu"})
DISTRICT_TYPES = frozenset({"huyen", "quan", "thanhpho", "thixa"})
PROVINCE_TYPES = frozenset({"tinh"})

_SINGLE_MARKERS: dict[str, str] = {
    "phuong": "phuong",
    "p": "phuong",
    "xa": "xa",
    "x": "xa",
    "tt": "thitran",
    "thitran": "thitran",
    "dackhu": "dackhu",
    "dk": "dackhu",
    "huyen": "huyen",
    "h": "huyen",
    "quan": "quan",
    "q": "quan",
    "tp": "thanhpho",
    "thanhpho": "thanhpho",
    "tx": "thixa",
    "thixa": "thixa",
    "tinh": "tinh",
}
_PAIR_MARKERS: dict[tuple[str, str], str] = {
    ("thi", "tran"): "thitran",
    ("thanh", "pho"): "thanhpho",
    ("thi", "xa"): "thixa",
    ("dac", "khu"): "dackhu",
}
# Markers that are ordinary syllables of place names too ("Tam Quan") or
# single letters: a window may contain them but never start with them, and a
# window may not end with a one-letter marker.
_LETTER_MARKERS = frozenset(k for k in _SINGLE_MARKERS if len(k) == 1)
# Type words that also occur inside names ("Tam Quan", "Ia H Lốp"); the other
# type words end a name.
_INNER_OK = frozenset({"quan"})

# Joined spellings of a type word at the start of a data keyword
# ("thitrantamquan" -> ("thitran", "tamquan")), longest first.
KEYWORD_PREFIXES: tuple[tuple[str, str], ...] = (
    ("thanhpho", "thanhpho"),
    ("thitran", "thitran"),
    ("dackhu", "dackhu"),
    ("phuong", "phuong"),
    ("huyen", "huyen"),
    ("thixa", "thixa"),
    ("quan", "quan"),
    ("tinh", "tinh"),
    ("xa", "xa"),
    ("tt", "thitran"),
)

_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u206f\ufe00-\ufe0f\ufeff]"
)
_APOSTROPHES = re.compile("['`\u00b4\u02b9-\u02bc\u2018\u2019\u201b\u2032]")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_LETTER_DIGIT = re.compile(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])")
_D_MAP = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "ɗ": "d", "Ɖ": "d"})


def fold(text: str) -> str:
    """Return `text` as space-separated lowercase ASCII words."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text).translate(_D_MAP)
    text = unicodedata.normalize("NFD", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Mn", "Me", "Cf"))
    text = _APOSTROPHES.sub("", text.casefold())
    # Anything left outside a-z0-9 (emoji, CJK, punctuation) is a word break.
    text = _NON_WORD.sub(" ", text.translate(_D_MAP))
    return _LETTER_DIGIT.sub(" ", text).strip()


# Prefixes that may also begin a name ("quangtrung", "xuanan", "ttri..."): only
# stripped when the remainder is itself one of the keywords.
_AMBIGUOUS_PREFIXES = frozenset({"quan", "xa", "tt", "tinh"})


def strip_keyword_prefix(
    keyword: str, siblings: frozenset[str] = frozenset()
) -> tuple[str | None, str]:
    """Split a joined data keyword into (type, rest): "xaiaga" -> ("xa", "iaga")."""
    for prefix, kind in KEYWORD_PREFIXES:
        if keyword.startswith(prefix) and len(keyword) > len(prefix) + 1:
            rest = keyword[len(prefix) :]
            if prefix in _AMBIGUOUS_PREFIXES and rest not in siblings:
                continue
            return kind, rest
    return None, keyword


@dataclass(frozen=True, slots=True)
class Tokens:
    words: tuple[str, ...]
    # marker_end[i]: type of the marker whose last word is words[i], else None
    marker_end: tuple[str | None, ...]
    # no_start[i]: a name window may not start at i (marker word or digit)
    no_start: tuple[bool, ...]
    # no_end[i]: a name window may not end at i (one-letter marker or digit)
    no_end: tuple[bool, ...]
    # barrier[i]: a name window may not contain i (type word, digit)
    barrier: tuple[bool, ...]
    # seg_start[i]: words[i] follows a separator, a name cannot run across it
    seg_start: tuple[bool, ...]


_SEGMENT = re.compile(r"[,;:\n\r\t()\[\]{}|/\\<>\"“”]+")


def tokenize(text: str) -> Tokens:
    """Fold and split `text`; names never span a comma, bracket, slash or line break."""
    segments = [fold(part).split() for part in _SEGMENT.split(text)]
    words = tuple(w for seg in segments for w in seg)
    n = len(words)
    seg_start: set[int] = set()
    pos = 0
    for seg in segments:
        seg_start.add(pos)
        pos += len(seg)
    marker_end: list[str | None] = [None] * n
    no_start = [False] * n
    no_end = [False] * n
    digit = [w.isdigit() for w in words]
    barrier = list(digit)
    for i, w in enumerate(words):
        if i + 1 < n and (w, words[i + 1]) in _PAIR_MARKERS and i + 1 not in seg_start:
            marker_end[i + 1] = _PAIR_MARKERS[(w, words[i + 1])]
            no_start[i] = no_start[i + 1] = True
            barrier[i] = barrier[i + 1] = True
        if w in _SINGLE_MARKERS and marker_end[i] is None:
            marker_end[i] = _SINGLE_MARKERS[w]
            no_start[i] = True
            if w in _LETTER_MARKERS:
                no_end[i] = True
            elif w not in _INNER_OK:
                barrier[i] = True
        if digit[i]:
            no_start[i] = no_end[i] = True
    return Tokens(
        words,
        tuple(marker_end),
        tuple(no_start),
        tuple(no_end),
        tuple(barrier),
        tuple(i in seg_start for i in range(n)),
    )


def marker_level(kind: str | None) -> str | None:
    if kind is None:
        return None
    if kind in WARD_TYPES:
        return "ward"
    if kind in DISTRICT_TYPES:
        return "district"
    return "province"
