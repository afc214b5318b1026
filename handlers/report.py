"""Tố giác tội phạm. Until anonymous tip-offs land: how to report, and whom to call."""

from __future__ import annotations

from bot.core.context import Context
from bot.core.types import Button
from handlers._common import back_row
from handlers.hotlines import hotline_lines

__all__ = ["report"]


async def report(ctx: Context) -> None:
    """How to report by phone (also what "Report a crime" shows without a relay key)."""
    text = "\n".join(
        [
            ctx._("Reporting a crime"),
            "",
            ctx._("🚨 If it is happening now or someone is in danger: call 113 at once."),
            "",
            ctx._(
                "Otherwise, report to the police of the commune where it happened, in person "
                "or by phone. Say what happened, where, when and who was involved; details "
                "that can be checked are the ones that can be acted on. The police keep the "
                "identity of people who report confidential."
            ),
            "",
            *hotline_lines(ctx),
        ]
    )
    ctx.reply(
        text,
        [[Button(ctx._("📚 How to report (guide)"), "lib:i:to-giac-toi-pham:0")], back_row(ctx)],
    )
