"""De-identification hints: what is flagged, what is not, and spans into the original text."""

from __future__ import annotations

import itertools
import unicodedata

import pytest

from bot.tips.pii import KINDS, PLACEHOLDERS, Hint, find_identifiers, mask


def _found(text: str) -> list[tuple[str, str]]:
    hints = find_identifiers(text)
    for hint in hints:
        assert text[hint.start : hint.end] == hint.text
    return [(hint.kind, hint.text) for hint in hints]


POSITIVES: list[tuple[str, str, str]] = [
    # (kind, text, the part that must be flagged)
    ("phone", "Gọi 0912345678 nhé", "0912345678"),
    ("phone", "sđt 0912 345 678", "0912 345 678"),
    ("phone", "sđt: 091.234.5678.", "091.234.5678"),
    ("phone", "0912-345-678 là số của hắn", "0912-345-678"),
    ("phone", "số +84 912 345 678", "+84 912 345 678"),
    ("phone", "số +84912345678", "+84912345678"),
    ("phone", "số (+84) 912 345 678", "(+84) 912 345 678"),
    ("phone", "số +84 (0) 912 345 678", "+84 (0) 912 345 678"),
    ("phone", "zalo 84912345678", "84912345678"),
    ("phone", "số 0387654321", "0387654321"),
    ("phone", "số 0567 890 123", "0567 890 123"),
    ("phone", "số 0789.123.456", "0789.123.456"),
    ("phone", "số 0868123456", "0868123456"),
    ("phone", "bàn 0256 3822 000", "0256 3822 000"),
    ("phone", "bàn (0256) 3822000", "(0256) 3822000"),
    ("phone", "bàn (024) 3825 1234", "(024) 3825 1234"),
    ("phone", "bàn 028.3822.1234", "028.3822.1234"),
    ("phone", "bàn 02563822000", "02563822000"),
    ("phone", "bàn +84 24 3825 1234", "+84 24 3825 1234"),
    ("phone", "Số ĐT:0912345678", "0912345678"),
    ("phone", "０９１２３４５６７８", "０９１２３４５６７８"),  # full-width digits
    ("cccd", "CCCD 079123456789", "079123456789"),
    ("cccd", "số định danh 001 234 567 890", "001 234 567 890"),
    ("cccd", "căn cước 0012.3456.7890", "0012.3456.7890"),
    ("cccd", "anh ta 045-203-012-345 đó", "045-203-012-345"),
    ("cccd", "CCCD: 123456789012", "123456789012"),  # not a province code, but cued
    ("cccd", "CMND số 079123456789", "079123456789"),  # 12-digit CMND = CCCD format
    ("cmnd", "CMND: 123456789", "123456789"),
    ("cmnd", "cmt 023 456 789", "023 456 789"),
    ("cmnd", "số chứng minh nhân dân của y là 212.345.678", "212.345.678"),
    ("cmnd", "Chứng minh thư 201234567", "201234567"),
    ("cmnd", "CMND 20-1234-567", "20-1234-567"),
    ("plate", "xe 77A-123.45 màu đen", "77A-123.45"),
    ("plate", "biển 77-B1 234.56", "77-B1 234.56"),
    ("plate", "biển 30G 12345", "30G 12345"),
    ("plate", "biển 30G-123.45", "30G-123.45"),
    ("plate", "biển 29LD-123.45", "29LD-123.45"),
    ("plate", "biển 59X1-12345", "59X1-12345"),
    ("plate", "biển 51F 1234", "51F 1234"),
    ("plate", "biển 92k1-234.56", "92k1-234.56"),
    ("email", "mail nguyen.van-a+tip@gmail.com.vn.", "nguyen.van-a+tip@gmail.com.vn"),
    ("email", "gửi Tran_B@Example.COM nhé", "Tran_B@Example.COM"),
    ("email", "0912345678@gmail.com", "0912345678@gmail.com"),
    ("bank_account", "STK 0071000123456", "0071000123456"),
    ("bank_account", "STK Vietcombank: 0071 0001 23456", "0071 0001 23456"),
    ("bank_account", "số tài khoản 19035678901234", "19035678901234"),
    ("bank_account", "Số Tài Khoản: 12345678", "12345678"),
    ("bank_account", "tk 1234567890123456", "1234567890123456"),
    ("bank_account", "chuyển vào TK ACB 123-456-789", "123-456-789"),
    ("bank_account", "stk 079123456789", "079123456789"),  # cue beats the CCCD look
    ("bank_account", "STK 0912345678", "0912345678"),  # cue beats the phone look
]


