from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALE_DIR, format_date, format_datetime, format_number, gettext


def test_catalogs_are_compiled_at_install() -> None:
    for lang in ("vi", "en"):
        assert (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.mo").exists()


def test_vietnamese_catalog_translates_every_message() -> None:
    with (LOCALE_DIR / "messages.pot").open("rb") as fh:
        template = read_po(fh)
    with (LOCALE_DIR / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        vi = read_po(fh)
    missing = [m.id for m in template if m.id and not (vi.get(m.id) and vi.get(m.id).string)]
    assert missing == []


def test_every_ui_string_in_the_code_is_in_the_template() -> None:
    from babel.messages.extract import extract_from_dir

    root = Path(__file__).resolve().parents[2]
    with (LOCALE_DIR / "messages.pot").open("rb") as fh:
        template = {m.id for m in read_po(fh) if m.id}
    found = set()
    for package in ("handlers", "bot", "admin"):
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            root / package,
            method_map=[("**/templates/**.html", "jinja2"), ("**.py", "python")],
            keywords={"_": None, "N_": None},
        ):
            found.add(message)
    assert found - template == set(), "run the pybabel extract/update commands in the README"


def test_gettext_and_format_fields() -> None:
    assert gettext("vi", "🏠 Main menu") == "🏠 Menu chính"
    assert gettext("en", "🏠 Main menu") == "🏠 Main menu"
    assert gettext("fr", "🏠 Main menu") == "🏠 Menu chính"  # unknown language -> Vietnamese


def test_times_stored_in_utc_are_shown_in_ho_chi_minh_time() -> None:
    moment = datetime(2026, 8, 18, 17, 30, tzinfo=UTC)
    assert format_datetime(moment, "vi") == "00:30 19/08/2026"
    with pytest.raises(ValueError):
        format_datetime(datetime(2026, 8, 18, 17, 30), "vi")


def test_vietnamese_dates_and_numbers() -> None:
    assert format_date(date(2026, 8, 19), "vi") == "19/08/2026"
    assert format_number(1234567.5, "vi") == "1.234.567,5"
    assert format_number(1234567.5, "en") == "1,234,567.5"
