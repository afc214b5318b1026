"""Police phone numbers from configuration (never invented): province setting + commune file.

The commune file is CSV with a header `commune_code,phone` (extra columns are ignored), e.g.
    commune_code,phone,note
    21583,0256 3822 000,Công an phường Quy Nhơn
"""

from __future__ import annotations

import csv
import logging
import re
from functools import cache
from pathlib import Path

from bot.settings import Settings

__all__ = ["commune_phone", "load_commune_phones", "valid_phone"]

log = logging.getLogger(__name__)
_PHONE = re.compile(r"^\+?[0-9][0-9 .\-]{1,18}[0-9]$")


def valid_phone(value: str) -> bool:
    return bool(_PHONE.match(value.strip()))


@cache
def load_commune_phones(path: Path | None) -> dict[int, str]:
    """Commune code -> phone number. Invalid lines are logged and skipped."""
    if path is None:
        return {}
    phones: dict[int, str] = {}
    with Path(path).open(encoding="utf-8-sig", newline="") as fh:
        for line_no, row in enumerate(csv.DictReader(fh), start=2):
            code, phone = (row.get("commune_code") or "").strip(), (row.get("phone") or "").strip()
            if not code.isdigit() or not valid_phone(phone):
                log.warning("%s:%s: skipped (need commune_code and a phone number)", path, line_no)
                continue
            phones[int(code)] = phone
    return phones


def commune_phone(settings: Settings, commune_code: int | None) -> str | None:
    if commune_code is None:
        return None
    return load_commune_phones(settings.commune_phones_file).get(commune_code)
