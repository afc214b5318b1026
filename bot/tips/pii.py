"""De-identification hints: where a tip's text names a person, a phone, a vehicle or an account.

Officers see the tip with these spans highlighted so they can decide what to redact before a
tip is shared; logs and exports use `mask`. The finder is deliberately conservative (a hint
is a suggestion, not a guarantee): it looks for

* ``phone``: Vietnamese mobile numbers (03x/05x/07x/08x/09x) and landlines (02xx), written
  0912345678, 0912 345 678, 091.234.5678, 0912-345-678, +84 912 345 678, 84912345678,
  (+84) 912..., 0256 3822 000, (0256) 3822000, (024) 3825 1234;
* ``cccd``: 12-digit citizen ID numbers (first three digits a province code 001-096, or any
  12 digits after a cue such as "CCCD"/"căn cước"), also grouped with spaces, dots or dashes;
* ``cmnd``: the old 9-digit ID, only after a cue ("CMND", "CMT", "chứng minh (nhân dân)");
* ``plate``: vehicle plates such as 77A-123.45, 77-B1 234.56, 30G 12345, 29LD-123.45;
* ``email``;
* ``bank_account``: 8-16 digits, only after a cue ("STK", "số tài khoản", "TK", "account").

Dates (12/08/2026, 09-05-2024), times, money amounts ("5.000.000 đồng", "50.000.000đ") and the
hotlines 111/113/114/115 are not flagged. Matching runs on a folded copy of the text (no
diacritics, lower case, zero-width and other invisible characters dropped, compatibility forms
such as full-width digits mapped to ASCII), and every span is mapped back to indices into the
text exactly as given, NFC or NFD, so ``text[hint.start:hint.end] == hint.text``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

__all__ = ["KINDS", "PLACEHOLDERS", "Hint", "find_identifiers", "mask"]

#: Every kind `find_identifiers` reports, most specific first (wins ties between equal spans).
KINDS: Final = ("email", "plate", "bank_account", "cmnd", "cccd", "phone")

#: What `mask` puts in place of each kind.
PLACEHOLDERS: Final[dict[str, str]] = {
    "phone": "[SĐT]",
    "cccd": "[CCCD]",
    "cmnd": "[CMND]",
    "plate": "[BIỂN SỐ]",
    "email": "[EMAIL]",
    "bank_account": "[STK]",
}
_FALLBACK_PLACEHOLDER: Final = "[ẨN]"


@dataclass(frozen=True)
class Hint:
    """A span of the original text that looks like an identifier of kind `kind`."""

    kind: str
    start: int
    end: int
    text: str


# ---------------------------------------------------------------------------------------------
# Folding with an index map back to the original text


@dataclass(frozen=True)
class _Folded:
    text: str  # folded: ASCII-ish, lower case, no marks, no invisible characters
    origin: tuple[int, ...]  # origin[i] = index in the original of folded character i


def _fold(text: str) -> _Folded:
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        if char in "\n\r":
            chars.append("\n")
            origin.append(index)
            continue
        for part in unicodedata.normalize("NFKD", char):
            for low in part.lower():
                if _is_invisible(low):
                    continue
                chars.append("d" if low == "đ" else " " if low.isspace() else low)
                origin.append(index)
    return _Folded("".join(chars), tuple(origin))


def _is_invisible(char: str) -> bool:
    """Combining marks, format characters (zero-width space/joiner, bidi marks, BOM, soft
    hyphen) and control characters: dropped before matching, kept in the original spans."""
    return unicodedata.category(char) in ("Mn", "Me", "Cf", "Cc") and not char.isspace()


def _span(original: str, folded: _Folded, start: int, end: int) -> tuple[int, int]:
    """Original [start, end) for folded [start, end), including trailing combining marks."""
    first = folded.origin[start]
    last = folded.origin[end - 1] + 1
    while last < len(original) and unicodedata.combining(original[last]):
        last += 1
    return first, last


# ---------------------------------------------------------------------------------------------
# Patterns (on the folded text)

_SEP = r"[ .\-]?"  # one optional separator between digits
# Not glued to more digits: "0912345678" inside "109123456789" or "12.0912345678" is not one.
_NUM_START = r"(?<!\d)(?<!\d[.\-])"
_NUM_END = r"(?!\d)(?![.\-]\d)"

_MOBILE_REST = rf"[35789](?:{_SEP}\d){{8}}"  # after the trunk 0 / country code: 9 digits
_LANDLINE_REST = rf"2(?:{_SEP}\d){{9}}"  # 02xx: 10 digits after the 0 (024/028 + 8, 02xx + 7)

_PHONE = re.compile(
    _NUM_START
    + r"(?:"
    # national: 0912345678, 0912 345 678, 091.234.5678, 0256 3822 000
    + rf"0(?:{_MOBILE_REST}|{_LANDLINE_REST})"
    # landline with the area code in brackets: (024) 3825 1234, (0256) 3822000
    + rf"|\(02[48]\) ?\d(?:{_SEP}\d){{7}}"
    + rf"|\(02\d\d\) ?\d(?:{_SEP}\d){{6}}"
    # international: +84 912 345 678, (+84) 912..., +84 (0) 912..., 84912345678
    + rf"|(?:\+ ?84|\(\+ ?84\)|(?<![\d+])84){_SEP}(?:\(0\) ?|0{_SEP})?"
    + rf"(?:{_MOBILE_REST}|{_LANDLINE_REST})"
    + r")"
    + _NUM_END
)
_DIGITS_12 = re.compile(rf"{_NUM_START}\d(?:{_SEP}\d){{11}}{_NUM_END}")
_DIGITS_9 = re.compile(rf"{_NUM_START}\d(?:{_SEP}\d){{8}}{_NUM_END}")
_DIGITS_8_16 = re.compile(rf"{_NUM_START}\d(?:{_SEP}\d){{7,15}}{_NUM_END}")

# Plates: province 11-99, series (one letter, optionally a digit, or a two-letter series), then
# 4 digits or 5 written 123.45 / 12345. The letters I, J, O, Q, W are not used on plates.
_PLATE = re.compile(
    r"(?<![a-z0-9])(?<![a-z0-9][.\-])"
    r"[1-9]\d[ \-]?"
    r"(?:ld|kt|ng|nn|qt|cv|da|md|hc|td|[a-hk-npr-vx-z]\d?)"
    r"[ \-.]?"
    r"(?:\d{3}\.\d{2}|\d{4,5})"
    r"(?![0-9a-z])(?![.\-]\d)"
)
_EMAIL = re.compile(
    r"(?<![a-z0-9._%+\-])"
    r"[a-z0-9_%+\-]+(?:\.[a-z0-9_%+\-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+[a-z]{2,24}"
    r"(?![a-z0-9\-])"
)


def _cue(words: str) -> re.Pattern[str]:
    """A cue word ending shortly before a number, in the same clause ("STK Vietcombank: ")."""
    return re.compile(rf"(?:^|[^a-z0-9])(?:{words})(?![a-z])[^0-9\n.,;!?]{{0,30}}\Z")


_CMND_CUE = _cue(r"cmnd|cmt|chung minh(?: nhan dan| thu)?|so cm")
_CCCD_CUE = _cue(r"cccd|can cuoc(?: cong dan)?|cmnd|cmt|chung minh(?: nhan dan| thu)?|dinh danh")
_BANK_CUE = _cue(r"stk|so tk|tk|tai khoan|account|acct|acc")
_CUE_WINDOW: Final = 60

# A number followed by a currency unit is money, whatever it looks like: "50.000.000đ",
# "12000000 đồng", "15tr", "200k". Short units only count when glued to the number.
_CURRENCY_AFTER = re.compile(
    r"(?:(?:d|dong|vnd|k|tr|trieu|ty|usd|\$|%)|\s(?:d|dong|vnd|trieu|ty|nghin|ngan|usd|\$))"
    r"(?![a-z])"
)
_GROUPS = re.compile(r"\d+")


def _groups(candidate: str) -> list[str]:
    return _GROUPS.findall(candidate)


def _looks_like_money(folded: str, start: int, end: int) -> bool:
    if _CURRENCY_AFTER.match(folded, end):
        return True
    candidate = folded[start:end]
    if candidate[0] == "0" or "." not in candidate or any(c in candidate for c in " -"):
        return False
    groups = _groups(candidate)  # 5.000.000 / 12.500.000: thousands separators
    return 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])


def _has_cue(folded: str, start: int, cue: re.Pattern[str]) -> bool:
    return cue.search(folded[max(0, start - _CUE_WINDOW) : start]) is not None


def _phone_ok(folded: str, start: int, end: int) -> bool:
    candidate = folded[start:end]
    groups = _groups(candidate)
    international = candidate.startswith(("+", "(+", "84"))
    if international:
        groups = groups[1:]  # the country code
        if groups and groups[0] == "0":  # "+84 (0) 912 ..."
            groups = groups[1:]
    if len(groups) > 1:
        # Written groups are 2-5 digits and a national number opens with at least 3
        # (091, 0912, 024, 0256); "05.09.2024 10" (a date and a time) is not a phone.
        if any(len(g) < 2 for g in groups):
            return False
        if not international and len(groups[0]) < 3:
            return False
    return True  # a number opening with 0 or +84 is never an amount of money


def _cccd_ok(folded: str, start: int, end: int) -> bool:
    candidate = folded[start:end]
    groups = _groups(candidate)
    if len(groups) > 1 and any(len(g) < 3 for g in groups):
        return False
    if _looks_like_money(folded, start, end):
        return False
    digits = "".join(groups)
    return 1 <= int(digits[:3]) <= 96 or _has_cue(folded, start, _CCCD_CUE)


def _cmnd_ok(folded: str, start: int, end: int) -> bool:
    groups = _groups(folded[start:end])
    if len(groups) > 1 and any(len(g) < 2 for g in groups):
        return False
    # After an explicit "CMND" cue, 212.345.678 is an ID number unless a currency follows.
    return not _CURRENCY_AFTER.match(folded, end) and _has_cue(folded, start, _CMND_CUE)


def _bank_ok(folded: str, start: int, end: int) -> bool:
    groups = _groups(folded[start:end])
    if len(groups) > 1 and any(len(g) < 2 for g in groups):
        return False
    return not _looks_like_money(folded, start, end) and _has_cue(folded, start, _BANK_CUE)


def _plate_ok(folded: str, start: int, end: int) -> bool:
    return not _CURRENCY_AFTER.match(folded, end)


def _always(folded: str, start: int, end: int) -> bool:
    return True


_Check = Callable[[str, int, int], bool]
_FINDERS: Final[tuple[tuple[str, re.Pattern[str], _Check], ...]] = (
    ("email", _EMAIL, _always),
    ("plate", _PLATE, _plate_ok),
    ("bank_account", _DIGITS_8_16, _bank_ok),
    ("cmnd", _DIGITS_9, _cmnd_ok),
    ("cccd", _DIGITS_12, _cccd_ok),
    ("phone", _PHONE, _phone_ok),
)
_PRIORITY: Final = {kind: rank for rank, kind in enumerate(KINDS)}


# ---------------------------------------------------------------------------------------------
# Public API


def find_identifiers(text: str) -> list[Hint]:
    """Spans of `text` that look like personal identifiers, sorted by start, never overlapping.

    Indices refer to `text` as given (any normalisation form, invisible characters included).
    Where candidates overlap the longer one wins, then the more specific kind (`KINDS` order).
    """
    folded = _fold(text)
    candidates: list[Hint] = []
    for kind, pattern, check in _FINDERS:
        for match in _overlapping(pattern, folded.text):
            start, end = match.span()
            if start == end or not check(folded.text, start, end):
                continue
            first, last = _span(text, folded, start, end)
            candidates.append(Hint(kind, first, last, text[first:last]))

    candidates.sort(key=lambda h: (-(h.end - h.start), _PRIORITY.get(h.kind, 99), h.start))
    chosen: list[Hint] = []
    for hint in candidates:
        if all(hint.end <= other.start or hint.start >= other.end for other in chosen):
            chosen.append(hint)
    return sorted(chosen, key=lambda h: h.start)


def _overlapping(pattern: re.Pattern[str], text: str) -> Iterable[re.Match[str]]:
    """Matches of `pattern` at every start position, so a rejected candidate (a date that
    looks like a phone) does not hide a genuine one that starts inside it."""
    position = 0
    while position <= len(text):
        match = pattern.search(text, position)
        if match is None:
            return
        yield match
        position = match.start() + 1


def mask(text: str, hints: list[Hint]) -> str:
    """`text` with every hinted span replaced by its placeholder ("[SĐT]", "[CCCD]", ...).

    `hints` must come from `find_identifiers(text)` (or be equally exact): a hint whose
    `text` does not match the span raises ValueError rather than masking the wrong thing.
    Overlapping hints are merged into the first one's placeholder.
    """
    pieces: list[str] = []
    cursor = 0
    for hint in sorted(hints, key=lambda h: (h.start, -h.end)):
        if text[hint.start : hint.end] != hint.text or not 0 <= hint.start <= hint.end:
            raise ValueError(f"hint {hint.kind} [{hint.start}:{hint.end}] does not match the text")
        if hint.end <= cursor:
            continue
        if hint.start < cursor:  # overlaps the previous placeholder: extend it
            cursor = hint.end
            continue
        pieces.append(text[cursor : hint.start])
        pieces.append(PLACEHOLDERS.get(hint.kind, _FALLBACK_PLACEHOLDER))
        cursor = hint.end
    pieces.append(text[cursor:])
    return "".join(pieces)
