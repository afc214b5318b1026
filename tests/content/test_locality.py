"""Tests for content.locality (free text -> commune of the province). No network."""

from __future__ import annotations

import time
import unicodedata

import pytest

from content.locality import Candidate, fold, get_unit, lookup, units
from tests.content.locality_testset import NEGATIVE_TEXTS, Case, all_cases

QUY_NHON = 21583
QUY_NHON_NAM = 21592
TAY_SON = 21808
TUY_PHUOC_DONG = 21970


def top(text: str) -> int | None:
    found = lookup(text)
    return found[0].code if found else None


# --- normalisation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Phường Quy Nhơn", "phuong quy nhon"),
        (unicodedata.normalize("NFD", "Xã Đak Đoa"), "xa dak doa"),
        ("ĐẮK PƠ", "dak po"),
        ("\u200bQuy\u200d Nh\u200eơn\ufeff", "quy nhon"),
        ("\u202bXã Gào\u202c 🙏😀", "xa gao"),
        ("K'Bang", "kbang"),
        ("P.Quy Nhơn,TP.Quy Nhơn", "p quy nhon tp quy nhon"),
        ("thôn2", "thon 2"),
        ("ＱＵＹ ＮＨＯＮ", "quy nhon"),  # full-width
    ],
)
def test_fold(raw: str, folded: str) -> None:
    assert fold(raw) == folded


@pytest.mark.parametrize(
    "text",
    [
        "Phường Quy Nhơn",
        "phuong quy nhon",
        "PHƯỜNG QUY NHƠN",
        "P. Quy Nhơn",
        "P Quy Nhơn",
        "p.quy nhon",
        "Quy Nhơn",
        "quynhon",
        "phuong quy nhonn",
        unicodedata.normalize("NFD", "Phường Quy Nhơn"),
        "\u200fPhường\u200b Quy Nhơn 👍",
        "Phường Quy Nhơn, Gia Lai",
    ],
)
def test_written_forms(text: str) -> None:
    assert top(text) == QUY_NHON


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("tôi ở thôn 3 xã Tây Sơn gần chợ", TAY_SON),
        ("nha em o phuong quy nhon nam", QUY_NHON_NAM),
        ("123 Trần Hưng Đạo, phường Quy Nhơn Nam", QUY_NHON_NAM),
        ("X. Tây Sơn", TAY_SON),
        ("xa tay son", TAY_SON),
        ("TT. Phú Phong, H. Tây Sơn", TAY_SON),
    ],
)
def test_surrounding_words_and_abbreviations(text: str, code: int) -> None:
    assert top(text) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("phường Lê Lợi, TP Quy Nhơn, Bình Định", QUY_NHON),  # Lê Lợi -> Thị Nại -> Quy Nhơn
        ("xã Phước Sơn, huyện Tuy Phước", TUY_PHUOC_DONG),
        ("Phước Sơn, Tuy Phước", TUY_PHUOC_DONG),
        ("thị trấn Phú Phong, Tây Sơn", TAY_SON),
        ("thi tran phu phong tay son binh dinh", TAY_SON),
        ("Phường Ngô Mây, TP Quy Nhơn", QUY_NHON_NAM),  # not today's Xã Ngô Mây
        ("phường Đống Đa, Pleiku", 23584),  # Pleiku's Đống Đa -> Thống Nhất
        ("Xã Ia Sao, Huyện Ia Grai, Gia Lai", 23767),  # -> Ia Hrung, not today's Ia Sao
    ],
)
def test_old_addresses(text: str, code: int) -> None:
    assert top(text) == code


def test_split_ward_returns_every_part() -> None:
    # Xã An Nghĩa (huyện An Lão) was divided between Xã An Hòa and Xã An Toàn.
    codes = [c.code for c in lookup("xã An Nghĩa, huyện An Lão, Bình Định")]
    assert set(codes[:2]) == {21628, 21622}


