"""Free text -> commune (xã/phường/đặc khu) of the configured province.

Since 1 July 2025 Vietnam has two administrative levels (province, commune).
Residents still write addresses by hand, without diacritics, abbreviated,
misspelt and often in the pre-2025 form ("phường Lê Lợi, TP Quy Nhơn, Bình
Định").  :func:`lookup` turns such text into ranked candidate communes of
today; :func:`units` and :func:`get_unit` list and validate communes.

Data is offline only: today's communes come from ``vietnam_provinces``; old
names and the old -> new mapping are read from the data files shipped with
``vietnamadminunits`` (``dataset.db`` and ``converter_2025.json``), without
running any of that package's code (its converter may call an online
geocoder).  See :mod:`content._locality.data`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from vietnam_provinces import ProvinceCode, Ward, WardCode

from content._locality.data import Index, build_index
from content._locality.match import THRESHOLD, score
from content._locality.text import fold

__all__ = [
    "DEFAULT_PROVINCE",
    "MAX_NEAREST_KM",
    "THRESHOLD",
    "Candidate",
    "fold",
    "get_unit",
    "lookup",
    "nearest",
    "units",
    "warm",
]

#: A shared location farther than this from every commune centre is not in the province.
MAX_NEAREST_KM = 40.0

DEFAULT_PROVINCE = 52  # Gia Lai (incl. the former Bình Định province)


@dataclass(frozen=True)
class Candidate:
    code: int  # commune code (vietnam_provinces WardCode value)
    name: str  # official name with diacritics, e.g. "Phường Quy Nhơn"
    score: float  # 0..1, higher is more certain


@functools.cache
def _index(province_code: int) -> Index:
    return build_index(province_code)


def warm(province_code: int = DEFAULT_PROVINCE) -> None:
    """Build the province's name index now (about a second of CPU) rather than at the first
    lookup, where it would hold up every resident whose update is handled meanwhile."""
    _index(province_code)


def lookup(text: str, province_code: int = DEFAULT_PROVINCE, limit: int = 5) -> list[Candidate]:
    """Rank the communes of `province_code` that `text` plausibly names, best first.

    Returns ``[]`` when nothing plausible is found.  Old (pre-2025) addresses are
    mapped to today's communes; a ward that was split yields all its parts, an
    old district alone yields its communes with lower scores.
    """
    if limit <= 0 or not text or not text.strip():
        return []
    index = _index(province_code)
    return [
        Candidate(code, index.units[code][0], value) for code, value in score(index, text)[:limit]
    ]


def units(province_code: int = DEFAULT_PROVINCE) -> list[Candidate]:
    """All communes of the province (score 1.0), in the package's order.

    Raises ValueError for an unknown province code (as :func:`lookup` does).
    """
    return [
        Candidate(int(w.code), w.name, 1.0)
        for w in Ward.iter_by_province(ProvinceCode(province_code))
    ]


def get_unit(code: int) -> Candidate | None:
    """The commune with this code (any province), or None."""
    try:
        ward = Ward.from_code(WardCode(code))
    except (ValueError, KeyError, TypeError):
        return None
    return Candidate(int(ward.code), ward.name, 1.0)


def nearest(
    latitude: float, longitude: float, province_code: int = DEFAULT_PROVINCE, limit: int = 3
) -> list[Candidate]:
    """Communes whose centre is nearest to a shared location, nearest first.

    The score falls with distance (1.0 at the centre, 0.5 at 5 km); an empty list when the
    point is outside the province (farther than MAX_NEAREST_KM from every centre) or invalid.
    """
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return []
    from content._locality.nearest import nearest_codes

    by_name = {fold(unit.name): unit.code for unit in units(province_code)}
    found = nearest_codes(latitude, longitude, by_name, province_code, limit)
    result = []
    for code, km in found:
        unit = get_unit(code)
        if unit is not None and km <= MAX_NEAREST_KM:
            result.append(Candidate(unit.code, unit.name, round(1 / (1 + km / 5), 4)))
    return result
