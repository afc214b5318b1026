import pytest

from bot.core.limits import ZaloBotLimit
from bot.core.render import choices_of, render, resolve_choice, split_text, utf16_len
from bot.core.types import Button, Capabilities, Reply

NO_BUTTONS = Capabilities(
    buttons=False, max_text=ZaloBotLimit.MAX_TEXT_LENGTH, location=False, photos=False
)
BUTTONS = Capabilities(buttons=True, max_text=4096, location=True, photos=True)


def _menu() -> Reply:
    return Reply(
        "Menu", [[Button("Tuyên truyền", "lib")], [Button("Góp ý", "fb"), Button("Cài đặt", "set")]]
    )


def test_buttons_kept_where_the_channel_has_them() -> None:
    [message] = render(_menu(), BUTTONS)
    assert message.text == "Menu"
    assert [[b.payload for b in row] for row in message.buttons] == [["lib"], ["fb", "set"]]


def test_buttons_become_numbered_choices_without_keyboards() -> None:
    [message] = render(_menu(), NO_BUTTONS)
    assert message.buttons == []
    assert message.text.splitlines()[-3:] == ["1. Tuyên truyền", "2. Góp ý", "3. Cài đặt"]


def test_typed_number_or_label_picks_the_choice() -> None:
    choices = choices_of([_menu()])
    assert resolve_choice("2", choices) == "fb"
    assert resolve_choice(" 3. ", choices) == "set"
    assert resolve_choice("số 1", choices) == "lib"
    assert resolve_choice("２", choices) == "fb"  # full-width digit from a phone keyboard
    assert resolve_choice("gop y", choices) == "fb"  # label without diacritics
    assert resolve_choice("Go\u0301p y\u0301", choices) == "fb"  # NFD
    assert resolve_choice("4", choices) is None
    assert resolve_choice("0", choices) is None
    assert resolve_choice("xin chào", choices) is None
    assert resolve_choice("🙂", choices) is None


def test_labels_match_without_their_emoji() -> None:
    choices = [["🇻🇳 Tiếng Việt", "lang:vi"], ["☎️ Đường dây nóng", "hot"]]
    assert resolve_choice("tieng viet", choices) == "lang:vi"
    assert resolve_choice("Đường dây nóng!", choices) == "hot"
    assert resolve_choice("duong day", choices) == "hot"  # a part of one label


_STEP = choices_of(
    [
        Reply(
            "Step",
            [
                [Button("Lừa đảo qua mạng, điện thoại", "tip:cat:fraud")],
                [Button("Ma túy", "tip:cat:drugs")],
                [Button("Trộm cắp, cướp giật", "tip:cat:theft")],
                [Button("✅ Gửi tin báo", "tip:send", ("gui", "send", "co", "ok"))],
                [Button("Không", "tip:urg:0", ("khong", "ko", "no"))],
                [Button("Hủy", "cancel")],
            ],
        )
    ]
)


@pytest.mark.parametrize(
    ("typed", "picked"),
    [
        ("lừa đảo", "tip:cat:fraud"),  # a part of a label
        ("lua dao", "tip:cat:fraud"),
        ("ma tuy", "tip:cat:drugs"),
        ("MA TÚY!!", "tip:cat:drugs"),
        ("ma tuys", "tip:cat:drugs"),  # a typo
        ("trom cap cuop giat", "tip:cat:theft"),
        ("gửi", "tip:send"),  # a button's own word
        ("Send", "tip:send"),
        ("ok", "tip:send"),
        ("ko", "tip:urg:0"),
        ("ok gửi đi", "tip:send"),  # a button's word and a word or two more
        ("không, có ai", "tip:urg:0"),
        ("không biết nữa, chắc là không", None),  # more is an answer of its own
        ("huy", "cancel"),  # a leaving button by its whole label
        ("6", "cancel"),
        ("hu", None),  # a part of a leaving button's label does not leave
        ("huyy", None),  # nor does a near miss
        ("tài sản của tôi bị lấy mất hôm qua", None),  # a sentence is not a choice
        ("cuop", "tip:cat:theft"),
        ("7", None),
        ("xin chào", None),
    ],
)
def test_a_typed_answer_picks_one_choice_or_none(typed: str, picked: str | None) -> None:
    assert resolve_choice(typed, _STEP) == picked


