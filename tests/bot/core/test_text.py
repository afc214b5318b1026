from bot.core.text import fold, normalise


def test_nfd_and_invisible_characters() -> None:
    nfd = "Quy Nho\u031bn"  # NFD ơ
    assert normalise(nfd) == "Quy Nhơn"
    assert normalise("\u200bQuy Nhơn\u200f\ufeff") == "Quy Nhơn"
    assert normalise("✏️ 👨\u200d👩\u200d👧") == "✏️ 👨\u200d👩\u200d👧"  # emoji stay whole
    assert fold("Quy\u200d Nhơn ✏️") == "quy nhon ✏"
    assert normalise("\u202eabc\u202c") == "abc"


def test_controls_and_spaces() -> None:
    assert normalise("  a\x00b\t\t c \r\n d  ") == "ab c \n d"
    assert normalise("a\nb", keep_newlines=False) == "a b"


def test_fold_removes_diacritics_and_case() -> None:
    assert fold("Đường Dây Nóng") == "duong day nong"
    assert fold("ĐỀ GI") == "de gi"
    assert fold("emoji 🚨 stays") == "emoji 🚨 stays"
