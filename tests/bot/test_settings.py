"""Every setting is documented in .env.example, and .env.example holds nothing unknown."""

from pathlib import Path

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _documented() -> set[str]:
    names = set()
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and "=" in line:
            names.add(line.split("=", 1)[0].strip())
    return names


def test_env_example_documents_every_setting() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    assert _documented() == fields


def test_env_example_values_parse() -> None:
    values = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            if value:
                values[key.lower()] = value
    Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_default_database_is_sqlite_in_data_dir(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert settings.is_sqlite
    assert settings.effective_database_url.endswith(str(tmp_path / "antq.sqlite3"))


def test_the_example_file_as_is_gives_working_settings(tmp_path: Path) -> None:
    settings = Settings(_env_file=ROOT / ".env.example")  # type: ignore[call-arg]
    assert settings.commune_phones_file is None
    assert settings.telegram_token.get_secret_value() == ""
    assert settings.province_code == 52


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in readme]
    assert missing == []
