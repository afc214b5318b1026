"""Tests of the content library: the shipped texts, and the checker on broken fixtures."""

from __future__ import annotations

import copy
import unicodedata
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core.limits import CHANNEL_TEXT_LIMITS
from content.library import (
    BODY_MAX_CHARS,
    SUMMARY_MAX_CHARS,
    Library,
    LibraryError,
    check_library,
    clear_library_cache,
    load_library,
)

#: Documents and advice the library must always contain (brief of the propaganda office).
REQUIRED_ITEM_IDS = {
    "nd-06-2014",
    "tt-124-2021",
    "qd-510-2022",
    "ct-31-tu-2023",
    "to-giac-toi-pham",
    "lua-dao-gia-danh-cong-an",
    "lua-dao-gia-danh-ngan-hang",
    "lua-dao-viec-nhe-luong-cao",
    "lua-dao-dau-tu",
    "tin-dung-den",
    "ma-tuy-dau-hieu",
    "ma-tuy-tac-hai-to-giac",
    "giao-nop-vu-khi",
    "phao-no",
    "phong-trom-nha-o",
    "camera-an-ninh",
    "to-tu-quan",
    "to-bao-ve-antt-co-so",
}

#: Vietnamese letters with diacritics; every Vietnamese text must use some.
VIETNAMESE_MARKS = set("ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ")


# --------------------------------------------------------------------------- the shipped library


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library()


def test_shipped_library_passes_check() -> None:
    assert check_library() == []


def test_required_documents_present(library: Library) -> None:
    missing = REQUIRED_ITEM_IDS - set(library.items)
    assert not missing, f"missing items: {sorted(missing)}"
    assert len(library.items) >= 16


def test_default_load_is_cached() -> None:
    first = load_library()
    assert load_library() is first
    clear_library_cache()
    assert load_library() is not first


def test_topics_sorted_and_items_sorted(library: Library) -> None:
    orders = [t.order for t in library.topics]
    assert orders == sorted(orders)
    for topic in library.topics:
        items = library.items_by_topic(topic.id)
        assert items, f"topic {topic.id} is empty"
        assert [i.order for i in items] == sorted(i.order for i in items)
        assert all(i.topic == topic.id for i in items)


def test_lookup_errors(library: Library) -> None:
    assert library.item("nd-06-2014").topic == "law"
    assert library.topic("law").title.vi
    with pytest.raises(KeyError):
        library.item("no-such-item")
    with pytest.raises(KeyError):
        library.items_by_topic("no-such-topic")


def test_legal_items_name_their_document(library: Library) -> None:
    for item_id, number in [
        ("nd-06-2014", "06/2014/NĐ-CP"),
        ("tt-124-2021", "124/2021/TT-BCA"),
        ("qd-510-2022", "510/QĐ-BCA-V05"),
        ("ct-31-tu-2023", "31-CT/TU"),
    ]:
        item = library.item(item_id)
        assert item.source is not None
        assert number in item.source.vi
        assert number in item.body.vi


def test_texts_fit_every_channel(library: Library) -> None:
    smallest = min(CHANNEL_TEXT_LIMITS.values())
    for item in library.items.values():
        for language in ("vi", "en"):
            assert len(item.text(language)) <= smallest
            assert len(item.body.get(language)) <= BODY_MAX_CHARS
            assert len(item.summary.get(language)) <= SUMMARY_MAX_CHARS


def test_vietnamese_has_diacritics_and_is_nfc(library: Library) -> None:
    texts = [t.title.vi for t in library.topics]
    for item in library.items.values():
        texts += [item.title.vi, item.summary.vi, item.body.vi]
    texts += [library.festival.about.vi, library.festival.fallback.vi]
    for text in texts:
        assert unicodedata.is_normalized("NFC", text)
        assert VIETNAMESE_MARKS & set(text.lower()), f"no diacritics in: {text[:60]!r}"


def test_hotlines_are_the_national_numbers(library: Library) -> None:
    assert [h.number for h in library.hotlines] == ["113", "114", "115", "111"]


def test_festival_2026(library: Library) -> None:
    festival = library.festival
    year = festival.year(2026)
    assert year is not None
    assert year.window.start == date(2026, 7, 1)
    assert year.window.end == date(2026, 8, 19)
    assert year.events == []
    assert year.events_for(12345) == []
    assert festival.year(1999) is None
    assert "19/8" in festival.about.vi
    assert festival.fallback.vi and festival.fallback.en


# --------------------------------------------------------------------------- fixtures


def text(vi: str = "Nội dung tiếng Việt.", en: str = "English text.") -> dict[str, str]:
    """A fresh bilingual text (fresh, so that a mutation touches one field only)."""
    return {"vi": vi, "en": en}


