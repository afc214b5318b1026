"""Fit neutral replies to a channel: split long text, degrade buttons to numbered choices."""

from __future__ import annotations

import re
import unicodedata

from bot.core.text import fold
from bot.core.types import Capabilities, Reply

__all__ = ["choices_of", "render", "resolve_choice", "split_text", "utf16_len"]


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


def choices_of(replies: list[Reply]) -> list[list[str]]:
    """[label, payload] of every button of the last reply that has buttons (numbered 1..n)."""
    for reply in reversed(replies):
        if reply.buttons:
            return [[b.label, b.payload] for row in reply.buttons for b in row]
    return []


_NUMBER = re.compile(r"^\s*(?:số\s*|so\s*|#)?(\d{1,3})\s*[.)]?\s*$", re.IGNORECASE)


def resolve_choice(text: str, choices: list[list[str]]) -> str | None:
    """The payload a typed answer picks: its number ("2", "2.", "số 2") or its label."""
    if not choices or not text:
        return None
    # int() accepts any Unicode decimal digits (full-width, Arabic-Indic…) once matched by \d.
    match = _NUMBER.match(unicodedata.normalize("NFKC", text))
    if match:
        index = int(match.group(1)) - 1
        return choices[index][1] if 0 <= index < len(choices) else None
    key = _label_key(text)
    if not key:
        return None
    for label, payload in choices:
        if _label_key(label) == key:
            return payload
    return None


def _label_key(text: str) -> str:
    """A label as typed: no diacritics, case, emoji or punctuation ("☎️ Đường dây nóng")."""
    return " ".join("".join(c if c.isalnum() else " " for c in fold(text)).split())
