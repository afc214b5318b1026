import pytest

from bot.tips.codes import (
    CODE_ALPHABET,
    hash_pin,
    new_pin,
    new_tip_code,
    normalise_code,
    verify_pin,
)


def test_codes_are_short_unambiguous_and_varied() -> None:
    codes = {new_tip_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert code.startswith("TG-") and len(code) == 9
        assert all(c in CODE_ALPHABET for c in code[3:])
        assert not set(code[3:]) & set("01OIL")


@pytest.mark.parametrize(
    "typed",
    ["TG-7K3M9Q", "tg-7k3m9q", " tg 7k3m9q ", "TG7K3M9Q", "7K3M-9Q", "7k3m9q", "TG.7K3.M9Q"],
)
def test_typed_codes_are_normalised(typed: str) -> None:
    assert normalise_code(typed) == "TG-7K3M9Q"


@pytest.mark.parametrize("typed", ["", "TG-", "TG-7K3M9", "TG-7K3M9QQ", "TG-0K3M9Q", "xin chào"])
def test_not_a_code(typed: str) -> None:
    assert normalise_code(typed) is None


def test_pins_are_hashed_with_argon2() -> None:
    pin = new_pin()
    assert len(pin) == 6 and pin.isdigit()
    stored = hash_pin(pin)
    assert pin not in stored and stored.startswith("$argon2")
    assert verify_pin(stored, pin) and verify_pin(stored, f" {pin} ")
    assert not verify_pin(stored, "000000" if pin != "000000" else "111111")
    assert not verify_pin("not a hash", pin)
