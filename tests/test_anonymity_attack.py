"""Issue 18's attack: residents on every channel browse, file tips (with photos), answer the
officers' questions, send feedback and ask questions the bot cannot answer (kept for staff);
one blocks the bot and one is past Zalo's 7-day window. Then an attacker with the whole
database and every log line, but not the relay keys, tries to tell who filed, answered, sent
or asked what (`tests.attack`). Nothing may be linked: in a busy run, where residents act at
the same time, and in a quiet one, where they act one after another and each secret stands
alone in time (the hardest case)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select, text

from bot.channels.webchat import chat_id_for
from bot.housekeeping import prune
from bot.logging_setup import quiet_libraries
from bot.models import CommuneChat, UnansweredQuestion, utcnow
from bot.stats.rollup import refresh
from content.library import load_library
from tests.admin.panel import QN_DONG, PanelClient, add_staff, receive
from tests.attack import Finding, Secret, attack, snapshot
from tests.handlers.test_tip_intake import ASK_PHOTOS, DESCRIPTION
from tests.handlers.test_tip_photos import DONE, gps_jpeg, photo, send
from tests.harness import (
    Resident,
    Stack,
    TelegramResident,
    WebResident,
    WebStepper,
    ZaloBotResident,
    ZaloOAResident,
    run_dialogue,
    running_stack,
)

Key = tuple[str, str]
LIB = load_library()
LAW = LIB.topic("law").title.vi
ND06 = LIB.item("nd-06-2014").title.vi

ONBOARD = [
    ("/start", "Chọn ngôn ngữ"),
    ("[🇻🇳 Tiếng Việt]", "xã/phường nào"),
    ("phuong quy nhon dong", "Có phải bạn ở Phường Quy Nhơn Đông?"),
    ("[✅ Đúng]", "Menu chính"),
]
BROWSE = [
    ("[📚 Tuyên truyền pháp luật]", "chọn chủ đề"),
    (f"[{LAW}]", ND06),
    (f"[{ND06}]", "Nguồn:"),
    ("[🏠 Menu chính]", "Menu chính"),
    ("[☎️ Đường dây nóng]", "113"),
    ("[🏠 Menu chính]", "Menu chính"),
]


#: Questions the bot has no answer to (one names a resident and their phone: both masked).
GOLD = "Giá vàng hôm nay bao nhiêu vậy?"
LOTTERY = "Kết quả xổ số miền Nam hôm qua"
NAMED = "Tôi là Trần Thị Bình, số 0905123456, hỏi giá vé xem bóng đá"


def _tip_flow(n: int) -> list[tuple[str, str | list[str]]]:
    return [
        ("[🚨 Tố giác tội phạm]", "Tố giác tội phạm ẩn danh"),
        ("[Tiếp tục]", "Vụ việc thuộc loại nào?"),
        ("[Ma túy]", "đang xảy ra"),
        ("[Không]", "xã/phường nào"),
        ("phuong quy nhon dong", "Cụ thể ở đâu"),  # their home commune, offered
        (f"gần chợ, tổ {n}", "khi nào"),
        ("[Hôm nay]", "Chuyện gì đã xảy ra"),
        (f"{DESCRIPTION} Lần {n}.", ASK_PHOTOS),
    ]


@dataclass
class Actor:
    """A resident of the run: who they are, how they talk, when they first acted."""

    key: Key
    talk: Resident
    first: datetime
    code: str = ""

    async def play(self, dialogue: list[tuple[str, str | list[str]]]) -> None:
        await run_dialogue(self.talk, dialogue)


class Run:
    """One workload on one stack: the actors, the officer, and the secrets they leave."""

    def __init__(self, stack: Stack, http: aiohttp.ClientSession) -> None:
        self.stack, self.http = stack, http
        self.actors: list[Actor] = []
        self.secrets: list[Secret] = []
        self.officer = PanelClient.open(stack.runtime.url)
        self._telegram = 71_300_000
        self._web: list[WebResident] = []
        self.questions: dict[Key, str] = {}

    async def actor(self, channel: str) -> Actor:
        n = len(self.actors) + 1
        talk: Resident
        if channel == "telegram":
            self._telegram += 17
            chat = self._telegram
            self.stack.fake.add_chat(chat)
            talk, key = TelegramResident(self.stack, chat), ("telegram", str(chat))
        elif channel == "zalo_bot":
            chat_id = f"{n:04d}aa{n:04d}bbccddeeff00"[:20]
            talk, key = ZaloBotResident(self.stack, chat_id), ("zalo_bot", chat_id)
        elif channel == "zalo_oa":
            user = f"61424948230{n:08d}"
            oa = ZaloOAResident(self.stack, user)
            await oa.send({"event": "follow"})  # its dedup key must not hold the user id
            talk, key = oa, ("zalo_oa", user)
        else:
            jar = aiohttp.CookieJar(unsafe=True)
            session = aiohttp.ClientSession(cookie_jar=jar)
            visitor = WebResident(session, self.stack.runtime.url)
            await visitor.open()
            token = next(c.value for c in jar if c.key == "antq_chat")
            self._web.append(visitor)
            talk, key = WebStepper(visitor, self.stack.runtime), ("web", chat_id_for(token))
        actor = Actor(key, talk, first=utcnow())  # a Zalo OA follower has just followed
        self.actors.append(actor)
        return actor

    async def tip(self, actor: Actor, n: int, with_photo: bool = False) -> None:
        await actor.play(_tip_flow(n))
        if with_photo:
            assert isinstance(actor.talk, TelegramResident)
            assert "1" in await send(actor.talk, photo(gps_jpeg()))
            await actor.talk.step(DONE)
        else:
            await actor.talk.step("[Bỏ qua]")
        confirmation = await actor.talk.step("[✅ Gửi tin báo]")
        at = utcnow()
        code = re.search(r"TG-[0-9A-Z]{6}", confirmation)
        pin = re.search(r"Mã PIN: (\d{6})", confirmation)
        assert code and pin, confirmation
        actor.code = code.group(0)
        texts = (code.group(0), pin.group(1), f"{DESCRIPTION} Lần {n}.", f"gần chợ, tổ {n}")
        self.secrets.append(Secret("tip", actor.key, at, texts))

    async def draft(self, actor: Actor, n: int) -> None:
        """A tip left half-written: the resident's state must not say so."""
        await actor.play(_tip_flow(n)[:7])
        texts = ("tip:", f"gần chợ, tổ {n}")
        self.secrets.append(Secret("draft", actor.key, utcnow(), texts))

    async def feedback(self, actor: Actor, n: int) -> None:
        words = f"Góp ý số {n}: cán bộ tiếp dân ở phường làm việc chậm, đề nghị xem lại."
        await actor.play([("[💬 Góp ý]", "Hãy viết góp ý"), (words, "Cảm ơn bạn")])
        self.secrets.append(Secret("feedback", actor.key, utcnow(), (words,)))

    async def unanswered(self, actor: Actor, question: str) -> None:
        """A question the bot has no answer to: kept for staff, masked, with no sender."""
        reply = await actor.talk.step(question)
        assert "113" in reply, reply  # "no answer yet", the menu and 113
        self.secrets.append(Secret("unanswered", actor.key, utcnow(), (question,)))

    async def ask(self, actor: Actor, question: str) -> None:
        """An officer's question to a tipster: its time, in the tip's thread, is one more the
        attacker can line up (with a failed send, an unsubscribing, a reply)."""
        self.questions[actor.key] = question
        self.secrets.append(Secret("question", actor.key, utcnow(), (question,)))
        page = f"/admin/tips/{actor.code}"
        status, location, _ = await self.officer.post(
            f"{page}/ask", {"text": question}, csrf_from=page
        )
        assert status == 303 and "error" not in location, location
        await self.stack.runtime.outbox.flush()

    async def answer(self, actor: Actor, n: int) -> None:
        received = await receive(actor.talk, self.stack)
        assert self.questions[actor.key] in received, received
        reply = "trả lời" if actor.key[0] == "zalo_bot" else "[✍️ Trả lời]"
        words = f"Trả lời {n}: khoảng 21 giờ, hai người, một xe máy màu đỏ."
        await actor.play([(reply, "Nhập câu trả lời"), (words, "đã được chuyển")])
        self.secrets.append(Secret("answer", actor.key, utcnow(), (words,)))

    async def close(self) -> None:
        await self.officer.close()
        for visitor in self._web:
            await visitor.session.close()