def _choices(*buttons: Button) -> list[list[object]]:
    return choices_of([Reply("?", [[b] for b in buttons])])


def test_a_word_two_buttons_share_picks_neither() -> None:
    choices = _choices(Button("Có", "a", ("co",)), Button("Có, đang xảy ra", "b", ("co",)))
    assert resolve_choice("co", choices) == "a"  # the whole label first
    assert (
        resolve_choice("ok", _choices(Button("A", "a", ("ok",)), Button("B", "b", ("ok",)))) is None
    )


def test_a_part_of_two_labels_picks_neither() -> None:
    choices = _choices(Button("Xã Tây Sơn", "1"), Button("Phường Tây Sơn", "2"))
    assert resolve_choice("tay son", choices) is None
    assert resolve_choice("phuong tay son", choices) == "2"


def test_names_are_picked_only_whole() -> None:
    """ "Quy Nhơn" and "Quy Nhơn Đông" are other places than "Phường Quy Nhơn Nam"."""
    choices = _choices(
        Button("Phường Quy Nhơn Nam", "pl:1", exact=True), Button("Không rõ", "pl:0")
    )
    assert resolve_choice("quy nhon", choices) is None
    assert resolve_choice("phuong quy nhon dong", choices) is None
    assert resolve_choice("phuong quy nhon nam", choices) == "pl:1"
    assert resolve_choice("khong ro", choices) == "pl:0"


def test_a_typo_is_one_or_two_edits_in_a_word() -> None:
    choices = _choices(Button("☎️ Đường dây nóng", "hot"), Button("Góp ý", "fb"))
    assert resolve_choice("duong day nogn", choices) == "hot"  # two letters swapped
    assert resolve_choice("duong dai nong", choices) == "hot"
    assert resolve_choice("duong xa nong", choices) is None  # a short word must be right
    assert resolve_choice("gop y kien", choices) is None
    phong_trao = _choices(Button("Phong trào toàn dân", "pt"), Button("Góp ý", "fb"))
    assert resolve_choice("khong", phong_trao) is None  # one word is not a label's first


def test_choices_stored_before_words_were_kept_still_resolve() -> None:
    assert resolve_choice("gop y", [["Góp ý", "fb"], ["Cài đặt", "set"]]) == "fb"
    assert resolve_choice("2", [["Góp ý", "fb"], ["Cài đặt", "set"]]) == "set"


def test_long_text_is_split_at_the_limit_on_word_boundaries() -> None:
    words = " ".join(f"từ{i}" for i in range(2000))
    parts = split_text(words, 2000)
    assert all(len(p) <= 2000 for p in parts)
    assert " ".join(parts) == words


def test_split_without_spaces_still_respects_the_limit() -> None:
    parts = split_text("x" * 5000, 2000)
    assert [len(p) for p in parts] == [2000, 2000, 1000]


def test_buttons_go_with_the_last_part() -> None:
    reply = Reply("a " * 3000, [[Button("OK", "m")]])
    messages = render(reply, BUTTONS)
    assert len(messages) == 2
    assert messages[0].buttons == [] and messages[1].buttons


def test_reply_json_round_trip() -> None:
    reply = Reply("x", [[Button("a", "b")]], photo="file-1")
    assert Reply.from_json(reply.to_json()) == reply


def test_utf16_splitting_counts_emoji_twice() -> None:
    text = "🚨" * 1500  # 1,500 characters, 3,000 UTF-16 units
    parts = split_text(text, 2000, utf16=True)
    assert [utf16_len(p) for p in parts] == [2000, 1000]
    assert "".join(parts) == text
    assert split_text(text, 2000) == [text]


def test_nfd_text_is_measured_after_nfc() -> None:
    nfd = "Quy Nho\u031bn " * 200  # 2,000 characters in NFD, 1,800 in NFC
    assert len(split_text(nfd, 1900)) == 1
