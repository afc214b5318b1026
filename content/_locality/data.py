"""Per-province lookup index built from offline package data.

Sources (read directly; nothing of vietnamadminunits is imported or run, so no
code path can reach its online geocoder):

* ``vietnam_provinces``: today's communes of the province (codes and names).
* ``vietnamadminunits/data/dataset.db``: table ``admin_units`` (keywords of the
  2025 communes, province names) and ``admin_units_legacy`` (pre-2025
  province/district/ward names and their spelling aliases, e.g. Quy Nhơn's
  "Lê Lợi" inside "Thị Nại").
* ``vietnamadminunits/data/converter_2025.json``: the old -> new tables.
  ``DICT_PROVINCE`` (new province -> old provinces),
  ``DICT_PROVINCE_WARD_NO_DIVIDED`` (new ward -> old wards merged into it) and
  ``DICT_PROVINCE_WARD_DIVIDED`` (old ward split among several new wards).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vietnam_provinces import ProvinceCode, Ward

from .text import fold, strip_keyword_prefix

# Kinds of named things the matcher can find in a text.
NEW = "new"  # a commune of today
OLD = "old"  # a pre-2025 ward/commune/town
DIST = "dist"  # a pre-2025 district
PROV = "prov"  # this province, or one of the old provinces merged into it
FOREIGN = "foreign"  # any other province

_EXTRA_FOREIGN = ("tphcm", "sai gon", "saigon", "hcm", "hn", "ha noi", "tp hcm", "hcmc")
_TYPE_WORDS = {
    "phường": "phuong",
    "xã": "xa",
    "thị trấn": "thitran",
    "đặc khu": "dackhu",
    "huyện": "huyen",
    "quận": "quan",
    "thành phố": "thanhpho",
    "thị xã": "thixa",
    "tỉnh": "tinh",
}


@dataclass(frozen=True, slots=True)
class Entity:
    kind: str
    label: str  # official name, for debugging
    targets: tuple[int, ...]  # new commune codes, the default (most likely) first
    types: frozenset[str]  # admin type words this name is written with
    district: str | None = None  # OLD: key of its old district; DIST: own key
    province: str | None = None  # OLD/DIST: key of the old province


@dataclass(slots=True)
class Index:
    province_code: int
    units: dict[int, tuple[str, str]]  # code -> (official name, type)
    entities: list[Entity] = field(default_factory=list)
    # exact lookup: spaced alias ("quy nhon") and joined alias ("quynhon")
    spaced: dict[str, set[int]] = field(default_factory=dict)
    joined: dict[str, set[int]] = field(default_factory=dict)
    # alias strings grouped by length, for the fuzzy pass
    spaced_by_len: dict[int, list[str]] = field(default_factory=dict)
    joined_by_len: dict[int, list[str]] = field(default_factory=dict)
    max_words: int = 1
    # old district key -> its new communes, for context checks
    dist_members: dict[str, frozenset[int]] = field(default_factory=dict)
    # (spaced?, length, edits) -> aliases of a near length, filled lazily
    near_cache: dict[tuple[bool, int, int], list[str]] = field(default_factory=dict)
    # words found after the first word of a name ("Tam Quan", "Phúc Xá")
    inner_words: frozenset[str] = frozenset()


def _data_dir() -> Path:
    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("vietnamadminunits is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@functools.cache
def _converter() -> dict[str, dict[str, Any]]:
    with open(_data_dir() / "converter_2025.json", encoding="utf-8") as f:
        data: dict[str, dict[str, Any]] = json.load(f)
    return data


def _db() -> sqlite3.Connection:
    path = (_data_dir() / "dataset.db").as_uri() + "?mode=ro"
    return sqlite3.connect(path, uri=True)


def _type_of(name: str) -> tuple[str | None, str]:
    """'Phường Quy Nhơn' -> ('phuong', 'quy nhon')."""
    low = name.casefold()
    for word, kind in _TYPE_WORDS.items():
        if low.startswith(word + " "):
            return kind, fold(name[len(word) + 1 :])
    return None, fold(name)


@functools.cache
def _syllables() -> frozenset[str]:
    """Every word used in any Vietnamese place name (to re-space joined keywords)."""
    words: set[str] = set()
    with _db() as con:
        for table, cols in (
            ("admin_units", "wardShort, provinceShort"),
            ("admin_units_legacy", "wardShort, districtShort, provinceShort"),
        ):
            for row in con.execute(f"SELECT DISTINCT {cols} FROM {table}"):
                for value in row:
                    if value:
                        words.update(fold(value).split())
    return frozenset(words)


def _respace(joined: str) -> str | None:
    """Split "lehongphong" into "le hong phong" using the syllable list (fewest words)."""
    syl = _syllables()
    n = len(joined)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(n):
        cur = best[i]
        if cur is None:
            continue
        for j in range(i + 1, min(n, i + 8) + 1):
            piece = joined[i:j]
            if piece in syl:
                cand = [*cur, piece]
                old = best[j]
                if old is None or len(cand) < len(old):
                    best[j] = cand
    out = best[n]
    return " ".join(out) if out else None


def _province_key(province_code: int) -> str:
    with _db() as con:
        row = con.execute(
            "SELECT provinceKey FROM admin_units WHERE CAST(provinceCode AS INTEGER) = ? LIMIT 1",
            (province_code,),
        ).fetchone()
    if row is None:
        raise ValueError(f"unknown province code {province_code}")
    return str(row[0])


def _keywords(raw: str | None) -> list[str]:
    return list(json.loads(raw)) if raw else []


class _Builder:
    def __init__(self, index: Index) -> None:
        self.index = index
        self._entity_ids: dict[tuple[object, ...], int] = {}

    def entity(self, ident: tuple[object, ...], make: Entity) -> int:
        idx = self._entity_ids.get(ident)
        if idx is None:
            idx = len(self.index.entities)
            self.index.entities.append(make)
            self._entity_ids[ident] = idx
        return idx

    def alias(self, idx: int, spaced: str | None = None, joined: str | None = None) -> None:
        if spaced:
            self.index.spaced.setdefault(spaced, set()).add(idx)
            joined = spaced.replace(" ", "")
        if not joined:
            return
        self.index.joined.setdefault(joined, set()).add(idx)
        if not spaced:
            respaced = _respace(joined)
            if respaced and " " in respaced:
                self.index.spaced.setdefault(respaced, set()).add(idx)

    def keyword_aliases(self, idx: int, keywords: list[str]) -> set[str]:
        """Add joined data keywords (type prefix removed); return the types seen."""
        types: set[str] = set()
        siblings = frozenset(keywords)
        for kw in keywords:
            kind, rest = strip_keyword_prefix(kw, siblings)
            if kind:
                types.add(kind)
            self.alias(idx, joined=rest)
        return types


def build_index(province_code: int) -> Index:
    new_key = _province_key(province_code)
    conv = _converter()
    units: dict[int, tuple[str, str]] = {}
    by_folded: dict[str, list[int]] = defaultdict(list)
    for w in Ward.iter_by_province(ProvinceCode(province_code)):
        kind, short = _type_of(w.name)
        units[int(w.code)] = (w.name, kind or "xa")
        by_folded[fold(w.name).replace(" ", "")].append(int(w.code))
    index = Index(province_code, units)
    b = _Builder(index)

    with _db() as con:
        new_rows = con.execute(
            "SELECT ward, wardKey, wardCode, wardKeywords, provinceShort, provinceKeywords "
            "FROM admin_units WHERE provinceKey = ?",
            (new_key,),
        ).fetchall()
        old_provinces = list(conv["DICT_PROVINCE"].get(new_key, [new_key]))
        marks = ",".join("?" * len(old_provinces))
        legacy = con.execute(
            "SELECT provinceKey, provinceShort, districtKey, district, districtKeywords, "
            "wardKey, ward, wardKeywords FROM admin_units_legacy "
            f"WHERE provinceKey IN ({marks})",
            old_provinces,
        ).fetchall()
        provinces = con.execute(
            "SELECT DISTINCT provinceKey, provinceShort, provinceKeywords FROM admin_units "
            "UNION SELECT DISTINCT provinceKey, provinceShort, provinceKeywords "
            "FROM admin_units_legacy"
        ).fetchall()

    # Today's communes.
    key_to_code: dict[str, int] = {}
    for name, ward_key, ward_code, _, _, _ in new_rows:
        code = int(ward_code)
        if code not in units or fold(units[code][0]) != fold(name):
            same = by_folded.get(fold(name).replace(" ", ""), [])
            if len(same) != 1:
                continue
            code = same[0]
        key_to_code[ward_key] = code
    for code, (name, kind) in units.items():
        idx = b.entity(("new", code), Entity(NEW, name, (code,), frozenset({kind})))
        b.alias(idx, spaced=_type_of(name)[1])
    for _, ward_key, _, kws, _, _ in new_rows:
        if ward_key in key_to_code:
            code = key_to_code[ward_key]
            b.keyword_aliases(b._entity_ids[("new", code)], _keywords(kws))

    # Old -> new tables.
    old_to_new: dict[str, list[int]] = defaultdict(list)
    for ward_key, olds in conv["DICT_PROVINCE_WARD_NO_DIVIDED"].get(new_key, {}).items():
        if ward_key in key_to_code:
            for old in olds:
                old_to_new[old].append(key_to_code[ward_key])
    for old, parts in conv["DICT_PROVINCE_WARD_DIVIDED"].get(new_key, {}).items():
        for part in sorted(parts, key=lambda p: not p.get("isDefaultNewWard")):
            if part["newWardKey"] in key_to_code:
                old_to_new[old].append(key_to_code[part["newWardKey"]])

    dist_codes: dict[str, list[int]] = defaultdict(list)
    dist_info: dict[str, tuple[str, str, str | None]] = {}
    for pkey, _, dkey, dname, dkws, wkey, wname, wkws in legacy:
        targets = tuple(dict.fromkeys(old_to_new.get(f"{pkey}_{dkey}_{wkey}", [])))
        if not targets:
            continue
        dident = f"{pkey}_{dkey}"
        for code in targets:
            if code not in dist_codes[dident]:
                dist_codes[dident].append(code)
        dist_info[dident] = (pkey, dname, dkws)
        kind, short = _type_of(wname)
        idx = b.entity(
            ("old", pkey, dkey, wkey),
            Entity(OLD, f"{wname}, {dname}", targets, frozenset(), dident, pkey),
        )
        b.alias(idx, spaced=short)
        types = b.keyword_aliases(idx, _keywords(wkws)) | ({kind} if kind else set())
        ent = index.entities[idx]
        index.entities[idx] = Entity(
            OLD, ent.label, ent.targets, frozenset(types), ent.district, ent.province
        )

    for dident, codes in dist_codes.items():
        pkey, dname, dkws = dist_info[dident]
        kind, short = _type_of(dname)
        same_name = [c for c in codes if _type_of(units[c][0])[1] == short]
        targets = tuple(same_name + sorted(c for c in codes if c not in same_name))
        idx = b.entity(("dist", dident), Entity(DIST, dname, targets, frozenset(), dident, pkey))
        b.alias(idx, spaced=short)
        types = b.keyword_aliases(idx, _keywords(dkws)) | ({kind} if kind else set())
        index.entities[idx] = Entity(DIST, dname, targets, frozenset(types), dident, pkey)
        index.dist_members[dident] = frozenset(codes)

    # Province names: ours (today's and the merged old ones) and everybody else's.
    own = {new_key, *old_provinces}
    for pkey, pshort, pkws in provinces:
        is_own = pkey in own
        idx = b.entity(
            ("prov", pkey),
            Entity(
                PROV if is_own else FOREIGN, pshort, (), frozenset({"tinh", "thanhpho"}), None, pkey
            ),
        )
        b.alias(idx, spaced=fold(pshort))
        kws = _keywords(pkws)
        for kw in kws:
            b.alias(idx, joined=strip_keyword_prefix(kw, frozenset(kws))[1])
    if new_key != "thanhphohochiminh" and new_key != "thanhphohanoi":
        idx = b.entity(("prov", "extra"), Entity(FOREIGN, "HCM/HN", (), frozenset(), None, None))
        for alias in _EXTRA_FOREIGN:
            b.alias(idx, spaced=alias)

    for alias in index.spaced:
        index.spaced_by_len.setdefault(len(alias), []).append(alias)
        index.max_words = max(index.max_words, alias.count(" ") + 1)
    for alias in index.joined:
        index.joined_by_len.setdefault(len(alias), []).append(alias)
    index.inner_words = frozenset(w for a in index.spaced for w in a.split(" ")[1:])
    # Fill the fuzzy-pass candidate lists now rather than on first use.
    longest = max(max(index.spaced_by_len, default=0), max(index.joined_by_len, default=0))
    for length in range(1, longest + 3):
        for k in (1, 2):
            for spaced in (True, False):
                by_len = index.spaced_by_len if spaced else index.joined_by_len
                index.near_cache[(spaced, length, k)] = [
                    a for n in range(length - k, length + k + 1) for a in by_len.get(n, ())
                ]
    return index
