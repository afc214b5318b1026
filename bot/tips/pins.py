"""Following a tip up with its code and PIN: wrong PINs counted on the tip, and the tip
locked for a while after too many, so PINs cannot be guessed."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.models import Tip
from bot.tips.codes import seal_pin
from bot.tips.relay import RelayCipher

__all__ = ["MAX_PIN_FAILURES", "PIN_LOCK", "pin_accepted", "pin_failed", "pin_locked"]

MAX_PIN_FAILURES = 5
PIN_LOCK = timedelta(hours=1)


def pin_locked(tip: Tip, now: datetime) -> bool:
    return tip.pin_locked_until is not None and tip.pin_locked_until > now


def pin_failed(tip: Tip, now: datetime) -> None:
    """A wrong PIN: after `MAX_PIN_FAILURES` in a row, the tip is locked for `PIN_LOCK`."""
    tip.pin_failures += 1
    if tip.pin_failures >= MAX_PIN_FAILURES:
        tip.pin_locked_until, tip.pin_failures = now + PIN_LOCK, 0


def pin_accepted(tip: Tip, reseal: tuple[RelayCipher, str] | None = None) -> None:
    """The right PIN: the count starts over; `reseal` (the cipher and the PIN as typed) seals
    a PIN still kept as an older argon2 hash, like new ones."""
    tip.pin_failures = 0
    if reseal is not None:
        cipher, pin = reseal
        tip.pin_hash = seal_pin(cipher, pin)
