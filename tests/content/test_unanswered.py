"""Unanswered questions: kept masked, to the day, one row per day and question with a count,
nothing for an empty text; grouped by similarity for staff; attached to an item (which then
answers it), dismissed or resolved through actions that audit; deleted after 30 days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import col

from bot.audit import AuditAction
from bot.db import Database
from bot.housekeeping import prune
from bot.models import AuditEntry, ContentItem, StaffUser, UnansweredQuestion, local_day, utcnow
from bot.staff import create_user
from content import answers, store, unanswered
from content.library import load_files, load_library
from content.store import LiveLibrary
from content.unanswered import (
    RETENTION_DAYS,
    UnansweredError,
    attach,
    dismiss,
    groups,
    question_key,
    record_unanswered,
    resolve,
)

GOLD = "Giá vàng hôm nay bao nhiêu?"


async def rows(db: Database) -> list[UnansweredQuestion]:
    async with db.session() as session:
        found = await session.execute(
            select(UnansweredQuestion).order_by(col(UnansweredQuestion.key))
        )
        return list(found.scalars())


async def record(db: Database, *texts: str, language: str = "vi") -> None:
    for text in texts:
        async with db.session() as session:
            await record_unanswered(session, text, language)


async def staff(db: Database) -> StaffUser:
    async with db.session() as session:
        return await create_user(session, "tuyentruyen", "mật-khẩu-đủ-dài-2026", "propaganda")


async def test_a_question_is_kept_masked_to_the_day_with_a_count(db: Database) -> None:
    await record(db, GOLD, "gia vang hom nay bao nhieu", "  giá   VÀNG hôm nay bao nhiêu ")
    await record(
        db,
        "Tôi là Nguyễn Văn An, sđt 0912 345 678, CCCD 079123456789, hỏi vụ anh Tuấn cho vay",
        language="en",
    )
    kept = await rows(db)
    assert len(kept) == 2
    gold = next(r for r in kept if "vang" in r.key)
    assert (gold.text, gold.asked, gold.language, gold.day) == (GOLD, 3, "vi", local_day())
    other = next(r for r in kept if r is not gold)
    assert other.text == ("Tôi là [TÊN], sđt [SĐT], CCCD [CCCD], hỏi vụ anh [TÊN] cho vay"), (
        other.text
    )
    assert other.language == "en"
    for secret in ("Nguyễn", "0912", "079123456789", "Tuấn", "An,"):
        assert secret not in other.text and secret.lower() not in other.key
    # what the row holds: no resident, chat, channel, commune, and no time
    assert set(UnansweredQuestion.__table__.columns.keys()) == {  # type: ignore[attr-defined]
        "id",
        "day",
        "key",
        "text",
        "language",
        "asked",
    }
    assert isinstance(gold.day, date) and gold.id is not None and gold.id > 2**20  # random


@pytest.mark.parametrize("text", ["", "   ", "\n", "👍", "0912345678", "12345", "?!"])
async def test_nothing_is_kept_without_a_word(db: Database, text: str) -> None:
    await record(db, text)
    assert await rows(db) == []


def test_the_key_folds_diacritics_case_and_teen_code() -> None:
    assert question_key(GOLD) == question_key("gia vang hom nay bao nhieu")
    assert question_key("") == ""


async def test_similar_questions_are_one_group_with_counts_and_the_latest_day(
    db: Database,
) -> None:
    await record(db, GOLD, GOLD, "giá vàng hôm nay", "gia vàng hôm nya bao nhiêu")
    await record(db, "Xổ số miền Nam hôm nay", "xo so mien nam hom nay")
    await record(db, "thời tiết ngày mai thế nào")
    async with db.session() as session:  # an older day's row of the same question
        session.add(
            UnansweredQuestion(
                day=local_day() - timedelta(days=3),
                key=question_key("giá vàng hôm nay"),
                text="giá vàng hôm nay",
                asked=4,
            )
        )
        session.add(  # past the 30 days: not listed
            UnansweredQuestion(
                day=local_day() - timedelta(days=RETENTION_DAYS + 1), key="cu", text="cũ"
            )
        )
    async with db.session() as session:
        found, left_out = await groups(session)
    assert left_out == 0
    assert [(g.text, g.asked) for g in found] == [
        ("giá vàng hôm nay", 8),
        ("Xổ số miền Nam hôm nay", 2),
        ("thời tiết ngày mai thế nào", 1),
    ]
    gold = found[0]
    assert gold.last_day == local_day() and len(gold.ids) == 4
    assert dict(gold.wordings)[GOLD] == 2


async def test_housekeeping_deletes_questions_after_30_days(db: Database) -> None:
    today = local_day()
    async with db.session() as session:
        for age in (0, RETENTION_DAYS, RETENTION_DAYS + 1, 90):
            day = today - timedelta(days=age)
            session.add(UnansweredQuestion(day=day, key=f"q {age}", text=f"q {age}"))
    removed = await prune(db)
    assert removed["unanswered_question"] == 2
    assert sorted(r.key for r in await rows(db)) == ["q 0", f"q {RETENTION_DAYS}"]
    # tomorrow, the 30-day-old one goes too
    later = await prune(db, utcnow() + timedelta(days=1))
    assert later["unanswered_question"] == 1


async def audit_actions(db: Database) -> list[tuple[str, str]]:
    async with db.session() as session:
        found = await session.execute(
            select(col(AuditEntry.action), col(AuditEntry.detail)).order_by(col(AuditEntry.id))
        )
        return [(a, d) for a, d in found.all() if not a.startswith("account")]


async def test_attach_adds_an_example_question_and_the_item_answers_it(db: Database) -> None:
    question = "Con tôi bị dụ vào nhóm kín làm nhiệm vụ like video được không?"
    live = LiveLibrary(db)
    await live.start()
    try:
        item_id = "lua-dao-viec-nhe-luong-cao"
        assert item_id in load_library().items
        before = answers.answer(question)
        await record(db, question)
        user = await staff(db)
        async with db.session() as session:
            [group], _ = await groups(session)
            await attach(session, user, group.ids, item_id, group.text, "vi", "thêm câu hỏi")
        await store.changed(db)
        assert not before or before[0].score < answers.CONFIDENT, before
        first = answers.answer(question)[0]
        assert first.id == item_id and first.score >= answers.CONFIDENT
        async with db.session() as session:
            row = await session.get(ContentItem, item_id)
            assert row is not None and question in row.data["questions"]["vi"]
            assert row.version == 2
        assert await rows(db) == []
        assert [a for a, _ in await audit_actions(db)] == [
            AuditAction.CONTENT_EDIT,
            AuditAction.QUESTION_ATTACH,
        ]
        # the same question twice is not added twice; gone rows are refused
        await record(db, question.upper())
        async with db.session() as session:
            [group], _ = await groups(session)
            await attach(session, user, group.ids, item_id, question.upper(), "en")
        async with db.session() as session:
            row = await session.get(ContentItem, item_id)
            assert row is not None and row.version == 2
            with pytest.raises(UnansweredError):
                await attach(session, user, group.ids, item_id, question, "vi")
    finally:
        live.stop()


@pytest.mark.parametrize(
    ("item_id", "question"),
    [("no-such-item", "hỏi gì đó"), (None, ""), (None, "x" * 201), (None, "a\u200bb")],
)
async def test_attach_refuses_what_it_cannot_do(
    db: Database, item_id: str | None, question: str
) -> None:
    item_id = item_id or next(iter(load_files().items))
    await record(db, "một câu hỏi chưa có câu trả lời")
    user = await staff(db)
    async with db.session() as session:
        await store.seed(session, load_files())
    async with db.session() as session:
        [group], _ = await groups(session)
        with pytest.raises(UnansweredError):
            async with session.begin_nested():
                await attach(session, user, group.ids, item_id, question, "vi")
    assert len(await rows(db)) == 1


async def test_dismiss_and_resolve_delete_the_rows_and_audit_without_the_text(
    db: Database,
) -> None:
    await record(db, "xổ số hôm nay", "xổ số hôm nay", "thời tiết mai")
    user = await staff(db)
    async with db.session() as session:
        found, _ = await groups(session)
        lottery = next(g for g in found if "Xổ" in g.text or "xổ" in g.text)
        weather = next(g for g in found if g is not lottery)
        assert await dismiss(session, user, lottery.ids) == 1
        assert await resolve(session, user, weather.ids, "thoi-tiet") == 1
        with pytest.raises(UnansweredError):
            await dismiss(session, user, lottery.ids)
    assert await rows(db) == []
    entries = await audit_actions(db)
    assert entries == [
        (AuditAction.QUESTION_DISMISS, "1 rows, asked 2 times"),
        (AuditAction.QUESTION_ATTACH, "new item thoi-tiet (1 rows, asked 1 times)"),
    ]
    assert unanswered.MAX_KEYS > 100