async def _settle(stack: Stack, later: bool) -> None:
    """What the product does on its own: replies sent and recorded, the statistics; with
    `later`, housekeeping a quarter of an hour on."""
    runtime = stack.runtime
    await runtime.outbox.flush()
    await runtime.outbox.sweep_once()
    await runtime.outbox.flush()
    if runtime.counter is not None:
        await runtime.counter.flush(runtime.db)
    await refresh(runtime.db, runtime.settings.timezone)
    if later:
        await prune(runtime.db, utcnow() + timedelta(minutes=15))


async def _attacked(
    stack: Stack, run: Run, caplog: pytest.LogCaptureFixture, quiet: bool
) -> list[Finding]:
    """The attack on a copy taken as soon as the workload is over, and on one taken after
    housekeeping has run."""
    findings = []
    for later in (False, True):
        await _settle(stack, later)
        findings += await _attack_copy(stack, run, caplog, quiet)
    return findings


async def _attack_copy(
    stack: Stack, run: Run, caplog: pytest.LogCaptureFixture, quiet: bool
) -> list[Finding]:
    logs = [
        (datetime.fromtimestamp(r.created).astimezone(), r.getMessage() + (r.exc_text or ""))
        for r in caplog.records
    ]
    started = min(a.first for a in run.actors) - timedelta(days=2)
    snap = await snapshot(
        stack.runtime.db,
        [a.key for a in run.actors],
        logs,
        (started, utcnow() + timedelta(days=2)),
    )
    acted = {a.key: a.first for a in run.actors} if quiet else None
    return attack(snap, run.secrets, acted)


