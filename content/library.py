"""The content library: bilingual (Vietnamese, English) texts the bot shows on request.

Layout of the library directory (by default the directory of this package)::

    topics.yaml          list of topics: {id, order, title: {vi, en}}
    items/<id>.yaml      one item per file: id, topic, order, title, summary, body, source?, tags?,
                         questions? ({vi: [...], en: [...]}: what residents ask that it answers)
    hotlines.yaml        list of national emergency numbers: {number, title, note}
    festival.yaml        the yearly "Ngày hội toàn dân bảo vệ an ninh Tổ quốc":
                         about, years, fallback

Every text exists in both languages, is NFC-normalised and free of zero-width and control
characters (line breaks excepted). :func:`check_library` reports every problem it finds, as
plain sentences naming the file; :func:`load_library` returns the parsed :class:`Library` or
raises :class:`LibraryError` with the same list. The default library is loaded once per process.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.core.limits import CHANNEL_TEXT_LIMITS

__all__ = [
    "BODY_MAX_CHARS",
    "DEFAULT_ROOT",
    "FESTIVAL_ABOUT_MAX_CHARS",
    "HOTLINE_NOTE_MAX_CHARS",
    "LANGUAGES",
    "SOURCE_MAX_CHARS",
    "SUMMARY_MAX_CHARS",
    "TITLE_MAX_CHARS",
    "Festival",
    "FestivalEvent",
    "FestivalWindow",
    "FestivalYear",
    "Hotline",
    "Item",
    "Language",
    "Library",
    "LibraryError",
    "LocalizedText",
    "Problem",
    "Questions",
    "TextProblem",
    "Topic",
    "check_library",
    "clear_library_cache",
    "hotline_problems",
    "install_live",
    "item_problems",
    "live_library",
    "load_files",
    "load_library",
    "validate",
]

#: The directory holding the shipped library.
DEFAULT_ROOT: Final[Path] = Path(__file__).resolve().parent

Language = Literal["vi", "en"]
#: The languages every text must have, Vietnamese first.
LANGUAGES: Final[tuple[Language, ...]] = ("vi", "en")

#: Editorial limits (characters, per language).
SUMMARY_MAX_CHARS: Final[int] = 200
BODY_MAX_CHARS: Final[int] = 1500
FESTIVAL_ABOUT_MAX_CHARS: Final[int] = 1200
TITLE_MAX_CHARS: Final[int] = 120
SOURCE_MAX_CHARS: Final[int] = 300
HOTLINE_NOTE_MAX_CHARS: Final[int] = 300

TOPICS_FILE: Final[str] = "topics.yaml"
HOTLINES_FILE: Final[str] = "hotlines.yaml"
FESTIVAL_FILE: Final[str] = "festival.yaml"
ITEMS_DIR: Final[str] = "items"

_SLUG_PATTERN: Final[str] = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_TIME_RE: Final[re.Pattern[str]] = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")
#: Characters allowed although their Unicode category is "control".
_ALLOWED_CONTROL: Final[frozenset[str]] = frozenset({"\n"})
#: Unicode categories refused in texts: control, format (zero-width space, joiners, BOM, soft
#: hyphen…), line/paragraph separators, surrogates, private use, unassigned.
_REFUSED_CATEGORIES: Final[frozenset[str]] = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
_ZWJ: Final[str] = "\u200d"
_VS16: Final[str] = "\ufe0f"


M = TypeVar("M", bound=BaseModel)


class LibraryError(Exception):
    """Raised by :func:`load_library` when the library has problems; ``problems`` lists them."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: list[str] = list(problems)
        shown = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"content library has {len(self.problems)} problem(s):\n{shown}")


# --------------------------------------------------------------------------- text validation


class TextProblem(ValueError):
    """A text refused by the checks: `code` says why ("invisible", "not_nfc"), `params` the
    details; `str()` is the sentence the file checker prints."""

    def __init__(self, code: str, message: str, **params: Any) -> None:
        super().__init__(message)
        self.code, self.params = code, params


