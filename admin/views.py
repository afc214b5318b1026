"""Logging in and out, the home page, and one's own account (password, language, TOTP)."""

from __future__ import annotations

import io

import pyotp
import segno
from aiohttp import web
from markupsafe import Markup
from multidict import MultiDictProxy
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from admin._web import (
    DEPS,
    LOGIN_CSRF_COOKIE,
    STAFF,
    form,
    login_csrf,
    redirect,
    render,
    require_staff,
)
from admin.tips import scope
from bot.i18n import LANGUAGES, N_
from bot.models import StaffUser, Tip, utcnow
from bot.staff import (
    LoginResult,
    change_password,
    check_login,
    end_all_sessions,
    end_session,
    open_session,
    password_problem,
    set_staff_language,
    totp_step,
    turn_totp_off,
    turn_totp_on,
)
from bot.tips.states import CLOSED

__all__ = ["setup"]


async def login_page(request: web.Request) -> web.StreamResponse:
    if request.get(STAFF) is not None:
        raise redirect("/admin/")
    response = web.Response()
    token = login_csrf(request, response)
    page = render(request, "login.html", login_token=token, error="", username="")
    page.cookies.update(response.cookies)
    if request.query.get("lang") in LANGUAGES:
        page.set_cookie("antq_lang", request.query["lang"], path="/admin", samesite="Strict")
    return page


async def login(request: web.Request) -> web.StreamResponse:
    panel = request.app[DEPS]
    address = panel.client_address(request)
    data = await form(request)
    username = data.get("username", "")
    if panel.throttle.blocked(address):
        raise web.HTTPTooManyRequests()
    async with panel.db.session() as session:
        result = await check_login(
            session,
            username,
            data.get("password", ""),
            data.get("totp", ""),
            address=address,
            budget=panel.audit_budget,
        )
        token = None
        if result.user is not None:
            token = await open_session(session, result.user, panel.lifetime)
    if token is None:
        if result.outcome != "totp":
            panel.throttle.failed(address)
        # a locked account is answered like a wrong password, and like a name that does not
        # exist: a different answer would tell which names are accounts
        error = (
            N_("Enter the 6-digit code from your authenticator app.")
            if result.outcome == "totp"
            else N_(
                "Wrong user name, password or code. After 5 wrong tries in a row an account "
                "is locked for 15 minutes."
            )
        )
        response = web.Response()
        login_token = login_csrf(request, response)
        page = render(
            request,
            "login.html",
            status=401,
            login_token=login_token,
            error=error,
            username=username[:64],
        )
        page.cookies.update(response.cookies)
        return page
    # a brand-new session id whatever cookie the browser came with: no session fixation
    response = redirect("/admin/")
    response.set_cookie(
        panel.cookie_name,
        token,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=panel.secure or request.secure,
        max_age=int(panel.lifetime.total_seconds()),
    )
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/admin")
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    panel = request.app[DEPS]
    staff = request.get(STAFF)
    if staff is not None:
        async with panel.db.session() as session:
            await end_session(session, staff)
    response = redirect("/admin/login")
    response.del_cookie(panel.cookie_name, path="/")
    raise response


async def home(request: web.Request) -> web.StreamResponse:
    staff = require_staff(request)
    panel = request.app[DEPS]
    counts: dict[str, int] = {}
    if staff.works_tips:
        async with panel.db.session() as session:
            base = select(func.count()).select_from(Tip).where(scope(staff))
            open_ = base.where(col(Tip.status).not_in(CLOSED))
            counts["open"] = (await session.execute(open_)).scalar_one()
            counts["new"] = (
                await session.execute(base.where(col(Tip.status) == "new"))
            ).scalar_one()
            counts["overdue"] = (
                await session.execute(
                    open_.where(
                        col(Tip.first_response_at).is_(None),
                        col(Tip.first_response_due) < utcnow(),
                    )
                )
            ).scalar_one()
    return render(request, "home.html", counts=counts)


async def account_page(request: web.Request) -> web.StreamResponse:
    require_staff(request)
    return render(request, "account.html", message="", error="")


