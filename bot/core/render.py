"""Fit neutral replies to a channel: split long text, degrade buttons to numbered choices."""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Final

from rapidfuzz.distance import OSA

from bot.core.text import fold
from bot.core.types import Button, Capabilities, Reply

__all__ = [
    "NO_WORDS",
    "YES_WORDS",
    "choices_of",
    "render",
    "resolve_choice",
    "split_text",
    "stored_buttons",
    "typed_number",
    "utf16_len",
]


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fits(text: str, limit: int, utf16: bool) -> int:
    """How many characters of `text` fit in `limit` (counted in UTF-16 units if asked)."""
    if not utf16:
        return min(len(text), limit)
    if len(text) <= limit // 2 or utf16_len(text) <= limit:  # all of it (counted in C)
        return len(text)
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def split_text(text: str, limit: int, *, utf16: bool = False) -> list[str]:
    """Split at paragraph, then line, then word boundaries so no part exceeds `limit`."""
    text = unicodedata.normalize("NFC", text).strip()
    parts: list[str] = []
    while (n := _fits(text, limit, utf16)) < len(text):
        window = text[:n]
        cut = -1
        for sep in ("\n\n", "\n", " "):
            cut = window.rfind(sep)
            if cut > n // 3:
                break
        if cut <= 0:
            cut = n
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text or not parts:
        parts.append(text)
    return parts


def _numbered(reply: Reply) -> str:
    lines = [reply.text, ""]
    n = 0
    for row in reply.buttons:
        for button in row:
            n += 1
            lines.append(f"{n}. {button.label}")
    return "\n".join(lines)


def render(reply: Reply, caps: Capabilities) -> list[Reply]:
    """The messages to send for `reply` on a channel with `caps`, in order."""
    n_buttons = sum(len(row) for row in reply.buttons)
    if reply.buttons and (not caps.buttons or n_buttons > caps.max_buttons):
        text, buttons = _numbered(reply), []
    else:
        text, buttons = reply.text, reply.buttons
    chunks = split_text(text, caps.max_text, utf16=caps.utf16)
    out = [Reply(text=chunk, private=reply.private) for chunk in chunks]
    out[-1].buttons = buttons
    if reply.photo and caps.photos:
        out.insert(0, Reply(text="", photo=reply.photo, private=reply.private))
    return out


def choices_of(replies: list[Reply]) -> list[list[Any]]:
    """The buttons of the last reply that has buttons (numbered 1..n), as `resolve_choice`
    reads them: [label, payload, words, exact]."""
    for reply in reversed(replies):
        if reply.buttons:
            return [
                [b.label, b.payload, list(b.words), b.exact] for row in reply.buttons for b in row
            ]
    return []


def stored_buttons(choices: list[list[Any]]) -> list[Button]:
    """The buttons `choices_of` stored, to show them again."""
    return [Button(label, payload, *_extras(rest)) for label, payload, *rest in choices]


def _extras(rest: list[Any]) -> tuple[tuple[str, ...], bool]:
    """A stored choice's words and exactness (none for one stored as [label, payload])."""
    words = tuple(str(w) for w in rest[0]) if rest and isinstance(rest[0], list) else ()
    return words, bool(rest[1]) if len(rest) > 1 else False


_NUMBER = re.compile(r"^\s*(?:số\s*|so\s*|#)?(\d{1,3})\s*[.)]?\s*$", re.IGNORECASE)

#: Typed words that say yes, or no, folded: put on the yes and no buttons of a question
#: (`Button.words`) so "ừ", "ok", "ko" answer it on any channel.
YES_WORDS: Final = (
    "co", "yes", "y", "ok", "oke", "okay", "okie", "u", "uh", "um", "uk", "uhm", "vang", "da",
    "dung", "dung roi", "dong y", "duoc", "dc", "roi", "chac chan", "co chu", "sure",
)  # fmt: skip
NO_WORDS: Final = (
    "khong", "ko", "k", "kg", "kh", "hong", "hok", "khum", "no", "n", "nope", "chua", "khong phai",
    "sai", "sai roi",
)  # fmt: skip
#: Buttons that drop what the resident was doing: picked only by their number, their whole
#: label or their own words, never by a part of the label or a near miss.
_LEAVING = frozenset({"cancel", "m"})
#: Shortest answer that may be read as a misspelt label.
_TYPO_MIN_CHARS = 4


