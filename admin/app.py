"""The staff panel's aiohttp application: templates, sessions, CSRF, security headers, errors.

Mounted under /admin by the runtime. Pages are server-rendered (Jinja2, autoescaped, no
JavaScript needed) and work on a phone. Every request runs its own database transaction.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage
from multidict import MultiDict, MultiDictProxy

from admin.throttle import AddressThrottle
from bot.core.outbox import Outbox
from bot.db import Database
from bot.i18n import LANGUAGES, N_, STAFF_LANGUAGE, format_datetime, format_number, gettext
from bot.settings import Settings
from bot.staff import Staff, load_session
from bot.staff.security_log import AuditBudget, audit_forbidden
from bot.tips.relay import RelayCipher, cipher_for

__all__ = [
    "DEPS",
    "STAFF",
    "Panel",
    "form",
    "redirect",
    "render",
    "require_staff",
    "whole",
]

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
LOGIN_CSRF_COOKIE = "antq_login"
MAX_FORM_FIELD = 8000


@dataclass
class Panel:
    """What the panel's handlers need from the running process."""

    db: Database
    settings: Settings
    outbox: Outbox | None = None
    #: The campaign sender (`bot.campaigns.engine.CampaignSender`), woken when a campaign is due.
    campaigns: Any = None
    throttle: AddressThrottle = field(default_factory=AddressThrottle)
    #: How many audit entries clients without a session may cause (`bot.staff.security_log`).
    audit_budget: AuditBudget = field(default_factory=AuditBudget)

    @property
    def secure(self) -> bool:
        return self.settings.public_url.startswith("https://")

    @property
    def cookie_name(self) -> str:
        # the __Host- prefix makes browsers refuse the cookie unless Secure, host-only, Path=/
        return "__Host-antq_staff" if self.secure else "antq_staff"

    @property
    def lifetime(self) -> timedelta:
        return timedelta(hours=self.settings.admin_session_hours)

    @property
    def idle(self) -> timedelta:
        return timedelta(minutes=self.settings.admin_session_idle_minutes)

    def cipher(self) -> RelayCipher | None:
        return cipher_for(self.settings.tip_relay_keys.get_secret_value())

    def client_address(self, request: web.Request) -> str:
        if self.settings.admin_trust_forwarded:
            forwarded = request.headers.get("X-Forwarded-For", "")
            if forwarded:
                return forwarded.split(",")[-1].strip()[:64]
        return request.remote or "?"


DEPS = web.AppKey("panel", Panel)
STAFF = web.RequestKey("staff", Staff)


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def language_of(request: web.Request) -> str:
    staff: Staff | None = request.get(STAFF)
    if staff is not None and staff.user.language in LANGUAGES:
        return staff.user.language
    lang = request.query.get("lang") or request.cookies.get("antq_lang", "")
    return lang if lang in LANGUAGES else "vi"


def translator(lang: str) -> Callable[..., str]:
    def _(message: str, **params: Any) -> str:
        text = gettext(lang, message)
        return text.format(**params) if params else text

    return _


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    panel = request.app[DEPS]
    lang = language_of(request)
    tz = panel.settings.timezone

    def when(value: datetime | None) -> str:
        return format_datetime(value, lang, tz) if value is not None else "—"

    staff: Staff | None = request.get(STAFF)
    html = (
        _environment()
        .get_template(template)
        .render(
            _=translator(lang),
            lang=lang,
            staff=staff,
            csrf=staff.csrf if staff is not None else "",
            when=when,
            number=lambda v: format_number(v, lang),
            path=request.path,
            **context,
        )
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8", status=status)


def whole(value: str) -> bool:
    """A whole number typed in ASCII digits that fits the database's integer columns.
    (`str.isdigit` takes "²" and "٣", which `int` refuses or reads as something else.)"""
    return value.isascii() and value.isdigit() and len(value) <= 9


def known_message(text: str) -> str:
    """`text` if it is one of our own messages (errors travel in redirect URLs, and a crafted
    link must not put words of its own on our page), else ""."""
    return text if text and gettext(STAFF_LANGUAGE, text) != text else ""


def redirect(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)


async def form(request: web.Request) -> MultiDictProxy[str]:
    """The posted form, text fields only, each cut to a sane length."""
    data = await request.post()
    fields: MultiDict[str] = MultiDict(
        (key, value[:MAX_FORM_FIELD]) for key, value in data.items() if isinstance(value, str)
    )
    return MultiDictProxy(fields)


def require_staff(request: web.Request) -> Staff:
    staff: Staff | None = request.get(STAFF)
    if staff is None:
        raise web.HTTPForbidden()
    return staff


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


def login_csrf(request: web.Request, response: web.StreamResponse) -> str:
    """The login form's CSRF token (double-submitted: a cookie and a form field)."""
    panel = request.app[DEPS]
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if len(token) < 32:
        token = secrets.token_urlsafe(32)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        path="/admin",
        httponly=True,
        samesite="Strict",
        secure=panel.secure or request.secure,
    )
    return token


def create_app(panel: Panel) -> web.Application:
    from admin import accounts, campaigns, content, report, stats, tips, views

    app = web.Application(middlewares=[security_headers, errors, sessions, csrf])
    app[DEPS] = panel
    views.setup(app)
    tips.setup(app)
    accounts.setup(app)
    campaigns.setup(app)
    content.setup(app)
    report.setup(app)  # before stats: /stats/report is not a statistics page
    stats.setup(app)
    app.router.add_static("/static/", STATIC)
    return app
