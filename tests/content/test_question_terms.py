"""content/question_terms.py: residents' words as search terms."""

from __future__ import annotations

from content.question_terms import crime, emergency, everyday, fold, generic, terms, trouble, words


def _folded(text: str) -> list[str]:
    return [f for f, _ in terms(text).words]


def test_fold_removes_vietnamese_diacritics() -> None:
    assert fold("Lừa đảo ĐÃ xảy ra") == "Lua dao DA xay ra"
    assert fold("ma tuý") == fold("ma túy") == "ma tuy"


def test_teen_code_and_abbreviations_are_expanded() -> None:
    assert words("bj lừa ko bik fai lm j") == ["bị", "lừa", "không", "biết", "phải", "làm", "gì"]
    assert words("sdt CA xã") == ["số", "điện", "thoại", "công", "an", "xã"]


def test_words_with_and_without_diacritics_give_the_same_folded_terms() -> None:
    assert (
        _folded("lừa đảo qua mạng")
        == _folded("lua dao qua mang")
        == [
            "lua",
            "dao",
            "qua",
            "mang",
        ]
    )
    assert "lừa" in terms("lừa đảo").all()
    assert "lua_dao" in terms("lừa đảo").pairs
    assert "lừa_đảo" in terms("lừa đảo").pairs


def test_stopwords_are_left_out_but_pair_with_their_neighbours() -> None:
    found = terms("cho mình hỏi bị lừa thì làm sao ạ")
    assert _folded("cho mình hỏi bị lừa thì làm sao ạ") == ["lua"]
    assert "bi_lua" in found.pairs
    assert "lam_sao" not in found.pairs
    assert found.content_pairs == ()


def test_a_question_of_stopwords_only_keeps_them() -> None:
    assert _folded("what can you do") == ["what", "can", "you", "do"]


def test_english_endings_and_emoji() -> None:
    assert _folded("scammed calls claiming policies") == ["scam", "call", "claim", "policy"]
    assert _folded("👍") == ["👍"]
    assert _folded("tiếng Việt, thông tin") == ["tieng", "viet", "thong", "tin"]


def test_each_word_knows_its_neighbours_but_a_number_has_none() -> None:
    found = terms("bạn có người yêu chưa")
    assert found.words == (("yeu", "yêu"),)
    assert found.neighbours == (("nguoi_yeu", "yeu_chua"),)
    dated = terms("ngày 19 tháng 8")
    assert [f for f, _ in dated.words] == ["ngay", "19", "thang", "8"]
    assert dated.neighbours == ((), (), (), ())


def test_generic_words_are_folded_like_the_terms() -> None:
    assert {"hom", "nay", "vua", "nguoi", "might", "go"} <= generic()
    assert not {"tien", "lua", "dao", "trom", "bao", "no", "false"} & (generic() - {"no"})
    assert "no" in generic()  # the English word, not YAML's false


def test_a_questions_paraphrases_are_the_librarys_words() -> None:
    assert words("có người xưng là công an", paraphrase=True) == [
        "có",
        "người",
        "giả",
        "danh",
        "công",
        "an",
    ]
    assert words("có người xưng là công an") == ["có", "người", "xưng", "là", "công", "an"]
    # without diacritics only in a text typed without any: "mạo danh" is not "đánh"
    assert "danh" in words("mạo danh người thân", paraphrase=True)


def test_an_emergency_is_told_by_its_words_as_typed() -> None:
    assert emergency("có đứa đang đánh nhau trước cửa")
    assert emergency("co nguoi bi dam ngoai duong")
    assert emergency("someone got stabbed near me")
    assert not emergency("mạo danh người thân")
    assert not emergency("bị giật điện thoại ngoài đường")


def test_an_everyday_question_is_told_by_its_patterns_unless_it_tells_of_trouble() -> None:
    assert everyday("mở tài khoản ngân hàng online")
    assert everyday("quen mat khau facebook")  # without diacritics
    assert everyday("giá xe máy honda vision bao nhiêu")  # "giá * bao nhiêu": a gap
    assert everyday("bạn mấy tuổi")
    assert everyday("where can I buy a sim card")
    assert not everyday("bị lừa mở tài khoản ngân hàng")  # a trouble word
    assert not everyday("mua pháo ở đâu")  # a crime
    assert not everyday("cách phòng trộm xe máy")  # no everyday pattern
    assert not everyday("giá bao giờ mới xong")  # the gap is at most three words, in order


def test_crimes_and_trouble_words() -> None:
    assert crime("bị móc túi ở chợ") and crime("deepfake scam") and crime("cac kieu lua dao")
    assert not crime("có người gọi nói là công an")
    assert trouble("có người gọi nói là công an") and trouble("bị móc túi")
    assert not trouble("quên mật khẩu facebook")
