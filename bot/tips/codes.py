"""Tip codes and follow-up PINs: what a tipster keeps to come back, anonymously.

Codes use an alphabet without look-alikes (no 0/O, 1/I/L), so they can be read out and typed
on a phone; PINs are stored only as argon2 hashes."""

from __future__ import annotations

import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = [
    "CODE_ALPHABET",
    "CODE_PREFIX",
    "hash_pin",
    "new_pin",
    "new_tip_code",
    "normalise_code",
    "verify_pin",
]

CODE_PREFIX = "TG"  # "tố giác"
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6  # 31**6 ≈ 887 million codes
PIN_LENGTH = 6
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


def hash_pin(pin: str) -> str:
    return _HASHER.hash(pin)


def verify_pin(pin_hash: str, pin: str) -> bool:
    try:
        return _HASHER.verify(pin_hash, pin.strip())
    except (VerificationError, InvalidHashError):
        return False
