import pytest

from bot.channels.telegram import parse_update

USER = {"id": 7, "is_bot": False, "first_name": "An", "language_code": "vi"}
CHAT = {"id": 7, "type": "private", "first_name": "An"}


def _message(**extra: object) -> dict[str, object]:
    return {"message_id": 1, "date": 1700000000, "chat": CHAT, "from": USER, **extra}


def test_text_message() -> None:
    inbound = parse_update({"update_id": 10, "message": _message(text="xin chào")})
    assert inbound is not None
    assert (inbound.kind, inbound.chat_id, inbound.update_id, inbound.text) == (
        "text",
        "7",
        "10",
        "xin chào",
    )
    assert inbound.language_hint == "vi"


def test_button_press() -> None:
    query = {
        "id": "cb1",
        "from": USER,
        "chat_instance": "x",
        "data": "lib:t:law:0",
        "message": _message(text="menu"),
    }
    inbound = parse_update({"update_id": 11, "callback_query": query})
    assert inbound is not None
    assert (inbound.kind, inbound.payload, inbound.callback_id) == ("button", "lib:t:law:0", "cb1")


def test_location_photo_document_and_sticker() -> None:
    loc = parse_update(
        {"update_id": 1, "message": _message(location={"latitude": 13.77, "longitude": 109.22})}
    )
    assert loc is not None and loc.kind == "location" and loc.location is not None
    photo = parse_update(
        {
            "update_id": 2,
            "message": _message(
                photo=[
                    {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90},
                    {"file_id": "big", "file_unique_id": "b", "width": 900, "height": 900},
                ]
            ),
        }
    )
    assert photo is not None and photo.kind == "photo" and photo.photo_ids == ("big",)
    doc = parse_update(
        {"update_id": 3, "message": _message(document={"file_id": "d", "file_unique_id": "d"})}
    )
    assert doc is not None and doc.kind == "file"
    sticker = parse_update(
        {
            "update_id": 4,
            "message": _message(
                sticker={
                    "file_id": "s",
                    "file_unique_id": "s",
                    "type": "regular",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                }
            ),
        }
    )
    assert sticker is not None and sticker.kind == "unsupported"


def test_updates_we_do_not_handle() -> None:
    assert parse_update({"update_id": 5, "edited_message": _message(text="x")}) is None
    group = {**_message(text="hi"), "chat": {"id": -5, "type": "group", "title": "g"}}
    assert parse_update({"update_id": 6, "message": group}) is None
    assert parse_update({"update_id": 7}) is None


@pytest.mark.parametrize("data", [{}, {"update_id": "x"}, {"message": {"text": 1}}])
def test_garbage_is_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        parse_update(data)


def test_button_under_a_message_telegram_no_longer_has() -> None:
    # an "inaccessible message" (date 0) still names its chat, which is all a press needs
    query = {
        "id": "cb2",
        "from": USER,
        "chat_instance": "x",
        "data": "menu",
        "message": {"message_id": 3, "date": 0, "chat": CHAT},
    }
    inbound = parse_update({"update_id": 12, "callback_query": query})
    assert inbound is not None and (inbound.chat_id, inbound.payload) == ("7", "menu")
    # a press without its message (an inline-mode button) is not a conversation with us
    del query["message"]
    assert parse_update({"update_id": 13, "callback_query": query}) is None


def test_fields_we_do_not_read_are_ignored_and_those_we_do_are_checked() -> None:
    future = _message(text="hi", some_field_added_later={"nested": [1, 2]}, entities="odd")
    inbound = parse_update({"update_id": 14, "message": future, "business_thing": 1})
    assert inbound is not None and inbound.text == "hi"
    for bad in (
        _message(text=5),
        {**_message(text="x"), "chat": {"id": "not a number", "type": "private"}},
        _message(photo=[{"width": 1}]),
        {**_message(text="x"), "from": {"language_code": ["vi"]}},
    ):
        with pytest.raises(ValueError):
            parse_update({"update_id": 15, "message": bad})


def test_a_refused_update_names_no_value() -> None:
    # logged by the webhook and, with its traceback, by the polling loop
    secret_text = "Có người buôn ma túy ở hẻm 5"
    bad = {**_message(text=secret_text), "chat": {"id": "x8837261", "type": "private"}}
    with pytest.raises(ValueError) as refused:
        parse_update({"update_id": 16, "message": bad})
    assert "message.chat.id" in str(refused.value)
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
    assert "8837261" not in str(refused.value) and secret_text not in str(refused.value)
