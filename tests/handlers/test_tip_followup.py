"""Following a report up with its code and PIN: the answers never tell whether a code exists.
Answering an officer's question by just replying, on a channel with buttons and one without."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import select
from sqlmodel import col

from bot.audit import SYSTEM
from bot.models import Resident, Tip, TipMessage
from bot.tips.actions import Draft, submit_tip
from bot.tips.codes import CODE_ALPHABET, CODE_PREFIX
from bot.tips.pins import MAX_PIN_FAILURES
from bot.tips.relay import RelayCipher
from bot.tips.workflow import ask_tipster
from handlers.tip_answer import _yes_or_no
from handlers.tip_followup import code_in
from tests.handlers.test_tip_intake import DESCRIPTION
from tests.harness import (
    RELAY_KEY,
    Dialogue,
    Stack,
    TelegramResident,
    ZaloBotResident,
    run_dialogue,
    running_stack,
)

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
        code, pin = await _file(stack, await _resident(stack, "telegram", 6021))
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


# --- answering an officer by just replying (issue 20) ---------------------------------------

REPLY = "Gửi câu trả lời này cho cán bộ về tin báo {code}?"
SENT = "Câu trả lời về tin báo {code} đã được chuyển đến cán bộ."
WHICH = "Chọn tin báo:"
NOT_SENT = "mình không gửi tin nhắn này cho cán bộ"


ONBOARDING: Dialogue = [
    ("/start", "Chọn ngôn ngữ"),
    ("[🇻🇳 Tiếng Việt]", "xã/phường nào"),
    ("[Bỏ qua]", "Menu chính"),
]


Chatting = TelegramResident | ZaloBotResident


async def _resident(stack: Stack, channel: str, chat: int) -> Chatting:
    """A resident who has started the bot on `channel`."""
    resident: Chatting
    if channel == "zalo_bot":
        resident = ZaloBotResident(stack, f"{chat:020x}")
    else:
        resident = TelegramResident(stack, chat)
    await run_dialogue(resident, ONBOARDING)
    return resident


async def _file(stack: Stack, resident: Chatting) -> tuple[str, str]:
    """A tip filed from `resident`'s chat, as the bot files it (the dialogue is
    tests/handlers/test_tip_intake.py's); returns its code and PIN."""
    channel = "zalo_bot" if isinstance(resident, ZaloBotResident) else "telegram"
    route = (channel, str(resident.chat_id))
    draft = Draft(category="drugs", commune_code=21601, description=DESCRIPTION)
    async with stack.runtime.db.session() as session:
        return await submit_tip(session, draft, route, RelayCipher(RELAY_KEY), stack.settings)


async def _ask(stack: Stack, code: str, question: str) -> None:
    """An officer's question to the tipster of `code`, sent as the panel sends it."""
    runtime = stack.runtime
    async with runtime.db.session() as session:
        tip = (await session.execute(select(Tip).where(col(Tip.code) == code))).scalar_one()
        rows = await ask_tipster(
            session,
            tip,
            question,
            SYSTEM,
            RelayCipher(RELAY_KEY),
            runtime.outbox.lease,
            runtime.core.capabilities,
            timezone=stack.settings.timezone,
        )
    runtime.outbox.send_soon(rows)
    await runtime.outbox.flush()


async def _thread(stack: Stack, code: str) -> list[tuple[str, str]]:
    async with stack.runtime.db.session() as session:
        rows = await session.execute(
            select(col(TipMessage.kind), col(TipMessage.text))
            .join(Tip, col(Tip.id) == col(TipMessage.tip_id))
            .where(col(Tip.code) == code)
            .order_by(col(TipMessage.id))
        )
    return [(kind, text) for kind, text in rows.all()]


@pytest.mark.parametrize("channel", ["telegram", "zalo_bot"])
async def test_the_tipster_answers_by_just_replying(database_url: str, channel: str) -> None:
    async with running_stack(database_url, zalo=True) as stack:
        tipster = await _resident(stack, channel, 7101)
        code, _pin = await _file(stack, tipster)
        await _ask(stack, code, "Xe máy màu gì?")
        answer = "Màu đỏ, biển 77A-123.45"
        question = await tipster.step(answer)  # the question arrives, then the reply to it
        assert "Xe máy màu gì?" in question and "gõ câu trả lời ngay tại đây" in question
        if channel == "zalo_bot":  # nothing to press there
            assert "bấm" not in question.split("Xe máy màu gì?")[1]
        assert REPLY.format(code=code) in question
        # the text waits sealed: not in any row in clear
        async with stack.runtime.db.session() as session:
            states = (
                await session.execute(select(col(Resident.state), col(Resident.state_data)))
            ).all()
        assert not [s for s in states if "77A-123" in repr(tuple(s)) or "tip:" in s[0]]
        await run_dialogue(tipster, [("có", SENT.format(code=code))])
        assert await _thread(stack, code) == [("officer", "Xe máy màu gì?"), ("tipster", answer)]
        # answered: free text is no answer any more (the fallback has it)
        assert REPLY.format(code=code) not in await tipster.step("cảm ơn")