VALID: dict[str, Any] = {
    "topics.yaml": [
        {"id": "law", "order": 10, "title": {"vi": "Pháp luật", "en": "Law"}},
        {"id": "fraud", "order": 5, "title": {"vi": "Lừa đảo", "en": "Fraud"}},
    ],
    "hotlines.yaml": [{"number": "113", "title": text(), "note": text()}],
    "festival.yaml": {
        "about": text(),
        "years": {
            2026: {
                "window": {"start": "2026-07-01", "end": "2026-08-19"},
                "events": [
                    {
                        "commune_code": 100,
                        "date": "2026-08-10",
                        "time": "08:00",
                        "place": text(),
                        "title": text(),
                    },
                    {
                        "commune_code": None,
                        "date": "2026-08-01",
                        "time": None,
                        "place": text(),
                        "title": text(),
                    },
                ],
            }
        },
        "fallback": text(),
    },
    "items/doc-a.yaml": {
        "id": "doc-a",
        "topic": "law",
        "order": 20,
        "title": {"vi": "Văn bản A", "en": "Document A"},
        "summary": text(),
        "body": text(),
        "source": text(),
        "tags": ["a"],
    },
    "items/doc-b.yaml": {
        "id": "doc-b",
        "topic": "law",
        "order": 10,
        "title": {"vi": "Văn bản B", "en": "Document B"},
        "summary": text(),
        "body": text(),
    },
    "items/scam.yaml": {
        "id": "scam",
        "topic": "fraud",
        "order": 10,
        "title": {"vi": "Lừa đảo", "en": "Scam"},
        "summary": text(),
        "body": text(),
    },
}


def write_library(root: Path, files: dict[str, Any]) -> Path:
    """Write ``files`` (relative path -> YAML data, or str for raw text) under ``root``."""
    (root / "items").mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_valid_fixture_loads(tmp_path: Path) -> None:
    root = write_library(tmp_path, VALID)
    assert check_library(root) == []
    lib = load_library(root)
    assert [t.id for t in lib.topics] == ["fraud", "law"]
    assert [i.id for i in lib.items_by_topic("law")] == ["doc-b", "doc-a"]
    year = lib.festival.year(2026)
    assert year is not None
    assert [e.date for e in year.events_for(100)] == [date(2026, 8, 1), date(2026, 8, 10)]
    assert [e.commune_code for e in year.events_for(999)] == [None]


Mutation = Callable[[dict[str, Any]], None]


def _key(container: Any, part: str) -> Any:
    """``part`` as the key of ``container``: list indexes and int mapping keys are digits."""
    if isinstance(container, list) or (part.isdigit() and part not in container):
        return int(part)
    return part


def _walk(files: dict[str, Any], path: str, key: str) -> tuple[Any, Any]:
    *parents, last = key.split(".")
    target = files[path]
    for part in parents:
        target = target[_key(target, part)]
    return target, _key(target, last)


def _set(path: str, key: str, value: Any) -> Mutation:
    def mutate(files: dict[str, Any]) -> None:
        target, last = _walk(files, path, key)
        target[last] = value

    return mutate


def _delete(path: str, key: str) -> Mutation:
    def mutate(files: dict[str, Any]) -> None:
        target, last = _walk(files, path, key)
        del target[last]

    return mutate


def _rename(old: str, new: str) -> Mutation:
    def mutate(files: dict[str, Any]) -> None:
        files[new] = files.pop(old)

    return mutate


def _raw(path: str, text: str) -> Mutation:
    def mutate(files: dict[str, Any]) -> None:
        files[path] = text

    return mutate


