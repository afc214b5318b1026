"""The content forms (an item, a hotline) as posted and shown again, what is wrong with them
worded next to each field, and the server-side preview: how residents see the item or the
hotline list on Telegram, Zalo Bot and Zalo OA.

Texts are taken as typed apart from Unicode NFC (Vietnamese typed with combining marks is
composed) and line endings; every rule after that is the files' own (`content.library`), so
what the panel saves would pass as a file too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from multidict import MultiDictProxy

from admin._web import platform_label, translator, whole
from admin.campaign_form import Bubble, PlatformPreview, preview_platforms
from bot.core.render import render, utf16_len
from bot.core.types import Button, Reply
from bot.i18n import N_
from content.library import (
    LANGUAGES,
    Hotline,
    Item,
    Problem,
    hotline_problems,
    item_problems,
    load_files,
    validate,
)
from content.unanswered import QUESTION_MAX_CHARS
from handlers.hotlines import hotline_line
from handlers.library import item_text

__all__ = [
    "Errors",
    "HotlineForm",
    "ItemForm",
    "Message",
    "add_problems",
    "hotline_preview",
    "item_preview",
    "message_of",
]

_WHOLE_NUMBER = re.compile(r"^-?\d{1,6}$")
_TAG_SPLIT = re.compile(r"[,\s]+")

#: What each problem code says to staff (English message ids, translated on the page).
_MESSAGES: dict[str, str] = {
    "required": N_("Required."),
    "too_long": N_("Too long: {length} characters, at most {limit}."),
    "too_long_channel": N_(
        "The title and text together are {length} characters: too long for one {channel} "
        "message (at most {limit})."
    ),
    "invisible": N_(
        "Contains an invisible or control character ({char}) at character {position}: "
        "delete it, or type the text again."
    ),
    "not_nfc": N_("The text is not in Unicode NFC form."),
    "slug": N_("Use lowercase letters without diacritics, digits and hyphens, e.g. lua-dao-moi."),
    "number": N_("A national hotline number has 3 to 5 digits."),
    "integer": N_("Give a whole number."),
    "duplicate_tags": N_("A tag is given twice."),
    "unknown_topic": N_("Choose a topic from the list."),
    "exists_item": N_("An item with this id exists already."),
    "exists_hotline": N_("This number is in the list already."),
    "source_half": N_("Give the source in both languages, or leave both empty."),
    "conflict": N_(
        "Someone else saved a newer version (version {version}) while you were editing. "
        "Your text is kept below: check the history, then save again to replace it."
    ),
    "unknown_version": N_("There is no such version."),
    "invalid": N_("This value is not valid."),
}


@dataclass(frozen=True)
class Message:
    """A message id and its parameters, translated where it is shown."""

    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def shown(self, number: Callable[[int], str]) -> dict[str, Any]:
        """The parameters with figures formatted for the page's language."""
        return {k: number(v) if isinstance(v, int) else v for k, v in self.params.items()}


#: Form field name → what is wrong with it; "" for the form as a whole.
Errors = dict[str, list[Message]]


def message_of(problem: Problem, kind: str = "item") -> Message:
    """`problem` worded for staff."""
    code = problem.code
    params = dict(problem.params)
    if code == "too_long" and "channel" in params:
        code = "too_long_channel"
        params["channel"] = platform_label(str(params["channel"]))
    elif code == "exists":
        code = f"exists_{kind}"
    elif problem.field == "topic":
        code = "unknown_topic"
    return Message(_MESSAGES.get(code, _MESSAGES["invalid"]), params)


def _form_field(path: str) -> str:
    """The form field a problem belongs next to: "title.vi" → "title_vi"; the title and body
    together ("text.vi") → the body; an example question ("questions.en.2") → its list."""
    name, _, rest = path.partition(".")
    if name == "text":
        name = "body"
    language = rest.partition(".")[0]
    if language in LANGUAGES:
        return f"{name}_{language}"
    return name


def add_problems(errors: Errors, problems: list[Problem], kind: str = "item") -> None:
    for problem in problems:
        errors.setdefault(_form_field(problem.field), []).append(message_of(problem, kind))