def _emoji_part(char: str) -> bool:
    # pictographs are "So"; skin tones (U+1F3FB..U+1F3FF) are modifiers ("Sk")
    return unicodedata.category(char) == "So" or 0x1F3FB <= ord(char) <= 0x1F3FF


def _joins_emoji(value: str, index: int) -> bool:
    """Whether the zero-width joiner at `index` joins two emoji ("👮‍♀️", "👨‍👩‍👧")."""
    before = index - 1
    if before > 0 and value[before] == _VS16:
        before -= 1
    return (
        before >= 0
        and index + 1 < len(value)
        and (_emoji_part(value[before]) and _emoji_part(value[index + 1]))
    )


def _check_text(value: str) -> str:
    """Refuse text that is not NFC or holds zero-width/control characters (a joiner inside
    an emoji sequence is part of the emoji, and allowed)."""
    for index, char in enumerate(value):
        if char in _ALLOWED_CONTROL:
            continue
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            if char == _ZWJ and _joins_emoji(value, index):
                continue
            name = unicodedata.name(char, "a control character")
            raise TextProblem(
                "invisible",
                f"invisible or control character U+{ord(char):04X} ({name}) at position {index}",
                char=f"U+{ord(char):04X} {name}",
                position=index + 1,
            )
    if not unicodedata.is_normalized("NFC", value):
        raise TextProblem(
            "not_nfc", "text is not NFC-normalised (decomposed Vietnamese diacritics?)"
        )
    return value


CleanText = Annotated[str, StringConstraints(min_length=1), AfterValidator(_check_text)]
Slug = Annotated[str, StringConstraints(pattern=_SLUG_PATTERN, max_length=64)]


class _Strict(BaseModel):
    """Base: unknown fields refused, no type coercion, surrounding whitespace stripped."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, str_strip_whitespace=True)


class LocalizedText(_Strict):
    """The same text in Vietnamese and English; both are required and non-empty."""

    vi: CleanText
    en: CleanText

    def get(self, language: str) -> str:
        """The text in ``language``; Vietnamese for any language the library does not have."""
        return self.en if language == "en" else self.vi

    def items(self) -> tuple[tuple[Language, str], ...]:
        """``(language, text)`` pairs, Vietnamese first."""
        return (("vi", self.vi), ("en", self.en))


class Topic(_Strict):
    """A group of items shown together in the library menu."""

    id: Slug
    order: int
    title: LocalizedText


class Questions(_Strict):
    """Questions residents ask that an item answers, in each language: they lead a resident's
    question to the item (``content/answers.py``)."""

    vi: list[CleanText] = Field(default_factory=list)
    en: list[CleanText] = Field(default_factory=list)

    def all(self) -> list[str]:
        """Every question, Vietnamese first."""
        return [*self.vi, *self.en]


class Item(_Strict):
    """One library entry: a legal document explained, or practical crime-prevention advice."""

    id: Slug
    topic: Slug
    order: int
    title: LocalizedText
    summary: LocalizedText
    body: LocalizedText
    source: LocalizedText | None = None
    tags: list[Slug] = Field(default_factory=list)
    questions: Questions | None = None

    @field_validator("tags")
    @classmethod
    def _tags_unique(cls, tags: list[str]) -> list[str]:
        duplicates = sorted({t for t in tags if tags.count(t) > 1})
        if duplicates:
            raise ValueError(f"duplicate tags: {', '.join(duplicates)}")
        return tags

    def text(self, language: str) -> str:
        """Title and body as one message, the form checked against channel limits."""
        return f"{self.title.get(language)}\n\n{self.body.get(language)}"


class Hotline(_Strict):
    """A national emergency number (never a local one: those come from configuration)."""

    number: Annotated[str, StringConstraints(pattern=r"^[0-9]{3,5}$")]
    title: LocalizedText
    note: LocalizedText


def _check_time(value: str | None) -> str | None:
    if value is not None and not _TIME_RE.match(value):
        raise ValueError('time must be "HH:MM" (24-hour clock), quoted in YAML')
    return value


class FestivalEvent(_Strict):
    """A local event of the festival; ``commune_code`` None means province-wide."""

    commune_code: int | None
    date: Annotated[dt.date, Field(strict=False)]
    time: Annotated[str | None, AfterValidator(_check_time)]
    place: LocalizedText
    title: LocalizedText


class FestivalWindow(_Strict):
    """The period of the year in which festival events take place (inclusive)."""

    start: Annotated[dt.date, Field(strict=False)]
    end: Annotated[dt.date, Field(strict=False)]

    @model_validator(mode="after")
    def _ordered(self) -> FestivalWindow:
        if self.start > self.end:
            raise ValueError(f"window start {self.start} is after its end {self.end}")
        return self

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end


class FestivalYear(_Strict):
    """One year's festival: its window and the listed local events."""

    window: FestivalWindow
    events: list[FestivalEvent] = Field(default_factory=list)

    @model_validator(mode="after")
    def _events_in_window(self) -> FestivalYear:
        for index, event in enumerate(self.events):
            if event.date not in self.window:
                raise ValueError(
                    f"event {index} ({event.date}) is outside the window "
                    f"{self.window.start}..{self.window.end}"
                )
        return self

    def events_for(self, commune_code: int | None) -> list[FestivalEvent]:
        """Events of one commune plus the province-wide ones, by date and time."""
        chosen = [
            e for e in self.events if e.commune_code is None or e.commune_code == commune_code
        ]
        return sorted(chosen, key=lambda e: (e.date, e.time or ""))


