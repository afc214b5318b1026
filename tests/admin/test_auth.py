"""Logging in and the panel's defences: throttling, sessions, CSRF, headers, TOTP, and the
audit of failed logins, lock-outs and 403s."""

from __future__ import annotations

import asyncio
import io
import statistics
import time

import pyotp
from sqlalchemy import func, select
from yarl import URL

from admin.throttle import AddressThrottle
from bot.models import AuditEntry, StaffSession, StaffUser
from bot.staff.security_log import AuditBudget
from tests.admin.conftest import Panel
from tests.admin.panel import PASSWORD, PanelClient, csrf_of, file_tip


async def test_pages_need_a_login(panel: Panel) -> None:
    client = panel.client()
    try:
        for path in ("/admin/", "/admin/tips", "/admin/users", "/admin/audit"):
            status, _ = await client.get(path)
            assert status == 303
        status, _loc, _ = await client.post("/admin/logout", {"csrf": "x"})
        assert status == 403
    finally:
        await client.close()


async def test_login_and_logout(panel: Panel) -> None:
    client = panel.client()
    try:
        assert await client.login("canbo_dong", "wrong password!") == 401
        assert await client.login("CANBO_DONG ") == 303  # names are case-insensitive
        html = await client.page("/admin/")
        assert "Canbo_Dong" in html
        status, location, _ = await client.post("/admin/logout", {}, csrf_from="/admin/")
        assert (status, location) == (303, "/admin/login")
        assert (await client.get("/admin/tips"))[0] == 303
    finally:
        await client.close()


async def test_session_id_changes_at_login_and_only_its_digest_is_stored(panel: Panel) -> None:
    client = panel.client()
    try:
        # an attacker plants a session id before the victim logs in (session fixation)
        client.http.cookie_jar.update_cookies(
            {"antq_staff": "planted-by-attacker"}, response_url=URL(client.base + "/")
        )
        assert await client.login("canbo_dong") == 303
        first = client.cookie("antq_staff")
        assert first and first != "planted-by-attacker"
        other = panel.client()
        assert await other.login("canbo_dong") == 303
        assert other.cookie("antq_staff") not in (None, first)
        await other.close()
        async with panel.stack.runtime.db.session() as session:
            ids = (await session.execute(select(StaffSession.id))).scalars().all()
        assert first not in ids and len(ids) == 2  # only SHA-256 digests
    finally:
        await client.close()


async def test_cookie_flags(panel: Panel) -> None:
    client = panel.client()
    try:
        data = {"username": "canbo_dong", "password": PASSWORD}
        data["csrf"] = csrf_of(await client.page("/admin/login"))
        async with client.http.post(
            client.base + "/admin/login", data=data, allow_redirects=False
        ) as response:
            cookie = response.headers.getall("Set-Cookie")
        session_cookie = next(c for c in cookie if c.startswith("antq_staff="))
        assert "HttpOnly" in session_cookie and "SameSite=Strict" in session_cookie
        assert "Path=/" in session_cookie
    finally:
        await client.close()


async def test_secure_cookie_with_a_https_public_url(database_url: str) -> None:
    from tests.admin.panel import add_staff
    from tests.harness import running_stack

    async with running_stack(database_url, public_url="https://antq.example.vn") as stack:
        await add_staff(stack.runtime.db, "admin", "admin")
        client = PanelClient.open(stack.runtime.url)
        try:
            data = {"username": "admin", "password": PASSWORD}
            data["csrf"] = csrf_of(await client.page("/admin/login"))
            # the login form's cookie is Secure too: a client on plain http would not send
            # it back, so it is sent by hand here (the proxy in front speaks https)
            async with client.http.post(
                client.base + "/admin/login",
                data=data,
                allow_redirects=False,
                headers={"Cookie": f"antq_login={data['csrf']}"},
            ) as response:
                cookies = response.headers.getall("Set-Cookie")
            session_cookie = next(c for c in cookies if c.startswith("__Host-antq_staff="))
            assert "Secure" in session_cookie and "HttpOnly" in session_cookie
        finally:
            await client.close()