async def account_update(request: web.Request) -> web.StreamResponse:
    staff = require_staff(request)
    panel = request.app[DEPS]
    data = await form(request)
    error = message = ""
    async with panel.db.session() as session:
        user = await session.get(StaffUser, staff.id)
        assert user is not None
        new = data.get("new_password", "")
        if new:
            result = await _current_password(request, session, user, data)
            problem = password_problem(new, user.username)
            if result.outcome not in ("ok", "totp"):
                error = N_("The current password is not right.")
            elif problem:
                error = problem
            elif new != data.get("new_password2", ""):
                error = N_("The two new passwords differ.")
            else:
                await change_password(session, user, new)
                await end_all_sessions(session, staff.id)
                message = N_("Password changed. Log in again with the new password.")
        # a wrong current password counts towards the lock (check_login), nothing else is saved
        if not error and data.get("language") in LANGUAGES:
            set_staff_language(user, data["language"])
            message = message or N_("Saved.")
    if message.startswith("Password changed"):
        response = redirect("/admin/login")
        response.del_cookie(panel.cookie_name, path="/")
        raise response
    return render(request, "account.html", message=message, error=error)


async def totp_page(request: web.Request) -> web.StreamResponse:
    staff = require_staff(request)
    secret = pyotp.random_base32()
    return _totp_form(request, staff.user.username, secret)


def _totp_form(
    request: web.Request,
    username: str,
    secret: str,
    *,
    password_error: str = "",
    code_error: str = "",
) -> web.Response:
    panel = request.app[DEPS]
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=panel.settings.admin_title)
    svg = io.BytesIO()
    segno.make(uri, error="m").save(svg, kind="svg", scale=5, xmldecl=False, svgns=True)
    return render(
        request,
        "totp.html",
        secret=secret,
        qr=Markup(svg.getvalue().decode()),  # generated by segno from our own data
        password_error=password_error,
        code_error=code_error,
    )


async def totp_update(request: web.Request) -> web.StreamResponse:
    staff = require_staff(request)
    panel = request.app[DEPS]
    data = await form(request)
    async with panel.db.session() as session:
        user = await session.get(StaffUser, staff.id)
        assert user is not None
        if data.get("action") == "off":
            result = await _current_password(request, session, user, data)
            if result.outcome not in ("ok", "totp"):  # the failure is counted and kept
                return render(
                    request, "account.html", message="", error=N_("The password is not right.")
                )
            turn_totp_off(session, user)
            message = N_("Two-step login is off.")
        else:
            # the password too, not the session alone: whoever has a stolen session must not
            # be able to lock the owner out behind a second factor of their own
            secret = data.get("secret", "")
            if len(secret) != 32:  # a tampered form
                secret = pyotp.random_base32()
            if not data.get("password", ""):
                return _totp_form(
                    request,
                    user.username,
                    secret,
                    password_error=N_("Enter your current password to turn on two-step login."),
                )
            result = await _current_password(request, session, user, data)
            if result.outcome not in ("ok", "totp"):  # the failure is counted and kept
                return _totp_form(
                    request,
                    user.username,
                    secret,
                    password_error=N_("The password is not right."),
                )
            try:
                step = totp_step(secret, data.get("code", ""))
            except (ValueError, TypeError):  # a tampered secret
                step = None
            if step is None:
                return _totp_form(
                    request,
                    user.username,
                    secret,
                    code_error=N_(
                        "The code is not right. Check the time on your phone and try again."
                    ),
                )
            turn_totp_on(session, user, secret, step)
            message = N_("Two-step login is on.")
    return render(request, "account.html", message=message, error="")


async def _current_password(
    request: web.Request, session: AsyncSession, user: StaffUser, data: MultiDictProxy[str]
) -> LoginResult:
    """The logged-in account's current password, checked (and a failure counted, audited)
    as at login."""
    panel = request.app[DEPS]
    return await check_login(
        session,
        user.username,
        data.get("password", ""),
        "",
        address=panel.client_address(request),
        where=request.path,
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/account", account_page)
    app.router.add_post("/account", account_update)
    app.router.add_get("/account/totp", totp_page)
    app.router.add_post("/account/totp", totp_update)