class Festival(_Strict):
    """The yearly "Ngày hội toàn dân bảo vệ an ninh Tổ quốc" (19 August)."""

    about: LocalizedText
    years: Mapping[int, FestivalYear]
    fallback: LocalizedText

    @model_validator(mode="after")
    def _years_match(self) -> Festival:
        for year, info in self.years.items():
            if info.window.start.year != year or info.window.end.year != year:
                raise ValueError(f"the window of {year} must lie within {year}")
        return self

    def year(self, year: int) -> FestivalYear | None:
        """The festival of ``year``, or None when the library has none for it."""
        return self.years.get(year)


# --------------------------------------------------------------------------- the library


@dataclass(frozen=True)
class Library:
    """The loaded, validated library. Build it with :func:`load_library`."""

    topics: tuple[Topic, ...]
    items: Mapping[str, Item]
    hotlines: tuple[Hotline, ...]
    festival: Festival
    _by_topic: Mapping[str, tuple[Item, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        grouped: dict[str, list[Item]] = {t.id: [] for t in self.topics}
        for item in self.items.values():
            grouped.setdefault(item.topic, []).append(item)
        by_topic = {k: tuple(sorted(v, key=lambda i: (i.order, i.id))) for k, v in grouped.items()}
        object.__setattr__(self, "_by_topic", MappingProxyType(by_topic))

    def topic(self, topic_id: str) -> Topic:
        """The topic ``topic_id``; KeyError if there is none."""
        for topic in self.topics:
            if topic.id == topic_id:
                return topic
        raise KeyError(topic_id)

    def items_by_topic(self, topic_id: str) -> tuple[Item, ...]:
        """The items of a topic, sorted by ``order``; KeyError for an unknown topic."""
        return self._by_topic[topic_id]

    def item(self, item_id: str) -> Item:
        """The item ``item_id``; KeyError if there is none."""
        return self.items[item_id]


# --------------------------------------------------------------------------- checks of one entry


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an item or a hotline, for people who fix it in a form.

    `field` is a dotted path ("body.vi", "topic"; "text.vi" is the title and body together,
    the message residents get); `code` says what is wrong ("required", "too_long",
    "invisible", "not_nfc", "slug", "number", "integer", "duplicate_tags", "unknown_topic",
    "invalid"), `params` gives the figures (length, limit, channel, char, position).
    """

    field: str
    code: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)


_EXTRA_LIMITS: Final[dict[str, tuple[int, str]]] = {
    "title": (TITLE_MAX_CHARS, ""),
    "summary": (SUMMARY_MAX_CHARS, ""),
    "body": (BODY_MAX_CHARS, "editorial limit"),
    "source": (SOURCE_MAX_CHARS, ""),
}


def _too_long(field_: str, text: str, limit: int, channel: str = "") -> Problem | None:
    length = _utf16_length(text)
    if length <= limit:
        return None
    params: dict[str, Any] = {"length": length, "limit": limit}
    if channel:
        params["channel"] = channel
    return Problem(field_, "too_long", params)


def _channel_problems(field_: str, text: str) -> list[Problem]:
    found = (
        _too_long(field_, text, int(limit), channel)
        for channel, limit in sorted(CHANNEL_TEXT_LIMITS.items())
    )
    return [p for p in found if p is not None]


def item_problems(item: Item, topic_ids: Iterable[str] | None = None) -> list[Problem]:
    """The length limits (editorial, and every channel's message limit for the title and
    body together) of a parsed item; and its topic, when `topic_ids` are given."""
    problems: list[Problem] = []
    if topic_ids is not None and item.topic not in set(topic_ids):
        problems.append(Problem("topic", "unknown_topic", {"topic": item.topic}))
    for language in LANGUAGES:
        for name, (limit, _reason) in _EXTRA_LIMITS.items():
            text: LocalizedText | None = getattr(item, name)
            if text is None:
                continue
            problem = _too_long(f"{name}.{language}", text.get(language), limit)
            if problem is not None:
                problems.append(problem)
        problems += _channel_problems(f"text.{language}", item.text(language))
    return problems


def hotline_problems(hotline: Hotline) -> list[Problem]:
    """The length limits of a parsed hotline."""
    problems = []
    for language in LANGUAGES:
        for name, limit in (("title", TITLE_MAX_CHARS), ("note", HOTLINE_NOTE_MAX_CHARS)):
            text: LocalizedText = getattr(hotline, name)
            problem = _too_long(f"{name}.{language}", text.get(language), limit)
            if problem is not None:
                problems.append(problem)
    return problems


_PROBLEM_CODES: Final[dict[str, str]] = {
    "missing": "required",
    "string_too_short": "required",
    "string_type": "required",
    "int_type": "integer",
    "int_parsing": "integer",
}


def validate(model: type[M], data: Any) -> tuple[M | None, list[Problem]]:
    """Parse `data` as `model` (an `Item`, a `Hotline`): the model, or None and every
    problem found, with the same rules as the files."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(part) for part in err["loc"])
            error = (err.get("ctx") or {}).get("error")
            if isinstance(error, TextProblem):
                problems.append(Problem(where, error.code, error.params))
            elif err["type"] == "string_pattern_mismatch":
                pattern = str((err.get("ctx") or {}).get("pattern", ""))
                problems.append(Problem(where, "slug" if pattern == _SLUG_PATTERN else "number"))
            elif where == "tags" and err["type"] == "value_error":
                problems.append(Problem(where, "duplicate_tags"))
            else:
                problems.append(Problem(where, _PROBLEM_CODES.get(err["type"], "invalid")))
        return None, problems


def _sentence(where: str, problem: Problem) -> str:
    """A length problem as the file checker words it."""
    name, _, language = problem.field.partition(".")
    what = "title + body" if name == "text" else name
    channel = problem.params.get("channel")
    reason = f"{channel} channel" if channel else _EXTRA_LIMITS.get(name, (0, ""))[1]
    suffix = f" ({reason})" if reason else ""
    return (
        f"{where}: {what} ({language}) is {problem.params['length']} characters, "
        f"over the limit of {problem.params['limit']}{suffix}"
    )


# --------------------------------------------------------------------------- reading files


_ERROR_MESSAGES: Final[dict[str, str]] = {
    "extra_forbidden": "is not a known field (remove it or fix its spelling)",
    "string_too_short": "is empty",
    "string_type": "must be text (put it in quotes in YAML)",
    "int_type": "must be a whole number (without quotes)",
    "bool_type": "must be true or false",
    "list_type": "must be a YAML list",
    "dict_type": "must be a YAML mapping of fields",
    "model_type": "must be a YAML mapping of fields",
    "date_from_datetime_parsing": 'must be a date written "YYYY-MM-DD"',
}


def _format_validation_error(where: str, error: ValidationError) -> list[str]:
    problems = []
    for err in error.errors():
        loc = ".".join(str(part) for part in err["loc"])
        kind = err["type"]
        if kind == "missing":
            message = "is missing (required)"
            if loc.endswith((".vi", ".en")):
                language = "Vietnamese" if loc.endswith(".vi") else "English"
                message = f"is missing: the {language} text is required"
        elif kind == "string_pattern_mismatch":
            pattern = str((err.get("ctx") or {}).get("pattern", ""))
            message = f"{err['input']!r} is not allowed here"
            if pattern == _SLUG_PATTERN:
                message += " (use lowercase letters, digits and hyphens, e.g. nd-06-2014)"
            else:
                message += f" (must match {pattern})"
        elif kind in _ERROR_MESSAGES:
            message = _ERROR_MESSAGES[kind]
        else:
            message = str(err["msg"]).removeprefix("Value error, ")
            message = f"{message[:1].lower()}{message[1:]}"
            if loc:
                loc += ":"
        problems.append(f"{where}: {loc or '(whole file)'} {message}")
    return problems


def _read_yaml(path: Path, root: Path, problems: list[str]) -> Any:
    where = _rel(path, root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(f"{where}: file is missing")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{where}: cannot be read as UTF-8 ({exc})")
        return None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problems.append(f"{where}: not valid YAML ({' '.join(str(exc).split())})")
        return None
    if data is None:
        problems.append(f"{where}: file is empty")
    return data


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _validate(model: type[M], data: Any, where: str, problems: list[str]) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.extend(_format_validation_error(where, exc))
        return None


def _validate_list(model: type[M], data: Any, where: str, problems: list[str]) -> list[M]:
    if data is None:
        return []
    if not isinstance(data, list):
        problems.append(f"{where}: must be a YAML list")
        return []
    parsed = []
    for index, entry in enumerate(data):
        one = _validate(model, entry, f"{where}[{index}]", problems)
        if one is not None:
            parsed.append(one)
    return parsed


def _duplicates(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    dupes: set[str] = set()
    for value in values:
        (dupes if value in seen else seen).add(value)
    return sorted(dupes)


def _utf16_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units); equals len() for Vietnamese text."""
    return len(text.encode("utf-16-le")) // 2


def _check_length(
    where: str, what: str, text: str, limit: int, problems: list[str], reason: str = ""
) -> None:
    length = _utf16_length(text)
    if length > limit:
        suffix = f" ({reason})" if reason else ""
        problems.append(
            f"{where}: {what} is {length} characters, over the limit of {limit}{suffix}"
        )


def _check_channels(where: str, what: str, text: str, problems: list[str]) -> None:
    for channel, limit in sorted(CHANNEL_TEXT_LIMITS.items()):
        _check_length(where, what, text, int(limit), problems, f"{channel} channel")


def _collect(root: Path) -> tuple[Library | None, list[str]]:
    """Read and check everything under ``root``; the library is None when anything is wrong."""
    problems: list[str] = []

    # Topics.
    topics_data = _read_yaml(root / TOPICS_FILE, root, problems)
    topics = _validate_list(Topic, topics_data, TOPICS_FILE, problems)
    for dupe in _duplicates(t.id for t in topics):
        problems.append(f"{TOPICS_FILE}: topic id {dupe!r} is used more than once")
    topic_ids = {t.id for t in topics}
    for topic in topics:
        for language, title in topic.title.items():
            _check_length(
                TOPICS_FILE, f"{topic.id} title ({language})", title, TITLE_MAX_CHARS, problems
            )

    # Items.
    items: dict[str, Item] = {}
    claimed_topics: set[object] = set()  # also from items that failed, to avoid false alarms
    items_dir = root / ITEMS_DIR
    if not items_dir.is_dir():
        problems.append(f"{ITEMS_DIR}/: directory is missing")
        paths: list[Path] = []
    else:
        paths = sorted(p for p in items_dir.iterdir() if not p.name.startswith("."))
    for path in paths:
        where = _rel(path, root)
        if path.suffix != ".yaml" or not path.is_file():
            problems.append(f"{where}: not an item file (items are <id>.yaml files)")
            continue
        data = _read_yaml(path, root, problems)
        if data is None:
            continue
        if not isinstance(data, dict):
            problems.append(f"{where}: must be a YAML mapping of fields")
            continue
        claimed_topics.add(data.get("topic"))
        item = _validate(Item, data, where, problems)
        if item is None:
            continue
        if item.id != path.stem:
            problems.append(f"{where}: id {item.id!r} does not match the file name {path.stem!r}")
            continue
        if item.topic not in topic_ids:
            known = ", ".join(sorted(topic_ids)) or "none"
            problems.append(
                f"{where}: topic {item.topic!r} is not in {TOPICS_FILE} (known topics: {known})"
            )
        items[item.id] = item
        problems += [_sentence(where, p) for p in item_problems(item)]
    # Item ids are unique because each must equal its (lowercase) file name.
    for topic in topics:
        if topic.id not in claimed_topics:
            problems.append(f"{TOPICS_FILE}: topic {topic.id!r} has no items")

    # Hotlines.
    hotlines_data = _read_yaml(root / HOTLINES_FILE, root, problems)
    hotlines = _validate_list(Hotline, hotlines_data, HOTLINES_FILE, problems)
    for dupe in _duplicates(h.number for h in hotlines):
        problems.append(f"{HOTLINES_FILE}: number {dupe} is listed more than once")
    for hotline in hotlines:
        where = f"{HOTLINES_FILE} ({hotline.number})"
        problems += [_sentence(where, p) for p in hotline_problems(hotline)]

    # Festival.
    festival_data = _read_yaml(root / FESTIVAL_FILE, root, problems)
    festival = None
    if festival_data is not None:
        festival = _validate(Festival, festival_data, FESTIVAL_FILE, problems)
    if festival is not None:
        for language, about in festival.about.items():
            _check_length(
                FESTIVAL_FILE,
                f"about ({language})",
                about,
                FESTIVAL_ABOUT_MAX_CHARS,
                problems,
                "editorial limit",
            )
            _check_channels(FESTIVAL_FILE, f"about ({language})", about, problems)
        for language, fallback in festival.fallback.items():
            _check_channels(FESTIVAL_FILE, f"fallback ({language})", fallback, problems)

    if problems or festival is None:
        return None, problems
    library = Library(
        topics=tuple(sorted(topics, key=lambda t: (t.order, t.id))),
        items=MappingProxyType(items),
        hotlines=tuple(hotlines),
        festival=festival,
    )
    return library, problems


# --------------------------------------------------------------------------- public API


def check_library(root: Path | None = None) -> list[str]:
    """Check the library under ``root`` (default: the shipped one) without raising.

    Returns human-readable problems, each naming its file; an empty list means the library is
    fine. Checks the schema, both languages, NFC and invisible characters, unique ids, known
    topics, and that every item's title and body fit every channel's message limit.
    """
    _, problems = _collect(DEFAULT_ROOT if root is None else Path(root))
    return problems


def load_library(root: Path | None = None) -> Library:
    """The library residents are shown.

    Without ``root``: the live copy from the database once the runtime has installed one
    (:func:`install_live`, see ``content.store``), else the shipped files, loaded once and
    cached. With ``root``: the files under it. Raises :class:`LibraryError` listing every
    problem when the files are not valid.
    """
    if root is None and _live.library is not None:
        return _live.library
    return load_files(root)


def load_files(root: Path | None = None) -> Library:
    """The library in the files under ``root`` (default: the shipped ones, cached), never the
    live copy: what seeds the database."""
    if root is None:
        return _load_default()
    return _load(Path(root))


def clear_library_cache() -> None:
    """Forget the cached default files, so they are read again when next needed."""
    _load_default.cache_clear()


class _Live:
    library: Library | None = None


_live = _Live()


def install_live(library: Library | None) -> None:
    """Serve ``library`` from :func:`load_library` from now on (process-wide); None goes back
    to the files."""
    _live.library = library


def live_library() -> Library | None:
    """The installed live copy, if any."""
    return _live.library


def _load(root: Path) -> Library:
    library, problems = _collect(root)
    if library is None:
        raise LibraryError(problems)
    return library


@functools.cache
def _load_default() -> Library:
    return _load(DEFAULT_ROOT)
