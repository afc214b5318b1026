"""The tip queue and the tip page: who sees what, every action, the thread with the tipster,
and the defences against hostile tip text."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.core.residents import open_state
from bot.models import AuditEntry, CommuneChat, OutboxMessage, Resident, Tip, TipMessage, TipRelay
from bot.tips import workflow
from tests.admin.conftest import Panel
from tests.admin.panel import QN, QN_DONG, PanelClient, csrf_of, file_tip
from tests.harness import TelegramResident, run_dialogue

ACTIONS = {
    "status": {"status": "accepted", "outcome": ""},
    "assign": {"officer": ""},
    "transfer": {"commune": str(QN), "reason": "sai địa bàn"},
    "duplicate": {"original": ""},
    "share": {"commune": str(QN), "note": "để biết"},
    "note": {"text": "ghi chú"},
    "ask": {"text": "Anh/chị thấy lúc mấy giờ?"},
}


async def _tip(panel: Panel, **fields: object) -> Tip:
    return await file_tip(panel.stack.runtime.db, panel.stack.settings, **fields)


async def _reload(panel: Panel, tip: Tip) -> Tip:
    async with panel.stack.runtime.db.session() as session:
        found = await session.get(Tip, tip.id)
        assert found is not None
        return found


async def test_a_tip_is_only_in_its_communes_queue(panel: Panel) -> None:
    tip = await _tip(panel)
    triage = await _tip(panel, commune_code=None)
    for username, sees, sees_triage in (
        ("canbo_dong", True, False),
        ("canbo_qn", False, False),
        ("admin", True, True),
    ):
        client = await panel.logged_in(username)
        html = await client.page("/admin/tips")
        assert (tip.code in html, triage.code in html) == (sees, sees_triage), username
        await client.close()
    client = await panel.logged_in("tuyentruyen")
    assert (await client.get("/admin/tips"))[0] == 403
    assert tip.code not in await client.page("/admin/")
    await client.close()


@pytest.mark.parametrize("username", ["canbo_qn", "tuyentruyen"])
async def test_other_communes_and_propaganda_get_403_everywhere(
    panel: Panel, username: str
) -> None:
    tip = await _tip(panel)
    client = await panel.logged_in(username)
    try:
        assert (await client.get(f"/admin/tips/{tip.code}"))[0] == 403
        assert (await client.get(f"/admin/tips/{tip.code}/photos/1"))[0] == 403
        token = csrf_of(await client.page("/admin/account"))
        for action, data in ACTIONS.items():
            status, _loc, _ = await client.post(
                f"/admin/tips/{tip.code}/{action}", {**data, "csrf": token}
            )
            assert status == 403, action
        assert (await client.get(f"/admin/audit?tip={tip.code}"))[0] == (
            403 if username == "tuyentruyen" else 200
        )
    finally:
        await client.close()
    after = await _reload(panel, tip)
    assert (after.status, after.commune_code, after.duplicate_of) == ("new", QN_DONG, None)
    async with panel.stack.runtime.db.session() as session:
        messages = (await session.execute(select(TipMessage))).scalars().all()
        entries = (
            (await session.execute(select(AuditEntry).where(AuditEntry.tip_id == tip.id)))
            .scalars()
            .all()
        )
    assert messages == [] and entries == []


async def test_the_officer_asks_and_the_tipster_answers_through_the_bot(panel: Panel) -> None:
    stack = panel.stack
    tip = await _tip(panel, route=("telegram", "777001"))
    resident = TelegramResident(stack, 777001)
    await run_dialogue(resident, [("/start", "Chọn ngôn ngữ"), ("[🇻🇳 Tiếng Việt]", "xã/phường")])
    officer = await panel.logged_in("canbo_dong")
    try:
        status, location, _ = await officer.post(
            f"/admin/tips/{tip.code}/ask",
            {"text": "Xe máy màu gì? <b>không in đậm</b>"},
            csrf_from=f"/admin/tips/{tip.code}",
        )
        assert (status, location) == (303, f"/admin/tips/{tip.code}")
        [question] = await stack.fake.wait_sent(777001, 1, timeout=10, since=resident.seen)
        assert (
            tip.code in question["text"]
            and "Xe máy màu gì? <b>không in đậm</b>" in question["text"]
        )
        assert "Để trả lời, bấm" in question["text"]
        resident._new_messages()
        assert "Nhập câu trả lời" in await resident.step("[✍️ Trả lời]")
        reply = await resident.step("Màu đỏ, biển 77A-123.45")
        assert "đã được chuyển" in reply
        html = await officer.page(f"/admin/tips/{tip.code}")
        assert "Màu đỏ, biển" in html and "&lt;b&gt;không in đậm&lt;/b&gt;" in html
        assert '<mark class="pii"' in html  # the plate in the answer is flagged
    finally:
        await officer.close()
    after = await _reload(panel, tip)
    assert after.first_response_at is not None
    async with stack.runtime.db.session() as session:
        # the question and the thanks were private: nothing of them stays next to the chat id
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
    assert not [r for r in rows if tip.code in repr(r.payload) or "Xe máy" in repr(r.payload)]
    assert not [r for r in rows if "đã được chuyển" in repr(r.payload)]


async def test_answering_stores_no_marker_and_only_the_tipsters_chat_can(panel: Panel) -> None:
    """A question leaves nothing on the tipster's side (a state saying "awaiting an answer"
    would itself point at the tipster): "trả lời" finds the tip by opening the sealed routes.
    Another resident typing it is asked for a code, and their words never join the thread."""
    stack = panel.stack
    tip = await _tip(panel, route=("telegram", "777001"))
    onboarding = [
        ("/start", "Chọn ngôn ngữ"),
        ("[🇻🇳 Tiếng Việt]", "xã/phường nào"),
        ("[Bỏ qua]", "Menu chính"),
    ]
    for chat in (777001, 990001):  # both use the bot
        await run_dialogue(TelegramResident(stack, chat), onboarding)
    officer = await panel.logged_in("canbo_dong")
    page = f"/admin/tips/{tip.code}"
    await officer.post(f"{page}/ask", {"text": "Lúc mấy giờ?"}, csrf_from=page)
    # a question longer than one Zalo message is refused, not cut
    _status, location, _ = await officer.post(f"{page}/ask", {"text": "x" * 1600}, csrf_from=page)
    assert "error=" in location
    await officer.close()
    await stack.runtime.outbox.flush()
    async with stack.runtime.db.session() as session:
        states = (
            await session.execute(select(Resident.chat_id, Resident.state, Resident.state_data))
        ).all()
    opened = {
        chat: open_state(state, data, stack.runtime.core.sealer) for chat, state, data in states
    }
    assert {chat: state for chat, (state, _) in opened.items()} == {"777001": "", "990001": ""}
    assert not [d for _, d in opened.values() if "tip" in d]

    stranger = TelegramResident(stack, 990001)
    assert "gõ mã tin báo" in await stranger.step("trả lời")
    await stranger.step("Tôi là người báo tin, lúc 9 giờ.")
    tipster = TelegramResident(stack, 777001)
    tipster.seen = len(stack.fake.sent(777001))
    assert "Nhập câu trả lời" in await tipster.step("tra loi")
    assert "đã được chuyển" in await tipster.step("Khoảng 21 giờ.")
    async with stack.runtime.db.session() as session:
        thread = (
            await session.execute(
                select(TipMessage.kind, TipMessage.text).where(TipMessage.tip_id == tip.id)
            )
        ).all()
    assert [tuple(row) for row in thread] == [
        ("officer", "Lúc mấy giờ?"),
        ("tipster", "Khoảng 21 giờ."),
    ]


async def test_closing_needs_an_outcome_and_starts_forgetting_the_tipster(panel: Panel) -> None:
    tip = await _tip(panel)
    client = await panel.logged_in("canbo_dong")
    page = f"/admin/tips/{tip.code}"
    try:
        status, location, _ = await client.post(
            f"{page}/status", {"status": "resolved", "outcome": "  "}, csrf_from=page
        )
        assert status == 303 and "error=" in location
        assert "Đóng tin báo cần" in await client.page(location)
        assert (await _reload(panel, tip)).status == "new"
        await client.post(
            f"{page}/status",
            {"status": "resolved", "outcome": "Đã bắt quả tang, lập biên bản."},
            csrf_from=page,
        )
        closed = await _reload(panel, tip)
        assert closed.status == "resolved" and closed.closed_at is not None
        async with panel.stack.runtime.db.session() as session:
            relay = await session.get(TipRelay, tip.id)
        assert relay is not None and relay.delete_after is not None
        assert relay.delete_after - closed.closed_at == timedelta(days=90)
        # closed: no more questions to the tipster
        status, location, _ = await client.post(
            f"{page}/ask", {"text": "Còn gì nữa không?"}, csrf_from=page
        )
        assert "error=" in location
        # reopened: the way back is kept again
        await client.post(f"{page}/status", {"status": "verifying", "outcome": ""}, csrf_from=page)
        async with panel.stack.runtime.db.session() as session:
            relay = await session.get(TipRelay, tip.id)
        assert relay is not None and relay.delete_after is None
    finally:
        await client.close()


async def test_new_tips_and_transfers_alert_the_communes_chat_without_content(
    panel: Panel,
) -> None:
    stack = panel.stack
    async with stack.runtime.db.session() as session:
        session.add(CommuneChat(commune_code=QN_DONG, channel="telegram", chat_id="990001"))
        session.add(CommuneChat(commune_code=QN, channel="telegram", chat_id="990002"))
    stack.fake.add_chat(990002)
    tip = await _tip(panel, description="Nội dung bí mật về đường dây đánh bạc ở tổ 7.")
    await stack.runtime.outbox.sweep_once()
    [alert] = await stack.fake.wait_sent(990001, 1, timeout=10)
    assert tip.code in alert["text"] and "Quy Nhơn Đông" in alert["text"]
    assert "bí mật" not in alert["text"] and "đánh bạc" not in alert["text"]
    client = await panel.logged_in("canbo_dong")
    page = f"/admin/tips/{tip.code}"
    try:
        await client.post(
            f"{page}/transfer",
            {"commune": str(QN), "reason": "Xảy ra ở phường bên"},
            csrf_from=page,
        )
        assert (await client.get(page))[0] == 403  # no longer theirs
    finally:
        await client.close()
    await stack.runtime.outbox.sweep_once()
    [alert] = await stack.fake.wait_sent(990002, 1, timeout=10)
    assert tip.code in alert["text"] and "bí mật" not in alert["text"]
    other = await panel.logged_in("canbo_qn")
    assert tip.code in await other.page("/admin/tips")
    await other.close()
    async with stack.runtime.db.session() as session:
        left = (await session.execute(select(OutboxMessage))).scalars().all()
    assert left == []  # alerts are private rows too


async def test_info_copy_duplicate_assign_and_notes(panel: Panel) -> None:
    tip = await _tip(panel)
    first = await _tip(panel, description="Tin báo trước đó về cùng một điểm bán ma túy.")
    client = await panel.logged_in("canbo_dong")
    page = f"/admin/tips/{tip.code}"
    try:
        await client.post(
            f"{page}/share", {"commune": str(QN), "note": "để phối hợp"}, csrf_from=page
        )
        await client.post(f"{page}/duplicate", {"original": first.code.lower()}, csrf_from=page)
        html = await client.page(page)
        officer_id = html.split('name="officer">', 1)[1].split('value="')[2].split('"')[0]
        await client.post(f"{page}/assign", {"officer": officer_id}, csrf_from=page)
        # only officers of the tip's commune (and administrators) can be given the tip
        status, location, _ = await client.post(
            f"{page}/assign", {"officer": "9999"}, csrf_from=page
        )
        assert "error=" in location
        await client.post(
            f"{page}/note", {"text": "Ghi chú nội bộ: đã cử tổ xác minh."}, csrf_from=page
        )
        html = await client.page(page)
        assert first.code in html and "Ghi chú nội bộ" in html
        status, location, _ = await client.post(
            f"{page}/duplicate", {"original": tip.code}, csrf_from=page
        )
        assert "error=" in location  # not a duplicate of itself
    finally:
        await client.close()
    reader = await panel.logged_in("canbo_qn")
    try:
        html = await reader.page(page)  # an information-only copy: readable…
        assert "Bản gửi để biết" in html and "/ask" not in html
        status, _loc, _ = await reader.post(f"{page}/note", {"text": "x"}, csrf_from=page)
        assert status == 403  # …but not workable
    finally:
        await reader.close()
    after = await _reload(panel, tip)
    assert after.duplicate_of == first.id and after.assigned_to == int(officer_id)


async def test_the_duplicate_link_names_only_a_tip_the_officer_may_see(panel: Panel) -> None:
    original = await _tip(panel)  # Quy Nhơn Đông's
    tip = await _tip(panel, commune_code=QN, description="Cùng điểm bán ma túy, báo lần hai.")
    page = f"/admin/tips/{tip.code}"
    admin = await panel.logged_in("admin")
    try:
        await admin.post(f"{page}/duplicate", {"original": original.code}, csrf_from=page)
        assert original.code in await admin.page(page)
    finally:
        await admin.close()
    officer = await panel.logged_in("canbo_qn")
    try:
        # the page, its history and the audit log say it is a duplicate, not of which tip
        for path in (page, "/admin/audit"):
            html = await officer.page(path)
            assert original.code not in html, path
            assert "một tin báo khác" in html, path
        # once Quy Nhơn Đông copies the original to Quy Nhơn, the officer may read it
        shared = await panel.logged_in("canbo_dong")
        await shared.post(
            f"/admin/tips/{original.code}/share",
            {"commune": str(QN), "note": "cùng vụ việc"},
            csrf_from=f"/admin/tips/{original.code}",
        )
        await shared.close()
        html = await officer.page(page)
        assert f'<a href="/admin/tips/{original.code}">' in html
        assert "một tin báo khác" not in html
    finally:
        await officer.close()


async def test_search_ignores_diacritics_and_filters_combine(panel: Panel) -> None:
    drugs = await _tip(panel, description="Điểm bán ma túy đá ở Đống Đa, có người canh.")
    urgent = await _tip(
        panel, category="gambling", urgent=True, description="Sòng bạc xóc đĩa đang diễn ra."
    )
    async with panel.stack.runtime.db.session() as session:
        await session.execute(
            update(Tip)
            .where(Tip.id == urgent.id)
            .values(first_response_due=drugs.created_at - timedelta(hours=1))
        )
    client = await panel.logged_in("canbo_dong")
    try:
        for query, expected in (
            ("ma tuy da", {drugs.code}),
            ("DONG DA", {drugs.code}),
            ("xoc dia", {urgent.code}),
            ("Sòng BẠC", {urgent.code}),
            (drugs.code.lower(), {drugs.code}),
            ("100%_", set()),
        ):
            html = await client.page(f"/admin/tips?q={query}")
            found = {t.code for t in (drugs, urgent) if t.code in html}
            assert found == expected, query
        assert urgent.code in await client.page("/admin/tips?overdue=1")
        assert drugs.code not in await client.page("/admin/tips?overdue=1")
        html = await client.page("/admin/tips?urgent=1&category=gambling&sort=due")
        assert urgent.code in html and drugs.code not in html
        assert drugs.code not in await client.page("/admin/tips?status=resolved")
        assert (await client.get("/admin/tips?status=<x>&page=-3&sort=%27"))[0] == 200
    finally:
        await client.close()


async def test_hostile_tip_text_is_shown_as_plain_text(panel: Panel) -> None:
    xss = '<script>alert("x")</script><img src=x onerror=alert(1)>"\'><b>'
    sqli = "'; DROP TABLE tip; -- và \" OR 1=1 --"
    tip = await _tip(panel, description=f"{xss} {sqli}", place_detail="<iframe src=//evil>")
    client = await panel.logged_in("canbo_dong")
    try:
        html = await client.page(f"/admin/tips/{tip.code}")
        assert "<script>alert" not in html and "<img src=x" not in html and "<iframe" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
        assert "&#39;; DROP TABLE tip; -- và &#34; OR 1=1 --" in html
        search = await client.page("/admin/tips?q=%27%3B+DROP+TABLE")
        assert tip.code in search  # found by the injection text itself, as plain text
        await client.post(
            f"/admin/tips/{tip.code}/note", {"text": sqli}, csrf_from=f"/admin/tips/{tip.code}"
        )
    finally:
        await client.close()
    async with panel.stack.runtime.db.session() as session:
        assert (await session.get(Tip, tip.id)) is not None
        notes = (await session.execute(select(TipMessage.text))).scalars().all()
    assert notes == [sqli.strip()]


async def test_identifiers_in_the_tip_are_flagged(panel: Panel) -> None:
    tip = await _tip(
        panel, description="Đối tượng dùng số 0912 345 678, CCCD 052095001234, rất hung hãn."
    )
    client = await panel.logged_in("canbo_dong")
    try:
        html = await client.page(f"/admin/tips/{tip.code}")
    finally:
        await client.close()
    assert '<mark class="pii" title="' in html
    assert ">0912 345 678</mark>" in html and ">052095001234</mark>" in html


async def test_every_view_and_change_is_audited(panel: Panel) -> None:
    tip = await _tip(panel)
    elsewhere = await _tip(panel, commune_code=QN)
    client = await panel.logged_in("canbo_dong")
    page = f"/admin/tips/{tip.code}"
    await client.page(page)
    await client.post(f"{page}/note", {"text": "đã xem"}, csrf_from=page)
    await client.post(f"{page}/status", {"status": "accepted", "outcome": ""}, csrf_from=page)
    html = await client.page("/admin/audit")
    await client.close()
    assert tip.code in html and elsewhere.code not in html
    async with panel.stack.runtime.db.session() as session:
        actions = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.username)
                .where(AuditEntry.tip_id == tip.id)
                .order_by(AuditEntry.id)
            )
        ).all()
    assert [a for a, _ in actions] == ["view", "view", "note", "view", "status"]
    assert {u for _, u in actions} == {"canbo_dong"}
    admin = await panel.logged_in("admin")
    html = await admin.page("/admin/audit")
    await admin.close()
    assert "canbo_dong" in html


async def test_overdue_tips_are_escalated_once(panel: Panel) -> None:
    stack = panel.stack
    tip = await _tip(panel)
    answered = await _tip(panel)
    async with stack.runtime.db.session() as session:
        await session.execute(
            update(Tip).values(first_response_due=tip.created_at - timedelta(minutes=1))
        )
        await session.execute(
            update(Tip).where(Tip.id == answered.id).values(first_response_at=tip.created_at)
        )
    settings = stack.settings.model_copy(update={"staff_alert_telegram_chat_id": "990001"})
    async with stack.runtime.db.session() as session:
        escalated = await workflow.escalate_overdue(session, settings)
    async with stack.runtime.db.session() as session:
        again = await workflow.escalate_overdue(session, settings)
    assert [t.code for t in escalated] == [tip.code] and again == []
    await stack.runtime.outbox.sweep_once()
    [alert] = await stack.fake.wait_sent(990001, 1, timeout=10)
    assert tip.code in alert["text"] and answered.code not in alert["text"]
    client = await panel.logged_in("canbo_dong")
    html = await client.page("/admin/tips")
    await client.close()
    assert 'class="overdue' in html


async def test_administrators_manage_accounts(panel: Panel) -> None:
    admin = await panel.logged_in("admin")
    try:
        status, location, _ = await admin.post(
            "/admin/users/new",
            {
                "username": "canbo_moi",
                "display_name": "Cán bộ mới",
                "role": "officer",
                "communes": str(QN),
                "password": "mật-khẩu-cán-bộ-mới",
                "active": "1",
            },
        )
        assert (status, location) == (303, "/admin/users")
        status, _loc, _body = await admin.post(
            "/admin/users/new",
            {"username": "x y", "role": "officer", "password": "short", "active": "1"},
        )
        assert status == 400
        newcomer = PanelClient.open(panel.url)
        assert await newcomer.login("canbo_moi", "mật-khẩu-cán-bộ-mới") == 303
        html = await admin.page("/admin/users")
        user_id = html.split('href="/admin/users/', 2)[1].split('"')[0]
        for line in html.split("<tr"):
            if "canbo_moi" in line:
                user_id = line.split('href="/admin/users/')[1].split('"')[0]
        await admin.post(
            f"/admin/users/{user_id}",
            {"display_name": "Cán bộ mới", "role": "officer", "communes": str(QN)},
        )  # no "active": deactivated
        assert (await newcomer.get("/admin/"))[0] == 303  # logged out at once
        assert await newcomer.login("canbo_moi", "mật-khẩu-cán-bộ-mới") == 401
        await newcomer.close()
    finally:
        await admin.close()
    officer = await panel.logged_in("canbo_dong")
    assert (await officer.get("/admin/users"))[0] == 403
    assert (await officer.get("/admin/communes"))[0] == 403
    await officer.close()


async def test_administrators_set_each_communes_alert_chat(panel: Panel) -> None:
    admin = await panel.logged_in("admin")
    try:
        page = "/admin/communes"
        chat = {"commune": str(QN), "channel": "telegram", "chat_id": "-100123"}
        assert (await admin.post(page, chat, csrf_from=page))[:2] == (303, f"{page}#c{QN}")
        bad = {**chat, "chat_id": "no spaces allowed"}
        status, location, _ = await admin.post(page, bad, csrf_from=page)
        assert status == 303 and "error=" in location
        assert "Mã nhóm chat không hợp lệ." in await admin.page(location)
        assert (await admin.post(page, {**chat, "commune": "1"}, csrf_from=page))[0] == 400
        async with panel.stack.runtime.db.session() as session:
            row = await session.get(CommuneChat, QN)
            assert row is not None and (row.channel, row.chat_id) == ("telegram", "-100123")
        await admin.post(page, {**chat, "chat_id": ""}, csrf_from=page)
        async with panel.stack.runtime.db.session() as session:
            assert await session.get(CommuneChat, QN) is None
            details = (
                await session.execute(
                    select(AuditEntry.detail).where(AuditEntry.action == "alert_chat")
                )
            ).scalars()
            assert list(details) == [f"{QN}: telegram", f"{QN}: —"]
    finally:
        await admin.close()


async def test_the_tipster_answers_from_another_account_with_code_and_pin(panel: Panel) -> None:
    from tests.handlers.test_tip_intake import TIP_FLOW

    stack = panel.stack
    author = TelegramResident(stack, 777001)
    await run_dialogue(author, TIP_FLOW)
    confirmation = author.last[0]["text"]
    code = confirmation.split("Mã tin báo: ")[1].split()[0]
    pin = confirmation.split("Mã PIN: ")[1].split()[0]
    officer = await panel.logged_in("canbo_dong")
    page = f"/admin/tips/{code}"
    await officer.post(f"{page}/ask", {"text": "Có ai khác chứng kiến không?"}, csrf_from=page)
    other = TelegramResident(stack, 990001)  # the tipster's other phone
    await run_dialogue(
        other,
        [
            ("/start", "Chọn ngôn ngữ"),
            ("[🇻🇳 Tiếng Việt]", "xã/phường nào"),
            ("[Bỏ qua]", "Menu chính"),
            ("[🚨 Tố giác tội phạm]", "ẩn danh"),
            ("[🔎 Theo dõi tin báo]", "gõ mã tin báo"),
            (code, "mã PIN"),
            (pin, ["Có ai khác chứng kiến không?", "nhập câu trả lời"]),
            ("Có, chủ quán nước đối diện.", "đã được chuyển"),
        ],
    )
    html = await officer.page(page)
    await officer.close()
    assert "Có, chủ quán nước đối diện." in html