def typed_number(text: str) -> int | None:
    """The number a typed answer is ("2", "2.", "số 2", "２"), if it is only a number."""
    # int() accepts any Unicode decimal digits (full-width, Arabic-Indic…) once matched by \d.
    match = _NUMBER.match(unicodedata.normalize("NFKC", text))
    return int(match.group(1)) if match else None


def resolve_choice(text: str, choices: list[list[Any]]) -> str | None:
    """The payload a typed answer picks from the last choices shown, or None.

    In order: its number ("2", "số 2"); its whole label, without diacritics, case, emoji or
    punctuation ("duong day nong"); one of the button's own `words` ("ừ" for yes), alone or
    followed by a word or two ("ko có ảnh"); a part of
    one label only ("lừa đảo" for "Lừa đảo qua mạng, điện thoại"); one label only within a
    typo or two per word ("ma tuys"). Buttons that leave a flow, and `Button.exact` ones (names),
    take only the first three.
    """
    if not choices or not text:
        return None
    number = typed_number(text)
    if number is not None:
        return str(choices[number - 1][1]) if 0 < number <= len(choices) else None
    key = _label_key(text)
    if not key:
        return None
    buttons = stored_buttons(choices)
    for button in buttons:
        if _label_key(button.label) == key:
            return button.payload
    by_word = {b.payload for b in buttons if key in b.words}
    if not by_word:  # a button's word and a word or two more ("ok gửi đi", "ko có ảnh")
        by_word = {b.payload for b in buttons if _starts_with_word(key, b.words)}
    if len(by_word) == 1:
        return by_word.pop()
    if by_word:
        return None
    loose = [
        (_label_key(b.label).split(), b.payload)
        for b in buttons
        if not b.exact and b.payload not in _LEAVING
    ]
    typed = key.split()
    partial = {payload for label, payload in loose if _contains(label, typed)}
    if len(partial) == 1:
        return partial.pop()
    if partial or len(key) < _TYPO_MIN_CHARS:
        return None
    near = {payload for label, payload in loose if _near(label, typed)}
    return near.pop() if len(near) == 1 else None


#: Most words after a button's word for the answer still to pick it ("ko có ảnh").
_WORDS_AFTER = 2


def _starts_with_word(key: str, words: tuple[str, ...]) -> bool:
    return any(
        key.startswith(f"{word} ") and len(key[len(word) :].split()) <= _WORDS_AFTER
        for word in words
    )


def _contains(label: list[str], typed: list[str]) -> bool:
    """Whether the typed words appear in the label's words, in order and side by side."""
    n = len(typed)
    return any(label[i : i + n] == typed for i in range(len(label) - n + 1))


def _near(label: list[str], typed: list[str]) -> bool:
    """Whether the typed words (two or more) are the label's (or its first ones) with a small
    typo in some, or one word a one-word label with one: one edit (a swap counts one) in a
    word of 3 to 6 letters, two in a longer one; shorter words must be right."""
    if not typed or len(typed) > len(label) or (len(typed) == 1 and len(label) > 1):
        return False  # one word is a near miss of a one-word label only ("khong" ≠ "Phong…")
    for word, right in zip(typed, label, strict=False):
        allowed = 0 if len(right) < 3 else 1 if len(right) <= 6 else 2
        if OSA.distance(word, right, score_cutoff=allowed + 1) > allowed:
            return False
    return True


def _label_key(text: str) -> str:
    """A label as typed: no diacritics, case, emoji or punctuation ("☎️ Đường dây nóng")."""
    return " ".join("".join(c if c.isalnum() else " " for c in fold(text)).split())
