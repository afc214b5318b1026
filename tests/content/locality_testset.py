"""Generated accuracy test set for :mod:`content.locality` (nothing is written to disk).

Every case is derived from package data, not typed by hand:

* today's communes of the province from ``vietnam_provinces``; for each one a
  dozen written forms (official, no diacritics, lowercase, abbreviated type,
  no type word, one seeded typo, NFD, inside a sentence, with the province or
  the old province appended, with invisible characters and emoji);
* old (pre-2025) addresses from the offline tables of ``vietnamadminunits``
  (``dataset.db`` table ``admin_units_legacy`` for the old names and
  ``converter_2025.json`` for old -> new), read here independently of the code
  under test.  Each old ward appears written officially, abbreviated without
  diacritics, bare, and under its older aliases (e.g. "Lê Lợi" of Quy Nhơn).

Each case carries the set of acceptable commune codes.  Old wards that were
split among several new communes (``DICT_PROVINCE_WARD_DIVIDED``) accept any
of their new communes, for top-1 as for top-3: the bot lets the resident pick.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import random
import sqlite3
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from vietnam_provinces import Province, ProvinceCode, Ward

PROVINCE = 52
_SEED = 20250701


@dataclass(frozen=True)
class Case:
    text: str
    expected: frozenset[int]
    form: str  # which written form
    old: bool  # an old (pre-2025) address


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in text if unicodedata.category(c) != "Mn")


def _key(text: str) -> str:
    return "".join(ch for ch in _ascii(text).lower() if ch.isalnum())


def _data_dir() -> Path:
    spec = importlib.util.find_spec("vietnamadminunits")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "data"


_TYPES = ("Phường", "Xã", "Thị trấn", "Đặc khu", "Huyện", "Quận", "Thành phố", "Thị xã", "Tỉnh")
_ABBR = {
    "Phường": "P.",
    "Xã": "X.",
    "Thị trấn": "TT.",
    "Huyện": "H.",
    "Thành phố": "TP.",
    "Thị xã": "TX.",
    "Quận": "Q.",
    "Đặc khu": "đặc khu",
}


def split_type(name: str) -> tuple[str, str]:
    for t in _TYPES:
        if name.startswith(t + " "):
            return t, name[len(t) + 1 :]
    return "", name


_NEIGHBOURS = "qwertyuiop asdfghjkl zxcvbnm"


def typo(text: str, rng: random.Random) -> str:
    """One keyboard slip in `text` (substitution, deletion, doubling or swap of letters)."""
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    i = rng.choice(letters)
    op = rng.choice(("sub", "del", "dup", "swap"))
    ch = text[i]
    if op == "swap" and i + 1 < len(text) and text[i + 1].isalpha() and text[i + 1] != ch:
        return text[:i] + text[i + 1] + ch + text[i + 2 :]
    if op == "del" and len([c for c in text if c.isalpha()]) > 4:
        return text[:i] + text[i + 1 :]
    if op == "dup":
        return text[:i] + ch + text[i:]
    row = next((r for r in _NEIGHBOURS.split() if ch.lower() in r), None)
    if row is None:  # a letter with a diacritic: drop to another plain letter
        return text[:i] + rng.choice("aeiou") + text[i + 1 :]
    j = row.index(ch.lower())
    other = row[j - 1] if j and (j == len(row) - 1 or rng.random() < 0.5) else row[j + 1]
    return text[:i] + other + text[i + 1 :]


@functools.cache
def old_table(
    province_code: int = PROVINCE,
) -> list[tuple[str, str, str, str, list[str], frozenset[int]]]:
    """(old province, old district, old ward, ward type, ward alias keywords, new codes)."""
    code_by_key = {
        _key(w.name): int(w.code) for w in Ward.iter_by_province(ProvinceCode(province_code))
    }
    with open(_data_dir() / "converter_2025.json", encoding="utf-8") as f:
        conv = json.load(f)
    con = sqlite3.connect((_data_dir() / "dataset.db").as_uri() + "?mode=ro", uri=True)
    try:
        (new_key,) = con.execute(
            "SELECT DISTINCT provinceKey FROM admin_units WHERE CAST(provinceCode AS INT) = ?",
            (province_code,),
        ).fetchone()
        old_provinces = conv["DICT_PROVINCE"][new_key]
        rows = con.execute(
            "SELECT provinceKey, provinceShort, districtKey, district, wardKey, ward, wardAlias "
            f"FROM admin_units_legacy WHERE provinceKey IN ({','.join('?' * len(old_provinces))})",
            old_provinces,
        ).fetchall()
    finally:
        con.close()
    old_to_new: dict[str, set[int]] = defaultdict(set)
    for new_ward, olds in conv["DICT_PROVINCE_WARD_NO_DIVIDED"][new_key].items():
        for old in olds:
            old_to_new[old].add(code_by_key[new_ward])
    for old, parts in conv["DICT_PROVINCE_WARD_DIVIDED"].get(new_key, {}).items():
        old_to_new[old].update(code_by_key[p["newWardKey"]] for p in parts)
    out = []
    for pkey, pshort, dkey, dname, wkey, wname, alias in rows:
        expected = frozenset(old_to_new[f"{pkey}_{dkey}_{wkey}"])
        if expected:
            out.append(
                (
                    pshort,
                    dname,
                    wname,
                    split_type(wname)[0],
                    json.loads(alias) if alias else [],
                    expected,
                )
            )
    return out


def _respace(joined: str, vocabulary: set[str]) -> str | None:
    """'lehongphong' -> 'le hong phong' with the words of known names (fewest words)."""
    best: dict[int, list[str]] = {0: []}
    for i in range(len(joined)):
        if i not in best:
            continue
        for j in range(i + 1, len(joined) + 1):
            piece = joined[i:j]
            if piece in vocabulary and (j not in best or len(best[i]) + 1 < len(best[j])):
                best[j] = [*best[i], piece]
    found = best.get(len(joined))
    return " ".join(found) if found else None


def new_cases(province_code: int = PROVINCE) -> list[Case]:
    province = Province.from_code(ProvinceCode(province_code)).name
    province = split_type(province)[1] or province
    from_old_binh_dinh = {
        c for p, *_, exp in old_table(province_code) if p == "Bình Định" for c in exp
    }
    cases: list[Case] = []
    for w in Ward.iter_by_province(ProvinceCode(province_code)):
        code = int(w.code)
        rng = random.Random(_SEED + code)
        kind, short = split_type(w.name)
        exp = frozenset({code})
        plain = _ascii(w.name)
        forms = {
            "official": w.name,
            "no_diacritics": plain,
            "lowercase": w.name.lower(),
            "abbreviated": f"{_ABBR.get(kind, kind)} {short}",
            "abbreviated_ascii": f"{_ascii(_ABBR.get(kind, kind)).lower().rstrip('.')} "
            f"{_ascii(short).lower()}",
            "ascii_type_word": f"{_ascii(kind).lower()} {_ascii(short).lower()}",
            "no_type_word": short,
            "no_type_word_ascii": _ascii(short).lower(),
            "typo": f"{_ascii(kind).lower()} {typo(_ascii(short).lower(), rng)}",
            "typo_diacritics": f"{kind} {typo(short, rng)}",
            "nfd": unicodedata.normalize("NFD", w.name),
            "sentence": f"tôi ở thôn {rng.randint(1, 9)} {w.name.lower()} gần chợ",
            "sentence_ascii": f"nha em o {plain.lower()} a, co viec can bao",
            "province": f"{w.name}, {province}",
            "province_ascii": f"{plain.lower()}, {_ascii(province).lower()}",
            "invisible": f"\u200b{w.name}\u200e 🙏",
        }
        if code in from_old_binh_dinh:
            forms["old_province"] = f"{w.name}, Bình Định"
            forms["old_province_ascii"] = f"{_ascii(short).lower()} binh dinh"
        cases.extend(Case(text, exp, form, False) for form, text in forms.items())
    return cases


def old_cases(province_code: int = PROVINCE) -> list[Case]:
    table = old_table(province_code)
    vocabulary = {word for _, d, w, *_ in table for word in _ascii(f"{d} {w}").lower().split()}
    cases: list[Case] = []
    for pshort, dname, wname, wkind, aliases, exp in table:
        dkind, dshort = split_type(dname)
        _, wshort = split_type(wname)
        forms = {
            "old_official": f"{wname}, {dname}, {pshort}",
            "old_abbreviated_ascii": _ascii(
                f"{_ABBR.get(wkind, wkind)} {wshort}, {_ABBR.get(dkind, dkind)} {dshort}, {pshort}"
            ).lower(),
            "old_bare": f"{wshort}, {dshort}",
        }
        for alias in aliases:
            prefix = next((k for k in ("phuong", "xa", "thitran", "tt") if alias.startswith(k)), "")
            spaced = _respace(alias[len(prefix) :], vocabulary)
            if prefix and spaced:
                forms[f"old_alias_{alias}"] = (
                    f"{prefix.replace('thitran', 'thi tran')} {spaced}"
                    f" {_ascii(dname).lower()} {_ascii(pshort)}"
                )
        cases.extend(Case(text, exp, form, True) for form, text in forms.items())
    return cases


def all_cases(province_code: int = PROVINCE) -> list[Case]:
    return new_cases(province_code) + old_cases(province_code)


NEGATIVE_TEXTS = (
    "",
    "   ",
    "xin chào",
    "Xin chào, tôi muốn hỏi về thủ tục",
    "abc",
    "ok",
    "😀😀🙏",
    "\u200b\u200e\u2066",
    "12345",
    "Phường Bến Nghé",
    "phuong ben nghe quan 1 tp hcm",
    "Hà Nội",
    "TP HCM",
    "Phường Hoàn Kiếm, Hà Nội",
    "tôi mua gạo ở chợ",
    "cảm ơn anh chị nhiều",
    "Gia Lai",
)