async def test_login_guessing_locks_the_account(panel: Panel) -> None:
    client = panel.client()
    try:
        for _ in range(5):
            assert await client.login("canbo_dong", "guess-guess-guess") == 401
        # now even the right password is refused, for 15 minutes (answered like a wrong one)
        assert await client.login("canbo_dong") == 401
        async with panel.stack.runtime.db.session() as session:
            user = (
                await session.execute(select(StaffUser).where(StaffUser.username == "canbo_dong"))
            ).scalar_one()
        assert user.locked_until is not None
        # other accounts are not affected
        assert await client.login("canbo_qn") == 303
    finally:
        await client.close()


async def test_one_address_guessing_many_names_is_throttled(panel: Panel) -> None:
    client = panel.client()
    try:
        statuses = [await client.login(f"nobody{i}", "guess-guess-guess") for i in range(21)]
        assert statuses[:20] == [401] * 20
        assert statuses[20] == 429
        assert await client.login("canbo_qn") == 429  # from this address, for a while
    finally:
        await client.close()


async def _answers(panel: Panel, name: str, passwords: list[str]) -> list[tuple[int, str]]:
    """What a client sees for each login with `name`: the status and the page, with the
    name itself and the per-client token taken out."""
    client = panel.client()
    try:
        token = csrf_of(await client.page("/admin/login"))
        answers = []
        for password in passwords:
            status, _loc, body = await client.post(
                "/admin/login",
                {"username": name, "password": password, "totp": "", "csrf": token},
            )
            answers.append((status, body.replace(name, "NAME").replace(token, "TOKEN")))
        return answers
    finally:
        await client.close()


async def test_unknown_and_existing_names_get_the_same_answers(panel: Panel) -> None:
    # five wrong passwords, then the account's real one: refused, as the account is locked
    passwords = ["guess-guess-guess"] * 5 + [PASSWORD] * 2
    existing = await _answers(panel, "canbo_dong", passwords)
    unknown = await _answers(panel, "khong_co_ai", passwords)
    assert existing == unknown
    assert {status for status, _ in existing} == {401}
    assert "bị khóa 15 phút" in existing[-1][1]  # and the page says how locking works


async def test_a_locked_account_costs_the_same_time_as_an_unknown_name(panel: Panel) -> None:
    client = panel.client()
    try:
        for _ in range(5):
            assert await client.login("canbo_dong", "guess-guess-guess") == 401
        token = csrf_of(await client.page("/admin/login"))

        async def timed(name: str) -> float:
            started = time.perf_counter()
            status, _loc, _ = await client.post(
                "/admin/login",
                {"username": name, "password": "guess-guess-guess", "totp": "", "csrf": token},
            )
            assert status == 401
            return time.perf_counter() - started

        locked, unknown = [], []
        for _ in range(5):  # interleaved, so a busy moment of the machine hits both
            locked.append(await timed("canbo_dong"))
            unknown.append(await timed("khong_co_ai"))
        # both check one argon2 hash (about 0.1 s); without it the locked one took a tenth
        assert statistics.median(locked) > statistics.median(unknown) / 2, (locked, unknown)
    finally:
        await client.close()


def test_address_throttle_forgets_and_stays_bounded() -> None:
    throttle = AddressThrottle(limit=2, window=0.0, max_addresses=10)
    for i in range(100):
        throttle.failed(f"10.0.0.{i}")
    assert len(throttle._failures) <= 10
    assert not throttle.blocked("10.0.0.99")  # a window of 0 s: already forgotten


