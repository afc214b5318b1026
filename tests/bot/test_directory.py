from pathlib import Path

import pytest

from bot.directory import commune_phone, load_commune_phones, valid_phone
from bot.settings import Settings


def test_commune_phones_from_csv(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "phones.csv"
    path.write_text(
        "commune_code,phone,note\n21583,0256 3822 000,CA phường Quy Nhơn\nabc,123,bad\n"
        "21601,not-a-phone,bad\n",
        encoding="utf-8",
    )
    load_commune_phones.cache_clear()
    assert load_commune_phones(path) == {21583: "0256 3822 000"}
    assert "skipped" in caplog.text
    settings = Settings(_env_file=None, commune_phones_file=path)  # type: ignore[call-arg]
    assert commune_phone(settings, 21583) == "0256 3822 000"
    assert commune_phone(settings, 21601) is None
    assert commune_phone(settings, None) is None


def test_no_file_means_no_numbers() -> None:
    assert commune_phone(Settings(_env_file=None), 21583) is None  # type: ignore[call-arg]


def test_valid_phone() -> None:
    assert valid_phone("113") and valid_phone("+84 256 3822 000")
    assert not valid_phone("call me") and not valid_phone("")