Workload = Callable[[Run], Awaitable[None]]


async def busy(run: Run) -> None:
    """Thirteen residents on four channels acting at the same time."""
    stack = run.stack
    channels = ["telegram"] * 4 + ["zalo_bot"] * 3 + ["zalo_oa"] * 3 + ["web"] * 3
    actors = [await run.actor(c) for c in channels]
    await asyncio.gather(*(a.play(ONBOARD) for a in actors))
    tg1, tg2, tg3, tg4, zb1, zb2, zb3, oa1, oa2, oa3, web1, web2, web3 = actors
    tippers = [(tg1, True), (tg2, False), (zb1, False), (oa1, False), (oa2, False), (web1, False)]
    others = [a for a in actors if all(a is not t for t, _ in tippers)]
    await asyncio.gather(
        *(run.tip(a, n, photo) for n, (a, photo) in enumerate(tippers, start=1)),
        *(a.play(BROWSE) for a in others),
    )
    await asyncio.gather(
        run.feedback(tg3, 1),
        run.feedback(web2, 2),
        run.draft(zb2, 9),
        run.unanswered(tg4, GOLD),
        run.unanswered(oa3, GOLD.lower()),
        run.unanswered(web3, LOTTERY),
        run.unanswered(zb1, NAMED),  # a tipster asks too
    )
    assert await run.officer.login("canbo_dong") == 303
    # tg2 blocked the bot; oa2 has not written for 8 days (Zalo refuses, -230)
    stack.fake.block(int(tg2.key[1]))
    assert stack.zalo_oa is not None
    stack.zalo_oa.set_last_interaction(oa2.key[1], seconds_ago=8 * 86400)
    for actor in (tg1, tg2, zb1, oa1, oa2, web1):
        await run.ask(actor, f"Anh/chị thấy lúc mấy giờ? ({actor.code})")
    await asyncio.gather(
        *(run.answer(a, n) for n, a in enumerate((tg1, zb1, oa1, web1), start=1)),
        *(a.play(BROWSE) for a in (tg3, tg4, zb3, oa3, web2, web3)),
    )


async def quiet(run: Run) -> None:
    """Nine residents one after another, a second apart: each secret alone in time."""
    plan = [
        "telegram",
        "web",
        "zalo_bot",
        "telegram",
        "zalo_oa",
        "web",
        "telegram",
        "zalo_bot",
        "zalo_oa",
    ]
    assert await run.officer.login("canbo_dong") == 303
    actors: list[Actor] = []
    for n, channel in enumerate(plan, start=1):
        actors.append(actor := await run.actor(channel))
        await actor.play(ONBOARD)
        if n in (3, 7):
            await run.tip(actor, n, with_photo=n == 7)
        elif n == 5:
            await run.feedback(actor, n)
        if n in (4, 6):  # alone in time, like every secret here
            await run.unanswered(actor, NAMED if n == 4 else LOTTERY)
        await actor.play(BROWSE)
        if n == 8:  # an officer asks the first tipster, who answers, alone
            await run.ask(actors[2], "Có thêm chi tiết gì không?")
            await run.answer(actors[2], n)
        if n == 9:
            await run.draft(actor, n)
        await asyncio.sleep(1.0)


@pytest.mark.parametrize("workload", [busy, quiet], ids=["busy", "quiet"])
async def test_nothing_links_a_secret_to_its_sender(
    database_url: str, workload: Workload, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    quiet_libraries()
    async with running_stack(database_url, zalo=True) as stack, aiohttp.ClientSession() as http:
        db = stack.runtime.db
        await add_staff(db, "canbo_dong", "officer", [QN_DONG])
        async with db.session() as session:
            session.add(CommuneChat(commune_code=QN_DONG, channel="telegram", chat_id="990001"))
        stack.fake.add_chat(990001)
        run = Run(stack, http)
        try:
            await workload(run)
            findings = await _attacked(stack, run, caplog, quiet=workload is quiet)
        finally:
            await run.close()
        kinds = {s.kind for s in run.secrets}
        assert kinds == {"tip", "answer", "feedback", "question", "draft", "unanswered"}, kinds
        async with db.session() as session:  # they reached staff, masked
            kept = list((await session.execute(select(UnansweredQuestion))).scalars())
        assert {q.text for q in kept} >= {LOTTERY, "Tôi là [TÊN], số [SĐT], hỏi giá vé xem bóng đá"}
        assert not findings, "\n".join(map(str, findings))
        if db.is_sqlite:  # deleted rows are zeroed, not left in the file's free pages
            async with db.engine.connect() as connection:
                await connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            raw = await asyncio.to_thread(Path(db.engine.url.database or "").read_bytes)
            pins = [s.texts[1] for s in run.secrets if s.kind == "tip"]
            left = [pin for pin in pins if f"PIN: {pin}".encode() in raw]
            assert not left, f"PINs of {left} still in the SQLite file"
