"""Staff accounts: the state changes behind the panel's account pages, the CLI and the demo
(creating accounts, their passwords). The panel's views call these; they write no rows."""

from bot.staff.accounts import USERNAME, AccountError, create_account, create_user, save_communes
from bot.staff.passwords import (
    MIN_PASSWORD,
    ROLES,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)

__all__ = [
    "MIN_PASSWORD",
    "ROLES",
    "USERNAME",
    "AccountError",
    "create_account",
    "create_user",
    "hash_password",
    "needs_rehash",
    "password_problem",
    "save_communes",
    "verify_password",
]