@pytest.mark.parametrize(("kind", "text", "expected"), POSITIVES)
def test_positives(kind: str, text: str, expected: str) -> None:
    assert _found(text) == [(kind, expected)]


NEGATIVES: list[str] = [
    # dates and times
    "Ngày 12/08/2026 lúc 10:30",
    "ngày 12-08-2026, 12.08.2026, 2026-08-12",
    "hôm 05.09.2024 10 giờ",
    "từ 09/05/2024 08:30 đến 17:45",
    # money
    "họ đòi 5.000.000 đồng",
    "chuyển 50.000.000đ vào tk",
    "tk 50.000.000 đồng",
    "STK 12.500.000",
    "tk 12000000 vnđ",
    "giá 1.200.000.000 VND",
    "trả 200k 1234 lần",
    # hotlines and short numbers
    "Gọi 113, 111, 114 hoặc 115",
    "gọi 113 ngay",
    # numbers that are too short, too long, or lack a cue
    "mã đơn 123456789",  # 9 digits without a CMND cue
    "mã 12345678 không có ngữ cảnh",  # 8 digits without a bank cue
    "mã vận đơn 123456789012",  # 12 digits, no province code, no cue
    "số 09123456789012",  # 14 digits: not a phone
    "số 091234567",  # 9 digits: not a phone
    "sản phẩm 1984912345678",  # 84... glued to more digits
    "năm 1984 vụ án",
    "số 0112345678",  # 01x is not a mobile prefix any more
    "số 0412345678",  # nor 04x (landlines are 02x)
    "tk 1234567",  # 7 digits: too short for an account
    "tk 12345678901234567",  # 17 digits: too long
    # plate look-alikes
    "lúc 10h30 tối",
    "cách 20km 12345 mét",
    "cân nặng 30kg",
    "phòng 12A",
    # emails that are not
    "gặp @nguyenvana trên mạng",
    "a@b",
    "",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_negatives(text: str) -> None:
    assert _found(text) == []


def test_several_in_one_tip_sorted_by_start() -> None:
    text = (
        "Hắn tên Nam, sđt 0912 345 678, CCCD 079123456789, đi xe 77A-123.45, "
        "email nam@gmail.com, STK 0071000123456, CMND cũ 212345678. Ngày 12/08/2026, "
        "đưa 5.000.000 đồng. Báo 113."
    )
    assert _found(text) == [
        ("phone", "0912 345 678"),
        ("cccd", "079123456789"),
        ("plate", "77A-123.45"),
        ("email", "nam@gmail.com"),
        ("bank_account", "0071000123456"),
        ("cmnd", "212345678"),
    ]
    hints = find_identifiers(text)
    assert [h.start for h in hints] == sorted(h.start for h in hints)
    assert all(a.end <= b.start for a, b in itertools.pairwise(hints))


def test_a_date_does_not_hide_a_phone_right_after_it() -> None:
    assert _found("05.09.2024 0912345678") == [("phone", "0912345678")]
    assert _found("0912345678 0987654321") == [
        ("phone", "0912345678"),
        ("phone", "0987654321"),
    ]


def test_cue_must_be_in_the_same_clause() -> None:
    assert _found("tk của tôi. Mã 12345678") == []
    assert _found("CMND\n123456789") == []
    assert _found("CMND: 123456789") == [("cmnd", "123456789")]


def test_cue_is_a_whole_word() -> None:
    assert _found("tkb 12345678") == []
    assert _found("accept 12345678") == []


# --- spans into the original text -------------------------------------------------------------


def test_nfd_text_spans_index_the_original() -> None:
    nfc = "Số tài khoản của Nguyễn Văn Đức: 0071000123456, số điện thoại 0912 345 678."
    nfd = unicodedata.normalize("NFD", nfc)
    assert len(nfd) > len(nfc)
    hints = find_identifiers(nfd)
    assert [(h.kind, h.text) for h in hints] == [
        ("bank_account", "0071000123456"),
        ("phone", "0912 345 678"),
    ]
    for hint in hints:
        assert nfd[hint.start : hint.end] == hint.text
    assert mask(nfd, hints) == unicodedata.normalize(
        "NFD", "Số tài khoản của Nguyễn Văn Đức: [STK], số điện thoại [SĐT]."
    )


def test_nfd_email_keeps_its_trailing_combining_marks() -> None:
    text = unicodedata.normalize("NFD", "thư gửi bé@gmail.com")
    [hint] = find_identifiers(text)
    assert hint.kind == "email"
    assert hint.text == unicodedata.normalize("NFD", "bé@gmail.com")
    assert text[hint.start : hint.end] == hint.text


@pytest.mark.parametrize("invisible", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"])
def test_zero_width_characters_inside_and_around(invisible: str) -> None:
    number = f"09{invisible}12{invisible}345678"
    text = f"{invisible}Số{invisible} ĐT: {number}{invisible} và CMND {invisible}123456789"
    hints = find_identifiers(text)
    assert [(h.kind, h.text) for h in hints] == [("phone", number), ("cmnd", "123456789")]
    phone, cmnd = hints
    assert phone.start == text.index(number)
    assert phone.end == phone.start + len(number)  # the trailing invisible stays outside
    assert cmnd.start == text.index("123456789")
    assert mask(text, hints) == (
        f"{invisible}Số{invisible} ĐT: [SĐT]{invisible} và CMND {invisible}[CMND]"
    )


def test_nbsp_and_mixed_separators() -> None:
    assert _found("sđt 0912\u00a0345\u00a0678") == [("phone", "0912\u00a0345\u00a0678")]


def test_cue_with_diacritics_in_any_form_and_case() -> None:
    for cue in ("SỐ TÀI KHOẢN", "số tài khoản", "so tai khoan", "Số TK", "STK"):
        for form in ("NFC", "NFD"):
            text = unicodedata.normalize(form, f"{cue}: 12345678")
            assert _found(text) == [("bank_account", "12345678")], (cue, form)


# --- overlaps ---------------------------------------------------------------------------------


def test_longer_span_wins_over_a_shorter_one_inside_it() -> None:
    # 079 123 456 7 would be a mobile number, but the full 12 digits are a CCCD.
    assert _found("079 123 456 789") == [("cccd", "079 123 456 789")]
    # The phone inside an email address is part of the address.
    assert _found("mail: 0912345678@yahoo.com") == [("email", "0912345678@yahoo.com")]


# --- mask -------------------------------------------------------------------------------------


def test_mask_replaces_each_kind_with_its_placeholder() -> None:
    text = (
        "sđt 0912345678, CCCD 079123456789, CMND 212345678, xe 30G 12345, mail a@b.vn, STK 12345678"
    )
    hints = find_identifiers(text)
    assert [h.kind for h in hints] == ["phone", "cccd", "cmnd", "plate", "email", "bank_account"]
    assert mask(text, hints) == (
        "sđt [SĐT], CCCD [CCCD], CMND [CMND], xe [BIỂN SỐ], mail [EMAIL], STK [STK]"
    )


def test_placeholders_cover_every_kind() -> None:
    assert set(PLACEHOLDERS) == set(KINDS)
    assert PLACEHOLDERS["phone"] == "[SĐT]"
    assert all(unicodedata.is_normalized("NFC", p) for p in PLACEHOLDERS.values())


def test_mask_without_hints_is_identity() -> None:
    assert mask("không có gì", []) == "không có gì"
    assert mask("", []) == ""


def test_mask_accepts_hints_in_any_order_and_overlapping() -> None:
    text = "abc 0912345678 def"
    a = Hint("phone", 4, 14, "0912345678")
    b = Hint("bank_account", 8, 14, "345678")
    assert mask(text, [b, a]) == "abc [SĐT] def"
    assert mask(text, [Hint("name", 0, 3, "abc")]) == "[ẨN] 0912345678 def"


def test_mask_refuses_hints_for_another_text() -> None:
    hints = find_identifiers("sđt 0912345678")
    with pytest.raises(ValueError, match="does not match"):
        mask("sđt: 0912345678", hints)


def test_hint_is_frozen() -> None:
    hint = Hint("phone", 0, 1, "0")
    with pytest.raises(AttributeError):
        hint.start = 5  # type: ignore[misc]
