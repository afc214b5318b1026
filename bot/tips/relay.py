"""The way back to a tipster, sealed: only the relay code can open it.

A tip row never holds who sent it. To let officers ask questions, the (channel, chat id) of
the tipster is kept in a separate record encrypted with Fernet (AES-128-CBC + HMAC-SHA256)
under a key from settings, and deleted a set time after the tip is closed. Several keys can
be configured, newest first: new records use the first, every key opens old ones, so the key
can be rotated without losing the way back to open tips (`rotate` re-seals a record)."""

from __future__ import annotations

import json
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["RelayCipher", "RelayKeyError", "cipher_for", "generate_key"]


class RelayKeyError(ValueError):
    """The relay keys are missing or malformed, or a record cannot be opened with them."""


def generate_key() -> str:
    return Fernet.generate_key().decode()


class RelayCipher:
    def __init__(self, keys: str) -> None:
        """`keys`: comma-separated Fernet keys, newest first (TIP_RELAY_KEYS)."""
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise RelayKeyError("TIP_RELAY_KEYS is empty: generate one with `antq keys relay`")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])
        except (ValueError, TypeError) as exc:
            raise RelayKeyError("TIP_RELAY_KEYS holds a malformed key") from exc

    def seal(self, channel: str, chat_id: str) -> bytes:
        return self._fernet.encrypt(json.dumps([channel, chat_id]).encode())

    def open(self, sealed: bytes) -> tuple[str, str]:
        try:
            channel, chat_id = json.loads(self._fernet.decrypt(sealed))
        except (InvalidToken, ValueError, TypeError) as exc:
            # never say more: the record is either tampered with or sealed under a lost key
            raise RelayKeyError("a relay record could not be opened") from exc
        return str(channel), str(chat_id)

    def seal_text(self, text: str) -> str:
        """Seal any text (a tip being written, kept in the conversation state)."""
        return self._fernet.encrypt(text.encode()).decode()

    def open_text(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except (InvalidToken, ValueError) as exc:
            raise RelayKeyError("a sealed text could not be opened") from exc

    def rotate_text(self, token: str) -> str:
        """A sealed text re-sealed under the newest key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except (InvalidToken, ValueError) as exc:
            raise RelayKeyError("a sealed text could not be opened") from exc

    def rotate(self, sealed: bytes) -> bytes:
        """The record re-sealed under the newest key."""
        try:
            return self._fernet.rotate(sealed)
        except InvalidToken as exc:
            raise RelayKeyError("a relay record could not be opened") from exc


@cache
def cipher_for(keys: str) -> RelayCipher | None:
    """The cipher for TIP_RELAY_KEYS, made once; None when tips are not configured."""
    try:
        return RelayCipher(keys)
    except RelayKeyError:
        return None
