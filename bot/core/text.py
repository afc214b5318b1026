"""Text hygiene for everything a resident types: NFC, no invisible characters, folding."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fold", "normalise"]

# Zero-width spaces, bidirectional marks and isolates, BOM, soft hyphen. The zero-width joiner
# and variation selectors stay: they are part of emoji ("✏️", "👨‍👩‍👧"); `fold` drops them.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200e\u200f"
    "\u202a-\u202e\u2060-\u206f\ufeff]"
)
_EMOJI_JOINERS = re.compile("[\u200d\ufe00-\ufe0f]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def normalise(text: str, *, keep_newlines: bool = True) -> str:
    """NFC, invisible and control characters removed, runs of spaces collapsed, trimmed."""
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    if not keep_newlines:
        text = text.replace("\n", " ")
    text = _SPACES.sub(" ", text)
    return text.strip()


def fold(text: str) -> str:
    """Lower case without diacritics ('Đường dây nóng' -> 'duong day nong') for matching."""
    text = _EMOJI_JOINERS.sub("", normalise(text, keep_newlines=False)).lower().replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))