async def test_forms_without_or_with_a_forged_csrf_token_are_refused(panel: Panel) -> None:
    client = await panel.logged_in("admin")
    try:
        for extra in ({}, {"csrf": "forged"}, {"csrf": ""}):  # missing, forged, empty
            status, _loc, _body = await _post_raw(
                client, "/admin/account", {"language": "en", **extra}
            )
            assert status == 403, extra
        # a login form posted without its cookie's token
        fresh = panel.client()
        status, _loc, _ = await fresh.post(
            "/admin/login", {"username": "admin", "password": PASSWORD, "csrf": "x"}
        )
        assert status == 403
        await fresh.close()
        # another site's form, even with a valid token, is refused by its Origin
        token = csrf_of(await client.page("/admin/account"))
        status, _loc, _ = await client.post(
            "/admin/account",
            {"language": "en", "csrf": token},
            headers={"Origin": "https://evil.example"},
        )
        assert status == 403
        async with panel.stack.runtime.db.session() as session:
            user = (
                await session.execute(select(StaffUser).where(StaffUser.username == "admin"))
            ).scalar_one()
        assert user.language == "vi"  # nothing was saved
    finally:
        await client.close()


async def _post_raw(client: PanelClient, path: str, data: dict[str, str]) -> tuple[int, str, str]:
    async with client.http.post(client.base + path, data=data, allow_redirects=False) as r:
        return r.status, r.headers.get("Location", ""), await r.text()


async def test_security_headers(panel: Panel) -> None:
    client = panel.client()
    try:
        async with client.http.get(client.base + "/admin/login") as response:
            headers = response.headers
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cache-Control"] == "no-store"
    finally:
        await client.close()


def _secret_of(html: str) -> str:
    return html.split('name="secret" value="', 1)[1].split('"', 1)[0]


async def _turn_on_two_step_login(panel: Panel, username: str) -> tuple[str, str]:
    """Two-step login set up for `username`; returns its secret and the code used for it."""
    client = await panel.logged_in(username)
    try:
        secret = _secret_of(await client.page("/admin/account/totp"))
        code = pyotp.TOTP(secret).now()
        status, _loc, body = await client.post(
            "/admin/account/totp",
            {"secret": secret, "code": code, "password": PASSWORD},
            csrf_from="/admin/account",
        )
        assert status == 200 and "Đã bật đăng nhập hai bước." in body
        return secret, code
    finally:
        await client.close()


def _next_code(secret: str) -> str:
    """The code of the next 30 s step, which the server accepts already (clock drift)."""
    return pyotp.TOTP(secret).at(time.time() + 30)


async def test_two_step_login(panel: Panel) -> None:
    client = await panel.logged_in("canbo_dong")
    try:
        html = await client.page("/admin/account/totp")
        assert "<svg" in html
        secret = _secret_of(html)
        status, _loc, body = await client.post(
            "/admin/account/totp",
            {"secret": secret, "code": "000000", "password": PASSWORD},
            csrf_from="/admin/account/totp",
        )
        assert status == 200 and 'role="alert"' in body  # a wrong code turns nothing on
        setup_code = pyotp.TOTP(secret).now()
        status, _loc, body = await client.post(
            "/admin/account/totp",
            {"secret": secret, "code": setup_code, "password": PASSWORD},
            csrf_from="/admin/account",
        )
        assert status == 200
    finally:
        await client.close()
    fresh = panel.client()
    try:
        assert await fresh.login("canbo_dong") == 401  # the password alone is not enough
        assert await fresh.login("canbo_dong", totp="123456") in (401,)
        assert await fresh.login("canbo_dong", totp=setup_code) == 401  # used to set it up
        assert await fresh.login("canbo_dong", totp=_next_code(secret)) == 303
    finally:
        await fresh.close()


async def test_a_two_step_code_logs_in_once(panel: Panel) -> None:
    secret, _setup = await _turn_on_two_step_login(panel, "canbo_dong")
    code = _next_code(secret)
    first, second = panel.client(), panel.client()
    try:
        assert await first.login("canbo_dong", totp=code) == 303
        # seen over a shoulder, or kept by a proxy: the same code again is refused
        assert await second.login("canbo_dong", totp=code) == 401
    finally:
        await first.close()
        await second.close()
    async with panel.stack.runtime.db.session() as session:
        reasons = (
            await session.execute(
                select(AuditEntry.detail).where(AuditEntry.action == "login_failed")
            )
        ).scalars()
        assert ["two-step code already used" in r for r in reasons] == [True]


