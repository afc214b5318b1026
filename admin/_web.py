"""What the staff panel's pages share: the process's dependencies (`Panel`), the logged-in
account of a request, rendering a template, reading a posted form, the login form's CSRF
token. Every page module imports this; only `admin.app` imports the pages.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from admin.throttle import AddressThrottle
from bot.core.outbox import Outbox
from bot.core.platform import Platform
from bot.db import Database
from bot.i18n import LANGUAGES, N_, STAFF_LANGUAGE, format_datetime, format_number, gettext
from bot.settings import Settings
from bot.staff import Staff
from bot.staff.security_log import AuditBudget
from bot.tips.relay import RelayCipher, cipher_for

__all__ = [
    "DEPS",
    "LOGIN_CSRF_COOKIE",
    "PLATFORM_LABELS",
    "STAFF",
    "STATIC",
    "Panel",
    "form",
    "known_message",
    "language_of",
    "login_csrf",
    "platform_label",
    "redirect",
    "render",
    "require_staff",
    "translator",
    "whole",
]

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
LOGIN_CSRF_COOKIE = "antq_login"
MAX_FORM_FIELD = 8000
#: How the panel names each platform (`_()` them: the web chat's name is translated).
PLATFORM_LABELS: dict[str, str] = {
    Platform.TELEGRAM: "Telegram",
    Platform.ZALO_BOT: "Zalo Bot",
    Platform.ZALO_OA: "Zalo OA",
    Platform.WEB: N_("Web chat"),
}


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
            platform_name=lambda name: gettext(lang, platform_label(name)),
            path=request.path,
            **context,
        )
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8", status=status)


def platform_label(name: str) -> str:
    """How the panel names a platform stored as `name`, as an English message id."""
    return PLATFORM_LABELS.get(name) or name


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
