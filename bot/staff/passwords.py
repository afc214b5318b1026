"""Staff passwords: argon2id hashes (argon2-cffi's defaults) and the rules for new ones."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bot.i18n import N_

__all__ = [
    "DUMMY_HASH",
    "MIN_PASSWORD",
    "ROLES",
    "hash_password",
    "needs_rehash",
    "password_problem",
    "verify_password",
]

ROLES = ("admin", "officer", "propaganda")
MIN_PASSWORD = 10
_hasher = PasswordHasher()
#: Checked against when a user name is unknown, so both paths cost one argon2 verification.
DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(hashed: str) -> bool:
    """The hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(hashed)


def password_problem(password: str, username: str = "") -> str | None:
    """An English message id saying what is wrong with a new password, or None."""
    if len(password) < MIN_PASSWORD:
        return N_("The password must have at least 10 characters.")
    if len(password) > 256:
        return N_("The password is too long.")
    if username and username.lower() in password.lower():
        return N_("The password must not contain the user name.")
    return None