def clean(text: str) -> str:
    """NFC, one kind of line break, no surrounding space: nothing else is changed."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return text.strip()


def _bilingual(form: Any, name: str) -> dict[str, str]:
    return {language: clean(getattr(form, f"{name}_{language}")) for language in LANGUAGES}


def _lines(text: str) -> list[str]:
    """One example question a line, as typed (NFC), empty lines left out."""
    return [" ".join(line.split()) for line in clean(text).split("\n") if line.strip()]


def _whole_number(errors: Errors, name: str, value: str) -> int:
    if not _WHOLE_NUMBER.match(value.strip()):
        errors.setdefault(name, []).append(Message(_MESSAGES["integer"]))
        return 0
    return int(value)


def _in_form_order(errors: Errors, form: Any) -> Errors:
    """The errors in the order of the fields on the page (the first is linked to)."""
    order = [f.name for f in fields(form)]
    return dict(sorted(errors.items(), key=lambda e: order.index(e[0]) if e[0] in order else -1))


def _version(value: str) -> int | None:
    return int(value) if whole(value) else None


@dataclass
class ItemForm:
    """The item form's fields, as text."""

    id: str = ""
    topic: str = ""
    order: str = "100"
    tags: str = ""
    title_vi: str = ""
    summary_vi: str = ""
    body_vi: str = ""
    source_vi: str = ""
    title_en: str = ""
    summary_en: str = ""
    body_en: str = ""
    source_en: str = ""
    #: Example questions, one a line: how residents ask what the item answers.
    questions_vi: str = ""
    questions_en: str = ""
    #: Set when the form shows the example questions (a form without them keeps the saved).
    questions_shown: str = ""
    #: The unanswered questions (row ids) a new item is written from: they end when it is made.
    unanswered: str = ""
    #: What changed and why (kept with the version).
    change_note: str = ""
    #: The version the editor started from ("" for a new item).
    base_version: str = ""

    @classmethod
    def from_post(cls, data: MultiDictProxy[str]) -> ItemForm:
        return cls(**{f.name: data.get(f.name, "") for f in fields(cls)})

    @classmethod
    def from_item(cls, item: Item, version: int) -> ItemForm:
        source = item.source
        return cls(
            id=item.id,
            topic=item.topic,
            order=str(item.order),
            title_vi=item.title.vi,
            summary_vi=item.summary.vi,
            body_vi=item.body.vi,
            source_vi=source.vi if source else "",
            title_en=item.title.en,
            summary_en=item.summary.en,
            body_en=item.body.en,
            source_en=source.en if source else "",
            tags=", ".join(item.tags),
            questions_vi="\n".join(item.questions.vi) if item.questions else "",
            questions_en="\n".join(item.questions.en) if item.questions else "",
            questions_shown="1",
            base_version=str(version),
        )

    @property
    def version(self) -> int | None:
        return _version(self.base_version)

    def parse(self) -> tuple[Item | None, Errors]:
        """The item the form describes, or None and what is wrong, by field."""
        errors: Errors = {}
        data: dict[str, Any] = {
            "id": self.id.strip(),
            "topic": self.topic.strip(),
            "order": _whole_number(errors, "order", self.order),
            "title": _bilingual(self, "title"),
            "summary": _bilingual(self, "summary"),
            "body": _bilingual(self, "body"),
            "tags": [t for t in _TAG_SPLIT.split(self.tags.strip().lower()) if t],
        }
        if not data["id"]:
            errors["id"] = [Message(_MESSAGES["required"])]
            data["id"] = "x"  # so the other fields are still checked
        elif data["id"] == "new":  # the address of the new-item form
            errors["id"] = [Message(_MESSAGES["exists_item"])]
        if self.questions_shown:
            questions = {lang: _lines(getattr(self, f"questions_{lang}")) for lang in LANGUAGES}
            for lang, lines in questions.items():
                longest = max((len(line) for line in lines), default=0)
                if longest > QUESTION_MAX_CHARS:
                    errors[f"questions_{lang}"] = [
                        Message(
                            _MESSAGES["too_long"], {"length": longest, "limit": QUESTION_MAX_CHARS}
                        )
                    ]
            if any(questions.values()) or self.base_version:  # an edit may remove them all
                data["questions"] = questions
        source = _bilingual(self, "source")
        if all(source.values()):
            data["source"] = source
        elif any(source.values()):
            for language, text in source.items():
                if not text:
                    errors[f"source_{language}"] = [Message(_MESSAGES["source_half"])]
        item, problems = validate(Item, data)
        if item is not None:
            problems = item_problems(item, [t.id for t in load_files().topics])
        add_problems(errors, problems)
        return (item if not errors else None), _in_form_order(errors, self)


