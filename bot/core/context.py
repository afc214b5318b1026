"""What a handler gets: the inbound message, the resident, the open transaction, and `reply`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.types import Button, Capabilities, Inbound, Reply
from bot.i18n import gettext
from bot.models import Resident
from bot.settings import Settings

__all__ = ["Context"]


@dataclass
class Context:
    inbound: Inbound
    resident: Resident
    session: AsyncSession
    settings: Settings
    caps: Capabilities
    #: The button payload this update carries: pressed, or picked by typing its number/label.
    payload: str = ""
    #: The resident's text, NFC-normalised with invisible characters removed.
    text: str = ""
    replies: list[Reply] = field(default_factory=list)
    #: Part of a tip-off, a follow-up or feedback (set by the handlers): the update and its
    #: replies are not counted in the statistics, whose per-commune daily message counts
    #: would otherwise show that someone in a quiet commune wrote a tip that day.
    confidential: bool = False

    @property
    def lang(self) -> str:
        return self.resident.language

    def _(self, message: str, **params: Any) -> str:
        """Translate `message` into the resident's language, then fill `{params}`."""
        translated = gettext(self.lang, message)
        return translated.format(**params) if params else translated

    def reply(
        self,
        text: str,
        buttons: list[list[Button]] | None = None,
        photo: str | None = None,
        *,
        private: bool = False,
    ) -> None:
        """Answer the resident. `private`: the message is deleted from the outbox once sent."""
        self.replies.append(Reply(text=text, buttons=buttons or [], photo=photo, private=private))

    # --- conversation state (kept in the database, so restarts lose nothing) -------------
    @property
    def state(self) -> str:
        return self.resident.state

    @property
    def state_data(self) -> dict[str, Any]:
        return {k: v for k, v in self.resident.state_data.items() if not k.startswith("_")}

    def set_state(self, state: str, **data: Any) -> None:
        keep = {k: v for k, v in self.resident.state_data.items() if k.startswith("_")}
        self.resident.state = state
        self.resident.state_data = {**keep, **data}

    def clear_state(self) -> None:
        self.set_state("")

    # --- what outlives the state: "_" keys, kept by `set_state` and `clear_state` ---------
    def kept(self, key: str) -> Any:
        """What `keep` put under `key` (None if nothing)."""
        return self.resident.state_data.get(key)

    def keep(self, key: str, value: Any) -> None:
        """Keep `value` in the conversation beyond its state: a flow left half-way finds it
        again (a tip being written). `key` starts with "_"."""
        if not key.startswith("_"):
            raise ValueError(f"kept data needs a '_' key, not {key!r}")
        self.resident.state_data = {**self.resident.state_data, key: value}

    def forget(self, key: str) -> None:
        self.resident.state_data = {k: v for k, v in self.resident.state_data.items() if k != key}
