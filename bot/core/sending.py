"""One send, one outcome: what a platform's answer to a message means, for every sender.

The outbox (replies, codes, officers' questions, paced broadcasts) and the campaign engine
send through `send_messages` and act on its `Outcome` by their own guarantees, which differ
on purpose and are named here so they are read in one place:

- **Outbox rows are at-least-once**: a row stays until its send is recorded, and a row whose
  writer died is sent again by another process (a rare repeat beats a lost PIN). Transient
  failures are retried (`bot.core.outbox.MAX_ATTEMPTS`); a 429 pauses the whole platform,
  inline up to `bot.core.outbox.MAX_INLINE_PAUSE`, and hands the row back beyond.
- **Campaign deliveries are at-most-once**: a delivery is claimed before it is sent, and one
  a dead process had claimed is marked interrupted, never sent again. Transient failures are
  retried (`bot.campaigns.engine.MAX_ATTEMPTS`); a 429 pauses the platform too, and the
  delivery is deferred, not counted as an attempt.

Both: a block stops the messages to that chat (the resident is marked unsubscribed where
that says nothing about a tip), the Zalo OA's 7-day window is recorded apart, a permanent
refusal is final.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.core.channel import (
    Blocked,
    Channel,
    OutOfWindow,
    PermanentFailure,
    RetryLater,
    SendError,
)
from bot.core.pacing import Pacer
from bot.core.types import Reply

__all__ = ["Outcome", "Sent", "send_messages"]


class Outcome(StrEnum):
    """What came of sending (the values are the outcomes the senders record)."""

    SENT = "sent"
    #: The platform asked us to wait `Sent.seconds` (HTTP 429): not a failed attempt.
    PAUSE = "pause"
    BLOCKED = "blocked"
    OUT_OF_WINDOW = "out_of_window"
    #: Refused for good (a bad request, a chat that does not exist).
    FAILED = "failed"
    #: Network trouble or a 5xx: worth another attempt.
    RETRY = "retry"


@dataclass(frozen=True, slots=True)
class Sent:
    outcome: Outcome
    #: The platform's reason (never the chat or the text).
    error: str = ""
    #: How long the platform asked us to wait (`Outcome.PAUSE`).
    seconds: float = 0.0


async def send_messages(
    channel: Channel, chat_id: str, messages: Sequence[Reply], pacer: Pacer | None = None
) -> Sent:
    """Send `messages` to one chat in order, each after its turn on `pacer`; stops at the
    first that fails and says why."""
    try:
        for message in messages:
            if pacer is not None:
                await pacer.wait(chat_id)
            await channel.send(chat_id, message)
    except RetryLater as exc:
        return Sent(Outcome.PAUSE, seconds=exc.seconds)
    except Blocked:
        return Sent(Outcome.BLOCKED, "blocked by the resident")
    except OutOfWindow as exc:
        return Sent(Outcome.OUT_OF_WINDOW, str(exc))
    except PermanentFailure as exc:
        return Sent(Outcome.FAILED, str(exc))
    except SendError as exc:
        return Sent(Outcome.RETRY, str(exc))
    return Sent(Outcome.SENT)
