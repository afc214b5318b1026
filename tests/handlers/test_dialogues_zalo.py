"""The same dialogue tables that pass on Telegram, on the Zalo Bot API (numbered choices
only) and the Zalo OA (buttons, numbered beyond its button limit), through the fakes."""

from __future__ import annotations

from tests.handlers.test_dialogues import EVERY_MENU, ONBOARDING
from tests.harness import ZaloBotResident, ZaloOAResident, run_dialogue, running_stack


async def test_every_menu_on_the_zalo_bot(database_url: str) -> None:
    async with running_stack(database_url, zalo=True) as stack:
        await run_dialogue(
            ZaloBotResident(stack, "6ede9afa66b88fe6d6a9"), [*ONBOARDING, *EVERY_MENU]
        )


async def test_every_menu_on_the_zalo_oa(database_url: str) -> None:
    async with running_stack(database_url, zalo=True) as stack:
        await run_dialogue(ZaloOAResident(stack, "6142494823000000000"), [*ONBOARDING, *EVERY_MENU])
