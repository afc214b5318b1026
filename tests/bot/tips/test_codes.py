import pytest

from bot.tips.codes import (
    CODE_ALPHABET,
    SEALED_PIN,
    hash_pin,
    is_hashed_pin,
    new_pin,
    new_pin_sealed,
    new_tip_code,
    normalise_code,
    verify_pin,
)
from bot.tips.relay import RelayCipher, generate_key


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


def test_pins_are_stored_sealed() -> None:
    cipher = RelayCipher(generate_key())
    pin, stored = new_pin_sealed(cipher)
    assert len(pin) == 6 and pin.isdigit()
    assert stored.startswith(SEALED_PIN) and pin not in stored and not is_hashed_pin(stored)
    assert len(stored) <= 200  # the column
    wrong = "000000" if pin != "000000" else "111111"
    assert verify_pin(stored, pin, cipher)
    assert not verify_pin(stored, wrong, cipher)
    assert not verify_pin(stored, pin, None)  # no keys configured
    assert not verify_pin(stored, pin, RelayCipher(generate_key()))  # another key
    assert not verify_pin(SEALED_PIN + "tampered", pin, cipher)
    assert not verify_pin("not a hash", pin, cipher)
    # every PIN has its own seal: equal PINs cannot be told apart in a dump
    assert new_pin_sealed(cipher)[1] != new_pin_sealed(cipher)[1]


@pytest.mark.parametrize("typed", ["{pin}", " {pin} ", "{a} {b}", "{a}\u00a0{b}", "{wide}"])
def test_typed_pins_are_normalised(typed: str) -> None:
    cipher = RelayCipher(generate_key())
    pin, stored = new_pin_sealed(cipher)
    wide = "".join(chr(ord(c) - ord("0") + ord("０")) for c in pin)  # full-width digits
    text = typed.format(pin=pin, a=pin[:3], b=pin[3:], wide=wide)
    assert verify_pin(stored, text, cipher)


def test_pins_hashed_with_argon2_before_still_verify() -> None:
    pin = new_pin()
    stored = hash_pin(pin)
    assert pin not in stored and stored.startswith("$argon2") and is_hashed_pin(stored)
    assert verify_pin(stored, pin, None) and verify_pin(stored, f" {pin} ", None)
    assert not verify_pin(stored, "000000" if pin != "000000" else "111111", None)
