"""Logging in and the panel's defences: throttling, sessions, CSRF, headers, TOTP."""

from __future__ import annotations

import io

import pyotp
from sqlalchemy import select
from yarl import URL

from admin.auth import AddressThrottle
from bot.models import StaffSession, StaffUser
from tests.admin.conftest import Panel
from tests.admin.panel import PASSWORD, PanelClient, csrf_of


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
        # now even the right password is refused, for 15 minutes
        assert await client.login("canbo_dong") == 429
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


async def test_two_step_login(panel: Panel) -> None:
    client = await panel.logged_in("canbo_dong")
    try:
        html = await client.page("/admin/account/totp")
        assert "<svg" in html
        secret = html.split('name="secret" value="', 1)[1].split('"', 1)[0]
        status, _loc, body = await client.post(
            "/admin/account/totp",
            {"secret": secret, "code": "000000"},
            csrf_from="/admin/account/totp",
        )
        assert status == 200 and 'role="alert"' in body  # a wrong code turns nothing on
        status, _loc, body = await client.post(
            "/admin/account/totp",
            {"secret": secret, "code": pyotp.TOTP(secret).now()},
            csrf_from="/admin/account",
        )
        assert status == 200
    finally:
        await client.close()
    fresh = panel.client()
    try:
        assert await fresh.login("canbo_dong") == 401  # the password alone is not enough
        assert await fresh.login("canbo_dong", totp="123456") in (401,)
        assert await fresh.login("canbo_dong", totp=pyotp.TOTP(secret).now()) == 303
    finally:
        await fresh.close()


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
