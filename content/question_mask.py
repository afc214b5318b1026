"""A resident's question with what could name someone masked, before it is kept for staff.

:func:`mask_question` replaces

* what :mod:`bot.tips.pii` finds (phone, CCCD/CMND, plate, e-mail, bank account) with its
  placeholders ("[SĐT]", "[CCCD]"…);
* web addresses ("[LINK]"): a profile link names its owner;
* any other run of five digits or more ("[SỐ]"): a tip's PIN, an account or a house number
  written without a cue;
* people's names ("[TÊN]"): a capitalised Vietnamese family name followed by capitalised
  given names ("Nguyễn Văn An", "Tran Thi B"), a capitalised name after a form of address
  ("anh Tuấn", "bà Hoa"), and whatever follows "tên tôi là", "tôi tên", "my name is"…

Like the tip page's hints it is conservative, not a guarantee: it errs towards masking (a
place such as "Thái Hòa" may be masked too), and a name written in lower case without a cue
is not found. What is kept is read by staff only, and deleted after 30 days.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from bot.tips.pii import find_identifiers, mask

__all__ = ["LINK", "NAME", "NUMBER", "mask_question"]

NAME: Final = "[TÊN]"
LINK: Final = "[LINK]"
NUMBER: Final = "[SỐ]"

_URL: Final = re.compile(
    r"(?:https?://|www\.)\S+"
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:com|vn|net|org|info|me|io|ly|gl|to)(?:/\S*)?",
    re.IGNORECASE,
)
_LONG_NUMBER: Final = re.compile(r"(?<!\d)\d{5,}(?!\d)")


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


#: Common Vietnamese family names, as written with and without diacritics (capitalised).
_FAMILY_NAMES: Final = _set(
    """Nguyễn Nguyen Trần Tran Lê Phạm Pham Hoàng Hoang Huỳnh Huynh Phan Vũ Võ Đặng Dang
    Bùi Bui Đỗ Hồ Ngô Ngo Dương Duong Lý Đinh Dinh Trương Truong Lâm Mai Đào Dao Cao Tô Hà
    Lương Luong Trịnh Trinh Đoàn Doan Tạ Quách Quach Châu Chau Lưu Luu Thái Kiều Kieu Văn
    Triệu Trieu Vương Vuong Mạc Lại Lai Khúc Khuc Âu Ninh Nghiêm Nghiem Hứa Phùng Phung"""
)
#: Places that begin with a family name and are not people.
_PLACES: Final = frozenset(
    unicodedata.normalize("NFC", p).casefold()
    for p in (
        "Hà Nội",
        "Ha Noi",
        "Hồ Chí Minh",
        "Ho Chi Minh",
        "Hà Giang",
        "Hà Tĩnh",
        "Hà Nam",
        "Cao Bằng",
        "Lâm Đồng",
        "Thái Nguyên",
        "Thái Bình",
        "Phan Thiết",
        "Phan Rang",
        "Mai Châu",
        "Văn Phòng",
    )
)
#: Forms of address before a given name ("anh Tuấn", "chị Lan", "ông Ba").
_ADDRESS: Final = re.compile(
    r"anh|chị|chi|em|ông|ong|bà|cô|chú|chu|bác|bac|cháu|chau|thằng|thang|con|bé|"
    r"mr|mrs|ms|miss",
    re.IGNORECASE,
)
#: Cues after which what follows is a name, capitalised or not.
_NAME_CUE: Final = re.compile(
    r"(?:\b(?:tên|ten)(?:\s+(?:của\s+)?(?:tôi|toi|em|mình|minh|tui|con|cháu|chau|anh|chị|chi))?"
    r"\s+(?:là|la)\b"
    r"|\b(?:tôi|toi|em|mình|minh|tui)\s+(?:tên|ten)\b(?!\s+(?:là|la)\b)"
    r"|\bmy\s+name\s+is\b|\bi\s+am\s+called\b)\s*[:,]?\s*",
    re.IGNORECASE,
)
#: Words that end a name after a cue (a name is at most three words anyway).
_AFTER_NAME: Final = _set(
    """ở o và va thì thi là la bị bi muốn muon hỏi hoi xin có co sinh năm nam đang dang sống
    song nhà nha nhé nhe ạ a ơi oi từ tu làm lam hiện hien cần can the and from i want"""
)
_QUESTION_WORDS: Final = _set("gì gi ai what who")
_WORD: Final = re.compile(r"[^\W\d_]+", re.UNICODE)


def _capitalised(word: str) -> bool:
    """ "An", "Tuấn", "B" (Nguyễn Văn B); not "UBND"."""
    return word[:1].isupper() and (len(word) == 1 or not word.isupper())


def _words_at(text: str, start: int, limit: int) -> list[re.Match[str]]:
    """Up to `limit` words right after `start`, separated by spaces only."""
    found: list[re.Match[str]] = []
    position = start
    while len(found) < limit:
        match = _WORD.match(text, position)
        if match is None:
            break
        found.append(match)
        spaces = re.match(r"[ \t]+", text[match.end() :])
        if spaces is None:
            break
        position = match.end() + spaces.end()
    return found


def _name_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    # after a cue: up to three words, capitalised or not, until a word that ends a name
    for cue in _NAME_CUE.finditer(text):
        words = _words_at(text, cue.end(), 3)
        if not words or words[0].group().casefold() in _QUESTION_WORDS:
            continue
        kept = []
        for word in words:
            if word.group().casefold() in _AFTER_NAME:
                break
            kept.append(word)
        if kept:
            spans.append((kept[0].start(), kept[-1].end()))
    for word in _WORD.finditer(text):
        value = word.group()
        following = _words_at(text, word.start(), 4)[1:]
        capitalised = []
        for other in following:
            if not _capitalised(other.group()):
                break
            capitalised.append(other)
        if not capitalised:
            continue
        if value in _FAMILY_NAMES:  # a family name and one to three capitalised given names
            whole = text[word.start() : capitalised[-1].end()].casefold()
            two = text[word.start() : capitalised[0].end()].casefold()
            if not {whole, two} & _PLACES:
                spans.append((word.start(), capitalised[-1].end()))
        elif _ADDRESS.fullmatch(value):  # "anh Tuấn", "bà Hoa": the name, not the address
            spans.append((capitalised[0].start(), capitalised[-1].end()))
    return spans


def _replace(text: str, spans: list[tuple[int, int]], placeholder: str) -> str:
    """`text` with the (possibly overlapping) `spans` replaced by one `placeholder` each
    run of overlapping spans."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces: list[str] = []
    cursor = 0
    for start, end in merged:
        pieces += [text[cursor:start], placeholder]
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def mask_question(text: str) -> str:
    """`text` (NFC) with identifiers, links, long numbers and names masked."""
    text = unicodedata.normalize("NFC", text)
    text = mask(text, find_identifiers(text))
    text = _URL.sub(LINK, text)
    text = _LONG_NUMBER.sub(NUMBER, text)
    return _replace(text, _name_spans(text), NAME)
