"""Hypothesis strategies for hostile input: the text, numbers and JSON a careless or malicious
client can send, and the fixed settings every hostile test runs with.

Texts mix random code points (lone surrogates and NUL included) with pieces known to trip
parsers: NFD Vietnamese, zero-width and bidirectional controls, emoji sequences, digits that
`str.isdigit` accepts but `int` does not, numbers too big for a database column, format
strings and markup.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

__all__ = [
    "HOSTILE_PIECES",
    "deep_nesting",
    "encode_json",
    "hostile_settings",
    "hostile_text",
    "hostile_values",
    "json_values",
    "long_text",
    "mutated",
]


def hostile_settings(examples: int) -> settings:
    """Reproducible in CI: no example database, derandomised, no per-example deadline (the
    product runs on loopback and a transaction on a busy machine can take a while)."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


HOSTILE_PIECES: tuple[str, ...] = (
    # Vietnamese in NFD (base letters and combining marks), and precomposed
    "Nguye\u0302\u0303n Thi\u0323 Hoa",
    "Phu\u031bo\u031b\u0300ng Quy Nho\u031bn",
    "đường dây nóng",
    "e\u0301\u0301\u0301\u0301\u0301",
    # invisible: zero-width space/non-joiner/joiner, word joiner, BOM, soft hyphen
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u00ad",
    # bidirectional marks, embeddings, overrides and isolates
    "\u200e",
    "\u200f",
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u061c",
    "\u202eeviL\u202c",
    "مرحبا",
    "שלום",
    # emoji sequences: family (joiners), flag, keycap, skin tone, variation selector
    "👨\u200d👩\u200d👧\u200d👦",
    "🇻🇳",
    "1\ufe0f\u20e3",
    "👍🏽",
    "✏\ufe0f",
    "🏳\ufe0f\u200d🌈",
    # lone surrogates, NUL and other controls, line and paragraph separators
    "\ud800",
    "\udfff",
    "\udc80",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\r\n",
    "\u2028",
    "\u2029",
    "\u0085",
    # digits `isdigit` accepts but `int` refuses or reads differently, and huge numbers
    "²",
    "³",
    "¹²³",
    "①",
    "١٢٣",
    "１２３",
    "𝟗",
    "Ⅻ",
    "9" * 19,
    "9" * 40,
    "9" * 5000,
    "-1",
    "0",
    "00000000000000000001",
    "-9223372036854775809",
    "1e400",
    "NaN",
    "nan",
    "Infinity",
    "-inf",
    "0x1F",
    "1_000",
    # format strings, markup, SQL, paths
    "{0}",
    "{name}",
    "{}",
    "%s%s%s%n",
    "<script>alert(1)</script>",
    "<b>đậm</b>",
    "*bold* _it_ [link](http://x)",
    "'; DROP TABLE resident; --",
    "../../../../etc/passwd",
    "%00",
    "%ff",
    "\\",
    '"',
    "",
    " " * 64,
)

#: Any code point, surrogates included (Hypothesis leaves them out unless told).
_ANY_CHAR = st.characters(exclude_categories=[])


def hostile_text(max_pieces: int = 6) -> st.SearchStrategy[str]:
    """A string made of hostile pieces and random code points."""
    piece = st.one_of(
        st.sampled_from(HOSTILE_PIECES),
        st.text(_ANY_CHAR, max_size=12),
        st.text(st.sampled_from("0123456789²١𝟗-+. e"), min_size=1, max_size=25),
    )
    return st.lists(piece, max_size=max_pieces).map("".join)


def long_text() -> st.SearchStrategy[str]:
    """Texts past every platform's limit (a few kB to about 100 kB once encoded)."""
    unit = st.sampled_from(["ệ", "a", "👨\u200d👩\u200d👧", "\u200b", "e\u0301", "x "])
    return st.tuples(unit, st.integers(1_000, 25_000)).map(lambda pair: pair[0] * pair[1])


_BIG_INTS = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**130), max_value=2**130),
    st.sampled_from([2**31, 2**31 - 1, 2**53 + 1, 2**63, 2**63 - 1, -(2**63) - 1, 2**64, 10**400]),
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    _BIG_INTS,
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text(),
)


def json_values(max_leaves: int = 25) -> st.SearchStrategy[Any]:
    """Random JSON (Python's dialect: NaN and Infinity included), keys hostile too."""
    return st.recursive(
        _SCALARS,
        lambda children: st.one_of(
            st.lists(children, max_size=6),
            st.dictionaries(hostile_text(3), children, max_size=6),
        ),
        max_leaves=max_leaves,
    )


def hostile_values() -> st.SearchStrategy[Any]:
    """What a field of a valid update is replaced with: any type, any size."""
    return st.one_of(
        _SCALARS,
        long_text(),
        st.just([]),
        st.just({}),
        json_values(10),
    )


def _slots(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in `doc` a value sits at (dict keys and list indexes), outermost first."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield (*path, key)
            yield from _slots(value, (*path, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield (*path, index)
            yield from _slots(value, (*path, index))


@st.composite
def mutated(draw: st.DrawFn, template: dict[str, Any], max_changes: int = 3) -> dict[str, Any]:
    """`template` with one to `max_changes` values replaced by hostile ones, removed, or given
    a hostile sibling key."""
    doc = copy.deepcopy(template)
    for _ in range(draw(st.integers(1, max_changes))):
        slots = list(_slots(doc))
        if not slots:
            break
        path = draw(st.sampled_from(slots))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add"]))
        if action == "replace":
            parent[key] = draw(hostile_values())
        elif action == "delete" and isinstance(parent, dict):
            del parent[key]
        elif action == "delete":
            parent.pop(key)
        elif isinstance(parent, dict):
            parent[draw(hostile_text(3))] = draw(hostile_values())
        else:
            parent.append(draw(hostile_values()))
    return doc


def encode_json(value: Any, raw_utf8: bool = False) -> bytes:
    """`value` as JSON bytes. Surrogates and NUL travel as \\u escapes; with `raw_utf8`, text
    is sent as UTF-8 bytes (a lone surrogate then becomes bytes that are not UTF-8)."""
    if raw_utf8:
        return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return json.dumps(value).encode()


def deep_nesting(depth: int, kind: str = "list") -> bytes:
    """`depth` levels of arrays (or objects), closed, built as bytes (json.dumps would hit
    the recursion limit itself)."""
    if kind == "list":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth
