"""Platform-neutral messages: what channels turn updates into, and what handlers answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Button",
    "Capabilities",
    "FetchedPhoto",
    "Inbound",
    "InboundKind",
    "Location",
    "Reply",
]

InboundKind = Literal[
    "text", "button", "location", "photo", "file", "unsupported", "follow", "unfollow"
]


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class FetchedPhoto:
    """A photo the resident sent, downloaded and re-encoded before the update's transaction
    (bot/tips/photo_fetch.py): `content` is a metadata-free JPEG, or `problem` says why there
    is none (a `bot.tips.photos.RejectReason`, "not_a_picture" or "download_failed")."""

    content: bytes = field(default=b"", repr=False)
    width: int = 0
    height: int = 0
    problem: str = ""


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a resident did, whatever the platform.

    `update_id` is unique per channel and is what deduplication keys on.
    """

    channel: str
    chat_id: str
    update_id: str
    kind: InboundKind
    text: str = ""
    payload: str = ""
    location: Location | None = None
    photo_ids: tuple[str, ...] = ()
    #: What the platform says about the photo or file: its size in bytes and declared type.
    #: Hints to refuse early without downloading; the content decides what it really is.
    file_size: int | None = None
    file_mime: str = ""
    #: Set before the transaction, only for photos sent at the tip's photo step.
    fetched: FetchedPhoto | None = None
    language_hint: str | None = None
    #: Platform handle to acknowledge a button press (Telegram's callback query id).
    callback_id: str | None = None
    #: An opaque tag of the network address the update came from (the web chat, where a
    #: fresh cookie is a fresh resident): a keyed hash whose key lives in the process's
    #: memory only. Limits count it in memory; it is never stored or logged.
    client_tag: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    payload: str
    #: Other words that pick this button when typed, folded ("co", "gui"): a resident on a
    #: channel without buttons answers in words (bot/core/render.py `resolve_choice`).
    #: Only matched, never shown or sent.
    words: tuple[str, ...] = ()
    #: Picked only by its number, its whole label or its `words`: for names, where a part of
    #: one ("Quy Nhơn") or a near miss ("Quy Nhơn Đông") names another place.
    exact: bool = False


@dataclass(slots=True)
class Reply:
    """A message to the resident. Rows of buttons become a keyboard or numbered choices."""

    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    photo: str | None = None
    #: Carries something that must not outlive its delivery (a tip code, a PIN, an officer's
    #: question): its outbox row is deleted once sent. Not part of the payload.
    private: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text}
        if self.buttons:
            data["buttons"] = [[[b.label, b.payload] for b in row] for row in self.buttons]
        if self.photo:
            data["photo"] = self.photo
        if self.private:
            data["private"] = True
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reply:
        rows = [
            [Button(label, payload) for label, payload in row] for row in data.get("buttons", [])
        ]
        return cls(
            text=data["text"],
            buttons=rows,
            photo=data.get("photo"),
            private=bool(data.get("private", False)),
        )


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel can do; the renderer degrades replies to fit."""

    buttons: bool
    max_text: int
    location: bool
    photos: bool
    #: Most buttons a keyboard may hold; beyond that choices are numbered.
    max_buttons: int = 100
    #: Count `max_text` in UTF-16 code units (emoji count twice), not characters.
    utf16: bool = False
    #: Who besides us sees a conversation on this channel (told to a resident before a tip):
    #: "platform" (the messaging company's servers see that the account wrote to the bot),
    #: "inbox" (the account's own administrators read it in the platform's inbox, next to
    #: the resident's profile: a Zalo OA), "nobody" (our own page).
    seen_by: Literal["platform", "inbox", "nobody"] = "platform"
