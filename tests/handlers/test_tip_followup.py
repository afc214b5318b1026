"""Following a report up with its code and PIN: the answers never tell whether a code exists."""

from __future__ import annotations

import secrets

from bot.tips.codes import CODE_ALPHABET, CODE_PREFIX
from bot.tips.pins import MAX_PIN_FAILURES
from tests.handlers.test_tip_intake import _file_on_telegram
from tests.harness import Dialogue, TelegramResident, run_dialogue, running_stack

TO_FOLLOW_UP: Dialogue = [
    ("/start", "Chọn ngôn ngữ"),
    ("[🇻🇳 Tiếng Việt]", "xã/phường nào"),
    ("[Bỏ qua]", "Menu chính"),
    ("[🚨 Tố giác tội phạm]", "ẩn danh"),
    ("[🔎 Theo dõi tin báo]", "gõ mã tin báo"),
]
NOT_RIGHT = "Mã tin báo hoặc mã PIN không đúng."
LOCKED = "Hãy kiểm tra lại mã tin báo đã gõ; nếu mã đúng, vui lòng thử lại sau một giờ."


async def _tries(resident: TelegramResident, code: str, pin: str, times: int) -> list[str]:
    """What the bot answers to `code` and `pin`, `times` times, tapping Try again between."""
    answers = []
    for n in range(times):
        if n:
            await run_dialogue(resident, [("[🔎 Thử lại]", "gõ mã tin báo")])
        await run_dialogue(resident, [(code, "mã PIN")])
        answers.append(await resident.step(pin))
    return answers


async def test_a_code_that_does_not_exist_locks_like_one_that_does(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        code, pin = await _file_on_telegram(stack, 6021)
        wrong = "000000" if pin != "000000" else "111111"
        unknown = code
        while unknown == code:  # fresh for each run: the count of unknown codes is in memory
            unknown = f"{CODE_PREFIX}-" + "".join(secrets.choice(CODE_ALPHABET) for _ in "123456")
        guessers = TelegramResident(stack, 6022), TelegramResident(stack, 6023)
        for guesser in guessers:
            await run_dialogue(guesser, TO_FOLLOW_UP)
        made_up = await _tries(guessers[1], unknown, wrong, MAX_PIN_FAILURES + 1)
        # a tipster who mistyped the code is locked out of the mistyped one only
        await run_dialogue(
            guessers[1],
            [("[🔎 Thử lại]", "gõ mã tin báo"), (code, "mã PIN"), (pin, f"Tin báo {code}:")],
        )
        real = await _tries(guessers[0], code, wrong, MAX_PIN_FAILURES + 1)
        assert made_up == real  # word for word, buttons included
        assert all(NOT_RIGHT in answer for answer in real[:MAX_PIN_FAILURES])
        assert LOCKED in real[-1] and "[🔎 Thử lại]" in real[-1]
        # like a real code's, the lock holds whoever tries the code
        other = TelegramResident(stack, 6024)
        await run_dialogue(other, [*TO_FOLLOW_UP, (unknown, "mã PIN"), (wrong, LOCKED)])
