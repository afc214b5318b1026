"""Staff accounts: the state changes behind the panel's account and login pages, the CLI and
the demo (creating accounts, their passwords, logging in and out, the communes' alert
chats). The panel's views call these; they write no rows."""

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
from bot.staff.alert_chats import ALERT_CHANNELS, AlertChatError, set_alert_chat
from bot.staff.login import LoginResult, check_login, totp_step
from bot.staff.passwords import (
    MIN_PASSWORD,
    ROLES,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from bot.staff.sessions import Staff, end_session, load_session, open_session

__all__ = [
    "ALERT_CHANNELS",
    "MIN_PASSWORD",
    "ROLES",
    "USERNAME",
    "AccountError",
    "AlertChatError",
    "LoginResult",
    "Staff",
    "add_account",
    "change_account",
    "change_password",
    "check_login",
    "create_account",
    "create_user",
    "end_all_sessions",
    "end_session",
    "hash_password",
    "load_session",
    "needs_rehash",
    "open_session",
    "password_problem",
    "save_communes",
    "set_alert_chat",
    "set_staff_language",
    "totp_step",
    "turn_totp_off",
    "turn_totp_on",
    "verify_password",
]
