"""The tip tables have nothing that could name a tipster (the full life-cycle test with
every table and log line comes with the tip intake flow)."""

from sqlalchemy import inspect as sa_inspect

from bot.models import Tip, TipMessage, TipPhoto, TipRelay

IDENTIFYING = {
    "resident_id",
    "chat_id",
    "user_id",
    "platform_id",
    "channel",
    "name",
    "display_name",
    "phone",
    "username",
    "sender",
    "from_id",
}


def test_no_tip_table_has_an_identifying_column() -> None:
    for model in (Tip, TipMessage, TipPhoto):
        columns = {c.key for c in sa_inspect(model).columns}
        assert not columns & IDENTIFYING, (model.__name__, columns & IDENTIFYING)


def test_the_relay_holds_only_a_sealed_blob() -> None:
    assert {c.key for c in sa_inspect(TipRelay).columns} == {"tip_id", "sealed", "delete_after"}
