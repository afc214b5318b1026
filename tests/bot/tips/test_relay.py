import pytest

from bot.tips.relay import RelayCipher, RelayKeyError, generate_key


def test_seal_and_open() -> None:
    cipher = RelayCipher(generate_key())
    sealed = cipher.seal("zalo_oa", "6142494823000000000")
    assert b"6142494823000000000" not in sealed and b"zalo" not in sealed
    assert cipher.open(sealed) == ("zalo_oa", "6142494823000000000")


def test_key_rotation_keeps_old_records_readable() -> None:
    old, new = generate_key(), generate_key()
    sealed_under_old = RelayCipher(old).seal("telegram", "42")
    rotated_cipher = RelayCipher(f"{new},{old}")
    assert rotated_cipher.open(sealed_under_old) == ("telegram", "42")
    resealed = rotated_cipher.rotate(sealed_under_old)
    assert RelayCipher(new).open(resealed) == ("telegram", "42")
    with pytest.raises(RelayKeyError):
        RelayCipher(new).open(sealed_under_old)


def test_tampering_and_bad_keys_are_refused_without_detail() -> None:
    cipher = RelayCipher(generate_key())
    sealed = bytearray(cipher.seal("web", "w123"))
    sealed[-5] ^= 1
    with pytest.raises(RelayKeyError) as caught:
        cipher.open(bytes(sealed))
    assert "w123" not in str(caught.value)
    for keys in ("", " , ", "not-a-key"):
        with pytest.raises(RelayKeyError):
            RelayCipher(keys)
