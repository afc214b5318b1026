"""Translations (Babel gettext catalogs in content/locale) and vi_VN formatting.

Message ids are English; the Vietnamese catalog is the one residents see first.
Catalogs are compiled to .mo at install time (hatch_build.py); a source checkout that was not
installed falls back to reading the .po files directly.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date as _babel_format_date
from babel.dates import format_datetime as _babel_format_datetime
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

__all__ = [
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "STAFF_LANGUAGE",
    "format_date",
    "format_date_as",
    "format_datetime",
    "format_number",
    "gettext",
    "staff_text",
    "translations",
]

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).resolve().parent.parent / "content" / "locale"
DOMAIN = "messages"
LANGUAGES = ("vi", "en")
#: Staff chats and the panel's stored labels are in Vietnamese.
STAFF_LANGUAGE = "vi"
_BABEL_LOCALE = {"vi": "vi_VN", "en": "en_US"}


@cache
def translations(lang: str) -> NullTranslations:
    """The catalog for `lang` ("vi" or "en"); unknown languages get Vietnamese."""
    if lang not in LANGUAGES:
        lang = "vi"
    mo = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if mo.exists():
        with mo.open("rb") as fh:
            return Translations(fh, domain=DOMAIN)
    po = mo.with_suffix(".po")
    if po.exists():
        import io

        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        log.warning("catalog %s is not compiled; reading the .po (run `pip install .`)", mo)
        with po.open("rb") as fh:
            catalog = read_po(fh)
        buf = io.BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        return Translations(buf, domain=DOMAIN)
    return NullTranslations()


def gettext(lang: str, message: str) -> str:
    return translations(lang).gettext(message)


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


def staff_text(message: str) -> str:
    """`message` in the staff's language (officer alerts, labels stored for staff)."""
    return gettext(STAFF_LANGUAGE, message)


def _tz(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def format_datetime(value: datetime, lang: str, tz: str = "Asia/Ho_Chi_Minh") -> str:
    """A UTC datetime shown in local time, e.g. '08:30 24/11/2026' in Vietnamese."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    pattern = "HH:mm dd/MM/yyyy" if lang == "vi" else "HH:mm, d MMM yyyy"
    return _babel_format_datetime(
        value, pattern, tzinfo=_tz(tz), locale=_BABEL_LOCALE.get(lang, "vi_VN")
    )


def format_date(value: date, lang: str) -> str:
    pattern = "dd/MM/yyyy" if lang == "vi" else "d MMM yyyy"
    return _babel_format_date(value, pattern, locale=_BABEL_LOCALE.get(lang, "vi_VN"))


def format_date_as(value: date, lang: str, patterns: Mapping[str, str]) -> str:
    """`value` in `patterns[lang]`, a CLDR date pattern ("d MMMM yyyy"; Vietnamese's for a
    language without one), month names from Babel's locale data."""
    pattern = patterns.get(lang) or patterns["vi"]
    return _babel_format_date(value, pattern, locale=_BABEL_LOCALE.get(lang, "vi_VN"))


def format_number(value: float, lang: str, decimals: int | None = None) -> str:
    """1.234,5 in Vietnamese, 1,234.5 in English; `decimals` fixes the digits after the point."""
    pattern = None if decimals is None else "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=_BABEL_LOCALE.get(lang, "vi_VN"))
