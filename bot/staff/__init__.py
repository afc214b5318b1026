"""Staff accounts: the state changes behind the panel's account pages, the CLI and the demo
(creating accounts, their passwords). The panel's views call these; they write no rows."""

from bot.staff.accounts import (
    USERNAME,
    AccountError,
    add_account,
    change_account,
    change_password,
    create_account,
    create_user,
    end_all_sessions,
    save_communes,
    set_staff_language,
    turn_totp_off,
    turn_totp_on,
)
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
    "add_account",
    "change_account",
    "change_password",
    "create_account",
    "create_user",
    "end_all_sessions",
    "hash_password",
    "needs_rehash",
    "password_problem",
    "save_communes",
    "set_staff_language",
    "turn_totp_off",
    "turn_totp_on",
    "verify_password",
]