@dataclass
class HotlineForm:
    """The hotline form's fields, as text."""

    number: str = ""
    position: str = "10"
    title_vi: str = ""
    note_vi: str = ""
    title_en: str = ""
    note_en: str = ""
    change_note: str = ""
    base_version: str = ""

    @classmethod
    def from_post(cls, data: MultiDictProxy[str]) -> HotlineForm:
        return cls(**{f.name: data.get(f.name, "") for f in fields(cls)})

    @classmethod
    def from_hotline(cls, hotline: Hotline, position: int, version: int) -> HotlineForm:
        return cls(
            number=hotline.number,
            position=str(position),
            title_vi=hotline.title.vi,
            note_vi=hotline.note.vi,
            title_en=hotline.title.en,
            note_en=hotline.note.en,
            base_version=str(version),
        )

    @property
    def version(self) -> int | None:
        return _version(self.base_version)

    def parse(self) -> tuple[Hotline | None, int, Errors]:
        """The hotline and its place in the list, or None and what is wrong, by field."""
        errors: Errors = {}
        position = _whole_number(errors, "position", self.position)
        data = {
            "number": self.number.strip(),
            "title": _bilingual(self, "title"),
            "note": _bilingual(self, "note"),
        }
        hotline, problems = validate(Hotline, data)
        if hotline is not None:
            problems = hotline_problems(hotline)
        add_problems(errors, problems, "hotline")
        return (hotline if not errors else None), position, _in_form_order(errors, self)


# --- preview -------------------------------------------------------------------------------


def _on_platforms(reply: Reply, zalo_oa_max_buttons: int) -> list[PlatformPreview]:
    out = []
    for channel, caps in preview_platforms(zalo_oa_max_buttons):
        messages = render(reply, caps)
        bubbles = [
            Bubble(m.text, None, [b.label for row in m.buttons for b in row]) for m in messages
        ]
        notes = []
        if len(messages) > 1:
            notes.append(N_("The text is too long for one message here: it is split."))
        length = utf16_len(reply.text) if caps.utf16 else len(reply.text)
        out.append(PlatformPreview(channel, bubbles, length, caps.max_text, notes))
    return out


def item_preview(item: Item, zalo_oa_max_buttons: int) -> list[tuple[str, list[PlatformPreview]]]:
    """(language, platforms): the item as a resident opens it from its topic, built by the
    bot's own code and rendered as each platform shows it."""
    previews: list[tuple[str, list[PlatformPreview]]] = []
    for language in LANGUAGES:
        _ = translator(language)
        reply = Reply(
            text=item_text(item, language, _),
            buttons=[[Button(_("⬅️ Back to the list"), f"lib:t:{item.topic}:0")]],
        )
        previews.append((language, _on_platforms(reply, zalo_oa_max_buttons)))
    return previews


def hotline_preview(
    hotlines: list[Hotline], zalo_oa_max_buttons: int
) -> list[tuple[str, list[PlatformPreview]]]:
    """(language, platforms): the national numbers of the hotlines message, in list order."""
    previews: list[tuple[str, list[PlatformPreview]]] = []
    for language in LANGUAGES:
        _ = translator(language)
        lines = [hotline_line(hotline, language) for hotline in hotlines]
        text = _("Hotlines (113, 114, 115 and 111 are free of charge):") + "\n\n" + "\n".join(lines)
        previews.append((language, _on_platforms(Reply(text=text), zalo_oa_max_buttons)))
    return previews
