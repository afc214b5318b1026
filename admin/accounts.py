"""Administrators' pages: staff accounts (roles, communes, passwords) and each commune's
officer chat for new-tip alerts. The changes are actions of `bot.staff`."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web
from sqlalchemy import select
from sqlmodel import col

from admin._web import DEPS, form, known_message, redirect, render, require_staff, whole
from bot.models import CommuneChat, StaffCommune, StaffUser
from bot.staff import (
    ALERT_CHANNELS,
    ROLES,
    AccountError,
    AlertChatError,
    Staff,
    add_account,
    change_account,
    set_alert_chat,
)
from content.locality import get_unit, units

__all__ = ["setup"]


def _admin(request: web.Request) -> Staff:
    staff = require_staff(request)
    if not staff.is_admin:
        raise web.HTTPForbidden()
    return staff


async def users_page(request: web.Request) -> web.StreamResponse:
    _admin(request)
    panel = request.app[DEPS]
    async with panel.db.session() as session:
        users = (
            (await session.execute(select(StaffUser).order_by(col(StaffUser.username))))
            .scalars()
            .all()
        )
        assigned: dict[int, list[int]] = {}
        for user_id, code in (
            await session.execute(select(col(StaffCommune.user_id), col(StaffCommune.commune_code)))
        ).all():
            assigned.setdefault(user_id, []).append(code)
    return render(
        request,
        "users.html",
        users=users,
        assigned=assigned,
        names={c.code: c.name for c in units(panel.settings.province_code)},
    )


def _codes(values: list[str]) -> list[int]:
    return [int(v) for v in values if whole(v)]


async def user_form(request: web.Request) -> web.StreamResponse:
    _admin(request)
    panel = request.app[DEPS]
    user_id = request.match_info.get("id", "new")
    user = None
    chosen: list[int] = []
    if user_id != "new":
        if not whole(user_id):
            raise web.HTTPNotFound()
        async with panel.db.session() as session:
            user = await session.get(StaffUser, int(user_id))
            if user is None:
                raise web.HTTPNotFound()
            chosen = list(
                (
                    await session.execute(
                        select(col(StaffCommune.commune_code)).where(
                            col(StaffCommune.user_id) == user.id
                        )
                    )
                ).scalars()
            )
    return _user_form(request, user, chosen, "")


def _user_form(
    request: web.Request, user: StaffUser | None, chosen: list[int], error: str
) -> web.Response:
    panel = request.app[DEPS]
    return render(
        request,
        "user.html",
        status=400 if error else 200,
        user=user,
        chosen=set(chosen),
        roles=ROLES,
        communes=[(c.code, c.name) for c in units(panel.settings.province_code)],
        error=error,
    )


async def user_save(request: web.Request) -> web.StreamResponse:
    staff = _admin(request)
    panel = request.app[DEPS]
    data = await form(request)
    user_id = request.match_info.get("id", "new")
    communes = _codes(data.getall("communes", []))
    try:
        async with panel.db.session() as session:
            if user_id == "new":
                await add_account(
                    session,
                    staff.user,
                    data.get("username", ""),
                    data.get("password", ""),
                    data.get("role", ""),
                    data.get("display_name", ""),
                    communes,
                )
            else:
                found = await session.get(StaffUser, int(user_id)) if whole(user_id) else None
                if found is None:
                    raise web.HTTPNotFound()
                await change_account(
                    session,
                    staff.user,
                    found,
                    role=data.get("role", ""),
                    display_name=data.get("display_name", ""),
                    active=data.get("active") == "1",
                    communes=communes,
                    password=data.get("password", ""),
                    totp_off=data.get("totp_off") == "1",
                )
    except AccountError as exc:
        return _user_form(
            request,
            None if user_id == "new" else await _reload(request, user_id),
            communes,
            str(exc),
        )
    raise redirect("/admin/users")


async def _reload(request: web.Request, user_id: str) -> StaffUser | None:
    panel = request.app[DEPS]
    async with panel.db.session() as session:
        return await session.get(StaffUser, int(user_id)) if whole(user_id) else None


async def chats_page(request: web.Request) -> web.StreamResponse:
    _admin(request)
    panel = request.app[DEPS]
    async with panel.db.session() as session:
        chats = {c.commune_code: c for c in (await session.execute(select(CommuneChat))).scalars()}
    return render(
        request,
        "chats.html",
        chats=chats,
        channels=ALERT_CHANNELS,
        communes=[(c.code, c.name) for c in units(panel.settings.province_code)],
        error=known_message(request.query.get("error", "")),
    )


async def chats_save(request: web.Request) -> web.StreamResponse:
    staff = _admin(request)
    panel = request.app[DEPS]
    data = await form(request)
    code = data.get("commune", "")
    if not whole(code) or get_unit(int(code)) is None:
        raise web.HTTPBadRequest()
    try:
        async with panel.db.session() as session:
            await set_alert_chat(
                session, staff.user, int(code), data.get("channel", ""), data.get("chat_id", "")
            )
    except AlertChatError as exc:
        raise redirect("/admin/communes?error=" + quote(str(exc))) from None
    raise redirect(f"/admin/communes#c{code}")


def setup(app: web.Application) -> None:
    app.router.add_get("/users", users_page)
    app.router.add_get("/users/new", user_form)
    app.router.add_post("/users/new", user_save)
    app.router.add_get("/users/{id}", user_form)
    app.router.add_post("/users/{id}", user_save)
    app.router.add_get("/communes", chats_page)
    app.router.add_post("/communes", chats_save)