@pytest.mark.parametrize("channel", ["telegram", "zalo_bot"])
async def test_with_several_open_questions_the_tipster_chooses_the_report(
    database_url: str, channel: str
) -> None:
    async with running_stack(database_url, zalo=True) as stack:
        tipster = await _resident(stack, channel, 7102)
        first, _pin = await _file(stack, tipster)
        second, _pin = await _file(stack, tipster)
        await _ask(stack, first, "Lúc mấy giờ?")
        await _ask(stack, second, "Có ai bị thương không?")
        # the latest question first: "2" is the first report
        offered = (await tipster.step("Khoảng 9 giờ tối")).split(WHICH)[1]
        assert offered.index(second) < offered.index(first)
        await run_dialogue(tipster, [("2", SENT.format(code=first))])
        assert await _thread(stack, first) == [
            ("officer", "Lúc mấy giờ?"),
            ("tipster", "Khoảng 9 giờ tối"),
        ]
        await _ask(stack, first, "Mấy người?")
        # a part of the code, as typed: lower case, no prefix; "có" alone says not which
        partial = second.split("-")[1][2:].lower()
        await run_dialogue(
            tipster,
            [
                ("Không ai bị thương", [WHICH, first, second]),
                ("có", [WHICH, "“Không ai bị thương”"]),
                (f"tin {partial}", SENT.format(code=second)),
            ],
        )
        assert (await _thread(stack, second))[-1] == ("tipster", "Không ai bị thương")
        # "trả lời" with questions open on both reports asks which, too
        await _ask(stack, second, "Ở nhà số mấy?")
        step = "trả lời"
        if isinstance(tipster, TelegramResident):  # the question's button
            tipster._new_messages()
            step = "[✍️ Trả lời]"
        await run_dialogue(
            tipster,
            [
                (step, ["Bạn muốn trả lời tin báo nào?", first, second]),
                (f"[{first}]", f"Nhập câu trả lời cho cán bộ về tin báo {first}"),
                ("Ba người", SENT.format(code=first)),
            ],
        )
        assert (await _thread(stack, first))[-1] == ("tipster", "Ba người")


@pytest.mark.parametrize("channel", ["telegram", "zalo_bot"])
async def test_no_means_the_text_was_not_an_answer(database_url: str, channel: str) -> None:
    async with running_stack(database_url, zalo=True) as stack:
        tipster = await _resident(stack, channel, 7103)
        code, _pin = await _file(stack, tipster)
        await _ask(stack, code, "Xe máy màu gì?")
        await run_dialogue(
            tipster,
            [
                ("số điện thoại công an xã", REPLY.format(code=code)),
                ("ko", NOT_SENT),
                ("Đen", REPLY.format(code=code)),  # still open: offered again
                ("[Không, đây không phải câu trả lời]", NOT_SENT),
            ],
        )
        assert await _thread(stack, code) == [("officer", "Xe máy màu gì?")]


@pytest.mark.parametrize("channel", ["telegram", "zalo_bot"])
async def test_a_code_typed_in_a_sentence_starts_the_follow_up(
    database_url: str, channel: str
) -> None:
    async with running_stack(database_url, zalo=True) as stack:
        code, pin = await _file(stack, await _resident(stack, "telegram", 7104))
        other = await _resident(stack, channel, 7105)  # another account
        typed = code.lower().replace("-", "")
        await run_dialogue(
            other,
            [
                (f"cho tôi theo dõi tin báo {typed} với", f"Để theo dõi tin báo {code}, hãy nhập"),
                (pin, f"Tin báo {code}: Mới"),
            ],
        )


def test_codes_are_found_in_what_residents_type() -> None:
    assert code_in("TG-7K3M9Q") == "TG-7K3M9Q"
    assert code_in("mã tg 7k3m9q nhé") == "TG-7K3M9Q"
    assert code_in("theo dõi tin báo TG-YBJM5X giúp tôi") == "TG-YBJM5X"
    assert code_in("tin báo 7k3m-9q") == "TG-7K3M9Q"
    assert code_in("tgabcdef") == "TG-ABCDEF"
    # words that happen to be made of code characters are not codes
    for text in ("camera", "NGUYEN", "abcdef", "tg nào", "0912345678", "77A-123.45", "Tgian 5h"):
        assert code_in(text) is None, text


@pytest.mark.parametrize(
    ("typed", "means"),
    [
        *(
            (yes, True)
            for yes in ("có", "co", "Có!", "ừ", "ok", "yes", "gửi", "gui di", "đúng", "👍")
        ),
        *((no, False) for no in ("không", "ko", "k", "no", "Không phải", "thôi", "đừng gửi")),
        *((other, None) for other in ("Màu đỏ", "có lẽ không", "2", "", "có hai người đi xe máy")),
    ],
)
def test_yes_and_no_as_residents_type_them(typed: str, means: bool | None) -> None:
    assert _yes_or_no(typed) is means


@pytest.mark.parametrize("channel", ["telegram", "zalo_bot"])
async def test_a_number_typed_after_a_question_is_offered_as_its_answer(
    database_url: str, channel: str
) -> None:
    """The list shown before the question still numbers its choices, but "2" typed after an
    officer asked "how many?" is first offered as the answer; "không" then leaves it."""
    async with running_stack(database_url, zalo=True) as stack:
        tipster = await _resident(stack, channel, 7105)
        code, _pin = await _file(stack, tipster)
        await _ask(stack, code, "Có mấy người?")
        assert REPLY.format(code=code) in await tipster.step("2")
        await run_dialogue(tipster, [("có", SENT.format(code=code))])
        assert await _thread(stack, code) == [("officer", "Có mấy người?"), ("tipster", "2")]
        # answered: a number picks from the list again
        assert "Đường dây nóng" in await tipster.step("/menu")
        assert "113" in await tipster.step("2")
