"""Tip codes and follow-up PINs: what a tipster keeps to come back, anonymously.

Codes use an alphabet without look-alikes (no 0/O, 1/I/L), so they can be read out and typed
on a phone.

PINs are stored sealed with the tip-relay keys (Fernet, like the way back to the tipster),
not hashed. A PIN has only 10**6 values: any hash of it, argon2 included, is undone offline
in hours from a database dump, while a sealed PIN cannot be read without TIP_RELAY_KEYS —
and whoever holds those keys and the dump can already open the relays, which says far more
than a PIN. Sealing costs microseconds (argon2 cost tens of milliseconds per tip and per
follow-up), and a sealed PIN is re-sealed under a new key with the relays (`antq keys
reseal`), so rotating the key loses no tipster's PIN. Five wrong PINs lock a tip
(handlers/tip_followup.py). PINs hashed with argon2 before this still verify."""

from __future__ import annotations

import hmac
import re
import secrets
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.tips.relay import RelayCipher, RelayKeyError

__all__ = [
    "CODE_ALPHABET",
    "CODE_PREFIX",
    "SEALED_PIN",
    "hash_pin",
    "is_hashed_pin",
    "new_pin",
    "new_pin_sealed",
    "new_tip_code",
    "normalise_code",
    "reseal_pin",
    "seal_pin",
    "typed_pin",
    "verify_pin",
]

CODE_PREFIX = "TG"  # "tố giác"
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6  # 31**6 ≈ 887 million codes
PIN_LENGTH = 6
#: What a sealed PIN starts with in `Tip.pin_hash` (argon2 hashes start with "$argon2").
SEALED_PIN = "sealed:"
#: Only for PINs hashed before they were sealed (and for tests): argon2-cffi's defaults.
_HASHER = PasswordHasher()
_SEPARATORS = re.compile(r"[\s\-_.]+")


def new_tip_code() -> str:
    """A fresh code like TG-7K3M9Q (uniqueness is the database's job: retry on conflict)."""
    return f"{CODE_PREFIX}-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str | None:
    """What a resident typed ("tg 7k3m9q", "7K3M-9Q") as a canonical code, or None."""
    compact = _SEPARATORS.sub("", text.strip().upper())
    if compact.startswith(CODE_PREFIX) and len(compact) == len(CODE_PREFIX) + CODE_LENGTH:
        compact = compact[len(CODE_PREFIX) :]
    if len(compact) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in compact):
        return None
    return f"{CODE_PREFIX}-{compact}"


def new_pin() -> str:
    return f"{secrets.randbelow(10**PIN_LENGTH):0{PIN_LENGTH}d}"


def seal_pin(cipher: RelayCipher, pin: str) -> str:
    """What `Tip.pin_hash` holds for `pin`: the PIN sealed under the newest relay key."""
    return SEALED_PIN + cipher.seal_text(pin)


def new_pin_sealed(cipher: RelayCipher) -> tuple[str, str]:
    """A fresh PIN and what to store for it."""
    pin = new_pin()
    return pin, seal_pin(cipher, pin)


def is_hashed_pin(stored: str) -> bool:
    """True for a PIN stored as an argon2 hash (before PINs were sealed): checking it costs
    tens of milliseconds of CPU, so callers do it in a worker thread."""
    return not stored.startswith(SEALED_PIN)


def hash_pin(pin: str) -> str:
    """An argon2 hash of `pin`, as PINs were stored before they were sealed."""
    return _HASHER.hash(pin)


def typed_pin(typed: str) -> str:
    """What a resident typed as a PIN, as it is compared: "123 456" and "１２３４５６" are
    "123456"."""
    return "".join(unicodedata.normalize("NFKC", typed).split())


def verify_pin(stored: str, typed: str, cipher: RelayCipher | None) -> bool:
    """Whether `typed` is the PIN `stored` holds (sealed, or an older argon2 hash)."""
    typed = typed_pin(typed)
    if not is_hashed_pin(stored):
        if cipher is None:
            return False
        try:
            pin = cipher.open_text(stored[len(SEALED_PIN) :])
        except RelayKeyError:  # sealed under a key no longer configured, or tampered with
            return False
        return hmac.compare_digest(pin.encode(), typed.encode())
    try:
        return _HASHER.verify(stored, typed)
    except (VerificationError, InvalidHashError):
        return False


def reseal_pin(cipher: RelayCipher, stored: str) -> str | None:
    """A sealed PIN re-sealed under the newest key; None if it is an argon2 hash (nothing to
    do). Raises RelayKeyError if no configured key opens it."""
    if is_hashed_pin(stored):
        return None
    return SEALED_PIN + cipher.rotate_text(stored[len(SEALED_PIN) :])