BROKEN: dict[str, tuple[Mutation, list[str]]] = {
    "missing English": (
        _delete("items/doc-a.yaml", "body.en"),
        ["items/doc-a.yaml", "body.en", "English text is required"],
    ),
    "missing Vietnamese title": (
        _delete("items/doc-a.yaml", "title.vi"),
        ["items/doc-a.yaml", "title.vi", "Vietnamese text is required"],
    ),
    "empty text": (
        _set("items/doc-a.yaml", "summary.en", "   "),
        ["items/doc-a.yaml", "summary.en", "is empty"],
    ),
    "unknown topic": (
        _set("items/doc-a.yaml", "topic", "weather"),
        ["items/doc-a.yaml", "topic 'weather' is not in topics.yaml"],
    ),
    "too-long body": (
        _set("items/doc-a.yaml", "body.vi", "Ấ" * 2100),
        ["items/doc-a.yaml", "title + body (vi)", "zalo_bot channel", "editorial limit"],
    ),
    "body over editorial limit": (
        _set("items/doc-a.yaml", "body.en", "x" * (BODY_MAX_CHARS + 1)),
        ["items/doc-a.yaml", "body (en)", "editorial limit"],
    ),
    "too-long summary": (
        _set("items/doc-a.yaml", "summary.vi", "ơ" * (SUMMARY_MAX_CHARS + 1)),
        ["items/doc-a.yaml", "summary (vi)", f"limit of {SUMMARY_MAX_CHARS}"],
    ),
    "id/file mismatch": (
        _rename("items/doc-a.yaml", "items/doc-c.yaml"),
        ["items/doc-c.yaml", "id 'doc-a' does not match the file name 'doc-c'"],
    ),
    "zero-width char": (
        _set("items/doc-a.yaml", "body.vi", "An\u200bninh"),
        ["items/doc-a.yaml", "body.vi", "U+200B", "ZERO WIDTH SPACE"],
    ),
    "control char": (
        _set("items/doc-a.yaml", "title.en", "Bell\u0007"),
        ["items/doc-a.yaml", "title.en", "U+0007"],
    ),
    "not NFC": (
        _set("items/doc-a.yaml", "title.vi", unicodedata.normalize("NFD", "Văn bản")),
        ["items/doc-a.yaml", "title.vi", "not NFC-normalised"],
    ),
    "extra field": (
        _set("items/doc-a.yaml", "author", "someone"),
        ["items/doc-a.yaml", "author", "not a known field"],
    ),
    "extra language": (
        _set("items/doc-a.yaml", "title.fr", "Document"),
        ["items/doc-a.yaml", "title.fr", "not a known field"],
    ),
    "bad id": (
        _set("items/doc-a.yaml", "id", "Doc A"),
        ["items/doc-a.yaml", "id 'Doc A'", "lowercase letters"],
    ),
    "order as text": (
        _set("items/doc-a.yaml", "order", "10"),
        ["items/doc-a.yaml", "order must be a whole number"],
    ),
    "duplicate topic": (
        _set("topics.yaml", "1.id", "law"),
        ["topics.yaml: topic id 'law' is used more than once"],
    ),
    "hotline number not quoted": (
        _set("hotlines.yaml", "0.number", 113),
        ["hotlines.yaml[0]: number must be text (put it in quotes"],
    ),
    "event outside window": (
        _set("festival.yaml", "years.2026.events.0.date", "2026-09-02"),
        ["festival.yaml", "outside the window"],
    ),
    "not YAML": (
        _raw("items/doc-a.yaml", "id: [unclosed\n"),
        ["items/doc-a.yaml: not valid YAML"],
    ),
    "wrong extension": (
        _rename("items/doc-a.yaml", "items/doc-a.yml"),
        ["items/doc-a.yml: not an item file"],
    ),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_broken_fixture_gives_clear_problem(tmp_path: Path, case: str) -> None:
    mutate, expected = BROKEN[case]
    files = copy.deepcopy(VALID)
    mutate(files)
    root = write_library(tmp_path, files)
    problems = check_library(root)
    assert problems, f"{case}: no problem reported"
    joined = "\n".join(problems)
    for fragment in expected:
        assert fragment in joined, f"{case}: {fragment!r} not in:\n{joined}"
    if case != "duplicate topic":  # there, the other topic's item is rightly reported too
        broken_file = expected[0].split(":")[0]
        assert all(p.startswith(broken_file) for p in problems), joined
    with pytest.raises(LibraryError) as info:
        load_library(root)
    assert info.value.problems == problems


def test_unquoted_time_is_refused(tmp_path: Path) -> None:
    # YAML 1.1 reads an unquoted 10:30 as the number 630 (base 60); it must not pass.
    files = copy.deepcopy(VALID)
    text = yaml.safe_dump(files["festival.yaml"], allow_unicode=True)
    assert "time: 08:00" in text
    files["festival.yaml"] = text.replace("time: 08:00", "time: 10:30")
    problems = check_library(write_library(tmp_path, files))
    assert any("festival.yaml" in p and "time" in p for p in problems), problems


def test_missing_files_are_reported(tmp_path: Path) -> None:
    problems = check_library(tmp_path)
    joined = "\n".join(problems)
    for name in ("topics.yaml", "hotlines.yaml", "festival.yaml", "items/"):
        assert name in joined


def test_unknown_topic_does_not_also_blame_topic(tmp_path: Path) -> None:
    files = copy.deepcopy(VALID)
    files["items/scam.yaml"]["tags"] = [113]  # broken item still claims its topic
    problems = check_library(write_library(tmp_path, files))
    assert any("items/scam.yaml: tags.0" in p for p in problems), problems
    assert not any("has no items" in p for p in problems), problems
