"""The staff panel's aiohttp application: its middlewares (security headers, errors,
sessions, CSRF) and its pages' routes.

Mounted under /admin by the runtime. Pages are server-rendered (Jinja2, autoescaped, no
JavaScript needed) and work on a phone. Every request runs its own database transaction.
What the pages share is in `admin._web`; this module is the only one that imports the pages.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage

from admin import accounts, campaigns, content, questions, report, stats, tips, views
from admin._web import DEPS, LOGIN_CSRF_COOKIE, STAFF, STATIC, Panel, redirect, render
from bot.i18n import N_
from bot.staff import Staff, load_session
from bot.staff.security_log import audit_forbidden

__all__ = ["Panel", "create_app"]

log = logging.getLogger(__name__)


# --- middlewares --------------------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("Content-Security-Policy", _CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    # same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on our own
    # forms, which the CSRF check refuses
    response.headers["Referrer-Policy"] = "same-origin"
    if not request.path.startswith("/admin/static/"):
        response.headers["Cache-Control"] = "no-store"
    return response


_ERRORS = {
    400: N_("The request could not be understood."),
    403: N_("You do not have access to this page."),
    404: N_("This page does not exist."),
    405: N_("This action is not allowed here."),
    413: N_("What you sent is too large."),
    429: N_("Too many attempts. Wait a few minutes and try again."),
}


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status == 403:
            await _audit_forbidden(request)
        if exc.status in _ERRORS:
            return render(request, "error.html", status=exc.status, message=_ERRORS[exc.status])
        raise
    except Exception:
        log.exception("staff panel error on %s %s", request.method, request.path)
        return render(
            request, "error.html", status=500, message=N_("Something went wrong. Try again.")
        )


async def _audit_forbidden(request: web.Request) -> None:
    panel = request.app[DEPS]
    staff: Staff | None = request.get(STAFF)
    try:
        await audit_forbidden(
            panel.db,
            staff.user if staff is not None else None,
            request.raw_path.split("?", 1)[0],
            panel.client_address(request),
            panel.audit_budget,
        )
    except Exception:  # the refusal stands even when the log cannot be written
        log.exception("staff panel: a 403 on %s could not be audited", request.path)


@web.middleware
async def sessions(request: web.Request, handler: Handler) -> web.StreamResponse:
    panel = request.app[DEPS]
    token = request.cookies.get(panel.cookie_name, "")
    if token:
        async with panel.db.session() as session:
            staff = await load_session(session, token, panel.idle)
        if staff is not None:
            request[STAFF] = staff
    if (
        STAFF not in request
        and request.path not in _PUBLIC
        and not request.path.startswith("/admin/static/")
    ):
        if request.method == "GET":
            raise redirect("/admin/login")
        raise web.HTTPForbidden()
    return await handler(request)


_PUBLIC = frozenset({"/admin/login"})


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if not origin or origin == "null":
        return origin is None  # no header: old browsers and tools; the token still decides
    return urlsplit(origin).netloc == request.host


@web.middleware
async def csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every POST carries the session's CSRF token (the login form: a cookie's token, double
    submitted) and, when the browser says where it comes from, comes from this site."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
            raise web.HTTPBadRequest()
        if not _same_origin(request):
            raise web.HTTPForbidden()
        try:
            data = await request.post()
        # invalid UTF-8, a broken multipart (a part header with a control character in it)
        except (UnicodeDecodeError, ValueError, BadHttpMessage) as exc:
            raise web.HTTPBadRequest() from exc
        sent = data.get("csrf")
        staff: Staff | None = request.get(STAFF)
        if request.path == "/admin/login" or staff is None:
            expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        else:
            expected = staff.csrf
        if not (
            isinstance(sent, str)
            and expected
            and hmac.compare_digest(sent.encode(), expected.encode())
        ):
            raise web.HTTPForbidden()
    return await handler(request)


def create_app(panel: Panel) -> web.Application:
    app = web.Application(middlewares=[security_headers, errors, sessions, csrf])
    app[DEPS] = panel
    views.setup(app)
    tips.setup(app)
    accounts.setup(app)
    campaigns.setup(app)
    content.setup(app)
    questions.setup(app)
    report.setup(app)  # before stats: /stats/report is not a statistics page
    stats.setup(app)
    app.router.add_static("/static/", STATIC)
    return app