async def test_two_logins_racing_with_one_code_let_one_in(panel: Panel) -> None:
    secret, _setup = await _turn_on_two_step_login(panel, "canbo_qn")
    code = _next_code(secret)
    clients = [panel.client(), panel.client()]
    try:
        tokens = [csrf_of(await c.page("/admin/login")) for c in clients]
        data = {"username": "canbo_qn", "password": PASSWORD, "totp": code}
        results = await asyncio.gather(
            *(
                c.post("/admin/login", {**data, "csrf": t})
                for c, t in zip(clients, tokens, strict=True)
            )
        )
        assert sorted(status for status, _loc, _ in results) == [303, 401]
    finally:
        for c in clients:
            await c.close()


async def test_turning_on_two_step_login_needs_the_password(panel: Panel) -> None:
    client = await panel.logged_in("canbo_dong")
    try:
        secret = _secret_of(await client.page("/admin/account/totp"))
        code = pyotp.TOTP(secret).now()
        # whoever holds a stolen session must not lock the owner out behind their own phone
        status, _loc, body = await client.post(
            "/admin/account/totp", {"secret": secret, "code": code}, csrf_from="/admin/account"
        )
        assert status == 200 and _secret_of(body) == secret  # the same QR code still works
        assert 'aria-invalid="true" aria-describedby="err-password"' in body
        assert "Nhập mật khẩu hiện tại để bật đăng nhập hai bước." in body
        status, _loc, body = await client.post(
            "/admin/account/totp",
            {"secret": secret, "code": code, "password": "không phải mật khẩu"},
            csrf_from="/admin/account",
        )
        assert status == 200 and "Mật khẩu không đúng." in body
        async with panel.stack.runtime.db.session() as session:
            user = (
                await session.execute(select(StaffUser).where(StaffUser.username == "canbo_dong"))
            ).scalar_one()
            assert (user.totp_secret, user.failed_logins) == (None, 1)  # a failure counted
        status, _loc, body = await client.post(
            "/admin/account/totp",
            {"secret": secret, "code": code, "password": PASSWORD},
            csrf_from="/admin/account",
        )
        assert status == 200 and "Đã bật đăng nhập hai bước." in body
    finally:
        await client.close()
    async with panel.stack.runtime.db.session() as session:
        user = (
            await session.execute(select(StaffUser).where(StaffUser.username == "canbo_dong"))
        ).scalar_one()
        assert user.totp_secret == secret


