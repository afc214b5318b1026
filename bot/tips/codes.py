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
    "new_pin_hashed",
    "new_tip_code",
    "normalise_code",
    "verify_pin",
]

CODE_PREFIX = "TG"  # "tố giác"
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6  # 31**6 ≈ 887 million codes
PIN_LENGTH = 6
#: argon2id with OWASP's minimum profile (19 MiB, 2 passes, 1 lane): about 25 ms of one core.
#: argon2-cffi's default (64 MiB, 3 passes, 4 lanes) took 156 ms of CPU per PIN, so tips and
#: follow-ups were most of the CPU a busy 19 August needs. A PIN is only typed in the chat,
#: where five wrong ones lock the tip (handlers/tip_followup.py); hashes made with the
#: older profile still verify (the parameters are in the hash).
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
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


def new_pin_hashed() -> tuple[str, str]:
    """A fresh PIN and its argon2 hash (tens of milliseconds of CPU, on purpose)."""
    pin = new_pin()
    return pin, hash_pin(pin)


def verify_pin(pin_hash: str, pin: str) -> bool:
    try:
        return _HASHER.verify(pin_hash, pin.strip())
    except (VerificationError, InvalidHashError):
        return False
