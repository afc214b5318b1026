"""What a handler gets: the inbound message, the resident, the open transaction, and `reply`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.types import Button, Capabilities, Inbound, Reply
from bot.i18n import gettext
from bot.models import Resident
from bot.settings import Settings

__all__ = ["Context", "Deferred"]

T = TypeVar("T")


class Deferred(Exception):
    """Raised by `Context.compute`: the handler needs `work()` done before it can go on.

    Updates are handled together in one transaction (group commit), so tens of milliseconds
    of CPU in one handler (argon2) would hold up every resident in the batch. The core takes
    the update out of the batch instead, runs `work` in a worker thread outside any
    transaction, and handles the update again with the result (`Inbound.computed`). The
    webhook is answered only after that second run is committed."""

    def __init__(self, key: str, work: Callable[[], Any]) -> None:
        # the key stays out of the message: it may name a tip, and messages reach the logs
        super().__init__("a handler asked for work outside the transaction")
        self.key, self.work = key, work


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

    def compute(self, key: str, work: Callable[[], T]) -> T:
        """`work()`'s result, computed outside the transaction (see `Deferred`).

        Call it before the handler changes anything (state, replies, rows): the first run
        stops here and is discarded. `key` names the result; it must be the same on the
        second run, and say everything `work` depends on (the second run gets the result
        stored under that key, not a fresh one)."""
        if key in self.inbound.computed:
            return cast(T, self.inbound.computed[key])
        raise Deferred(key, work)

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