async def test_failed_logins_lock_outs_and_403s_are_audited(panel: Panel) -> None:
    guess = "đoán-mật-khẩu-2026"
    client = panel.client()
    try:
        for _ in range(5):
            assert await client.login("canbo_dong", guess) == 401
        assert await client.login("khong_co_ai", guess) == 401
        status, _loc, _ = await client.post("/admin/logout", {"csrf": "x"})  # no session
        assert status == 403
    finally:
        await client.close()
    tip = await file_tip(panel.stack.runtime.db, panel.stack.settings)  # Quy Nhơn Đông's
    officer = await panel.logged_in("canbo_qn")
    try:
        assert (await officer.get(f"/admin/tips/{tip.code}"))[0] == 403
    finally:
        await officer.close()
    async with panel.stack.runtime.db.session() as session:
        entries = (await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars()
        rows = [(e.action, e.username, e.user_id is not None, e.detail) for e in entries]
        accounts = (await session.execute(select(func.count()).select_from(StaffUser))).scalar()
    assert accounts == 4  # the unknown name made no row of its own
    failed = [(name, known) for action, name, known, _ in rows if action == "login_failed"]
    assert failed == [("canbo_dong", True)] * 5 + [("khong_co_ai", False)]
    assert [(a, n) for a, n, _k, _d in rows if a == "account_locked"] == [
        ("account_locked", "canbo_dong")
    ]
    forbidden = [
        (name, known, detail) for action, name, known, detail in rows if action == "forbidden"
    ]
    assert [(name, known) for name, known, _ in forbidden] == [("—", False), ("canbo_qn", True)]
    assert "/admin/logout" in forbidden[0][2] and f"/admin/tips/{tip.code}" in forbidden[1][2]
    for action, _name, _known, detail in rows:
        assert guess not in detail and PASSWORD not in detail, (action, detail)
        if action != "login":
            assert "address 127.0.0.1" in detail, (action, detail)
    admin = await panel.logged_in("admin")
    try:
        html = await admin.page("/admin/audit")
        assert "account_locked" in html and "khong_co_ai" in html and "forbidden" in html
    finally:
        await admin.close()


async def test_clients_without_a_session_cannot_grow_the_audit_log_at_will(panel: Panel) -> None:
    budget = AuditBudget().limit
    client = panel.client()
    try:
        for _ in range(budget + 10):
            status, _loc, _ = await client.post("/admin/logout", {"csrf": "x"})
            assert status == 403
    finally:
        await client.close()
    # a logged-in account's 403s name it, and are written whatever the budget
    tip = await file_tip(panel.stack.runtime.db, panel.stack.settings)
    officer = await panel.logged_in("canbo_qn")
    try:
        assert (await officer.get(f"/admin/tips/{tip.code}"))[0] == 403
    finally:
        await officer.close()
    async with panel.stack.runtime.db.session() as session:
        names = (
            await session.execute(
                select(AuditEntry.username).where(AuditEntry.action == "forbidden")
            )
        ).scalars()
        assert sorted(names) == ["canbo_qn"] + ["—"] * budget


def test_the_audit_budget_says_how_many_it_left_out() -> None:
    budget = AuditBudget(limit=2, window=0.05)
    assert [budget.take() for _ in range(5)] == [0, 0, None, None, None]
    time.sleep(0.06)
    assert [budget.take(), budget.take(), budget.take()] == [3, 0, None]


async def test_password_change_logs_out_everywhere(panel: Panel) -> None:
    first = await panel.logged_in("canbo_qn")
    second = await panel.logged_in("canbo_qn")
    try:
        new = "một-mật-khẩu-mới-2027"
        status, location, _ = await first.post(
            "/admin/account",
            {"password": PASSWORD, "new_password": new, "new_password2": new},
        )
        assert (status, location) == (303, "/admin/login")
        assert (await second.get("/admin/"))[0] == 303  # the other browser is logged out too
        assert await second.login("canbo_qn", new) == 303
    finally:
        await first.close()
        await second.close()


async def test_huge_and_malformed_posts_get_a_clear_answer(panel: Panel) -> None:
    client = await panel.logged_in("admin")
    try:
        token = csrf_of(await client.page("/admin/account"))
        huge = f"csrf={token}&language=en&filler=".encode() + b"x" * 3_000_000
        async with client.http.post(
            client.base + "/admin/account",
            data=io.BytesIO(huge),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            allow_redirects=False,
        ) as response:
            assert response.status == 413 and "quá lớn" in await response.text()
        async with client.http.post(
            client.base + "/admin/account", json={"csrf": token}, allow_redirects=False
        ) as response:
            assert response.status == 400
        async with client.http.post(
            client.base + "/admin/account",
            data=b"csrf=%FF%FE&language=\xff",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            allow_redirects=False,
        ) as response:
            assert response.status in (400, 403)
        assert (await client.get("/admin/tips/%00%FF"))[0] == 404
        assert (await client.get("/admin/tips/TG-7K3M9Q/photos/abc"))[0] == 404
        assert "Xin chào" in await client.page("/admin/")  # and the panel still works
    finally:
        await client.close()