def test_old_district_alone_gives_its_communes_with_lower_scores() -> None:
    found = lookup("huyện Tuy Phước")
    assert {c.code for c in found} == {21952, 21970, 21985, 21964}
    assert found[0].code == 21952  # the commune named like the district comes first
    assert all(c.score < 0.9 for c in found)
    assert lookup("tôi ở huyện Tuy Phước", limit=2) == found[:2]


def test_other_province_names_give_nothing() -> None:
    assert lookup("Phường Bến Nghé, Quận 1, TP HCM") == []
    assert lookup("Hà Nội") == []


@pytest.mark.parametrize("text", NEGATIVE_TEXTS)
def test_negative_texts(text: str) -> None:
    assert lookup(text) == []


def test_candidates_are_well_formed() -> None:
    found = lookup("Quy Nhơn")
    assert found and all(isinstance(c, Candidate) for c in found)
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)
    assert all(0.0 < c.score <= 1.0 for c in found)
    assert found[0] == Candidate(QUY_NHON, "Phường Quy Nhơn", found[0].score)
    assert len(lookup("TP Quy Nhơn", limit=2)) == 2
    assert lookup("Quy Nhơn", limit=0) == []


def test_units_and_get_unit() -> None:
    all_units = units()
    assert len(all_units) == 135
    assert len({u.code for u in all_units}) == 135
    assert all(u.score == 1.0 for u in all_units)
    assert Candidate(QUY_NHON, "Phường Quy Nhơn", 1.0) in all_units
    assert get_unit(QUY_NHON) == Candidate(QUY_NHON, "Phường Quy Nhơn", 1.0)
    assert get_unit(-5) is None
    assert get_unit(99_999_999) is None
    # every lookup result is a commune of the province
    codes = {u.code for u in all_units}
    assert all(c.code in codes for c in lookup("Quy Nhơn"))


def test_other_province() -> None:
    assert [c.name for c in lookup("P. Phúc Xá, Q. Ba Đình", province_code=1)][:1] == [
        "Phường Hồng Hà"
    ]


def test_lookup_is_fast() -> None:
    lookup("warm up the index")
    texts = [
        "phường Lê Lợi, TP Quy Nhơn, Bình Định",
        "tôi ở thôn 3 xã Tây Sơn gần chợ",
        "nha em o phuong quy nhon namm",
        "xin chào",
    ] * 50
    start = time.perf_counter()
    for text in texts:
        lookup(text)
    per_call = (time.perf_counter() - start) / len(texts)
    assert per_call < 0.005


# --- accuracy over the generated test set ---------------------------------------------


def _rates(cases: list[Case]) -> tuple[int, float, float]:
    top1 = top3 = 0
    for case in cases:
        codes = [c.code for c in lookup(case.text, limit=3)]
        top1 += bool(codes) and codes[0] in case.expected
        top3 += bool(case.expected.intersection(codes))
    return len(cases), top1 / len(cases), top3 / len(cases)


def test_accuracy(capsys: pytest.CaptureFixture[str]) -> None:
    cases = all_cases()
    old = [c for c in cases if c.old]
    assert len(cases) > 135 * 10
    assert len(old) >= 50
    assert {c.expected for c in cases if not c.old} == {frozenset({u.code}) for u in units()}
    n, top1, top3 = _rates(cases)
    n_old, top1_old, top3_old = _rates(old)
    n_new, top1_new, top3_new = _rates([c for c in cases if not c.old])
    with capsys.disabled():
        print(
            f"\nlocality accuracy: {n} cases, top-1 {top1:.2%}, top-3 {top3:.2%}; "
            f"today's names {n_new}: {top1_new:.2%}/{top3_new:.2%}; "
            f"old addresses {n_old}: top-1 {top1_old:.2%}, top-3 {top3_old:.2%}"
        )
    assert top1 >= 0.97
    assert top3 >= 0.99
    assert top1_old >= 0.97
    assert top3_old >= 0.99
