"""Zalo OA OAuth v4 tokens: one refresh at a time, the new pair committed before it is used.

The refresh token is single-use and rotates. Two refreshes spending the same refresh token
would kill the grant (an administrator would have to consent again), so:
* in one process, an asyncio.Lock makes refreshing single-flight;
* across processes, the token row is write-locked for the whole refresh, and whoever gets
  it second finds the pair already renewed and uses that;
* the new pair is committed before any request uses the new access token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col

from bot.db import Database, dialect_of
from bot.models import OAToken, utcnow

__all__ = ["TokenError", "TokenStore"]

log = logging.getLogger(__name__)


class TokenError(Exception):
    """The OAuth server refused or failed a refresh (the message never holds a token)."""


class TokenStore:
    def __init__(
        self,
        db: Database,
        http: httpx.AsyncClient,
        *,
        oauth_base: str,
        app_id: str,
        app_secret: str,
        seed_access_token: str = "",
        seed_refresh_token: str = "",
        refresh_margin: timedelta = timedelta(hours=5),
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.db, self.http = db, http
        self.url = oauth_base.rstrip("/") + "/v4/oa/access_token"
        self.app_id, self.app_secret = app_id, app_secret
        self.seed = (seed_access_token, seed_refresh_token)
        self.refresh_margin = refresh_margin
        self.on_failure = on_failure
        self._lock = asyncio.Lock()
        self._access: str = ""
        self.refreshes = 0

    async def load(self) -> None:
        """Read the pair from the database; the first start seeds it from the settings.
        Two instances starting at once both seed it: the second insert does nothing, and
        both read the one row that is there."""
        async with self.db.session() as session:
            row = await session.get(OAToken, self.app_id)
            if row is None:
                access, refresh = self.seed
                if not refresh:
                    raise TokenError("no OA tokens: set ZALO_OA_ACCESS_TOKEN and _REFRESH_TOKEN")
                dialect = postgresql if dialect_of(session) == "postgresql" else sqlite
                # Unknown age: treat the seeded access token as due for renewal soon.
                await session.execute(
                    dialect.insert(OAToken.__table__)  # type: ignore[attr-defined]
                    .values(
                        app_id=self.app_id,
                        access_token=access,
                        refresh_token=refresh,
                        expires_at=utcnow() + self.refresh_margin,
                        updated_at=utcnow(),
                    )
                    .on_conflict_do_nothing(index_elements=["app_id"])
                )
        async with self.db.session() as session:
            row = await session.get(OAToken, self.app_id)
            assert row is not None
            self._access = row.access_token

    @property
    def access_token(self) -> str:
        return self._access

    async def refresh(self, spent: str | None = None) -> str:
        """A fresh access token. `spent`: the access token Zalo just refused; if another
        caller has replaced it meanwhile, that newer one is returned without refreshing."""
        async with self._lock:
            if spent is not None and self._access != spent:
                return self._access
            try:
                return await self._refresh_locked(spent)
            except TokenError as exc:
                log.error("Zalo OA token refresh failed: %s", exc)
                if self.on_failure is not None:
                    self.on_failure(str(exc))
                raise

    async def refresh_if_due(self) -> bool:
        """Refresh when the access token expires within the margin (a scheduler job, every
        30 minutes); also picks up a pair another process has renewed."""
        async with self.db.session() as session:
            row = await session.get(OAToken, self.app_id)
        if row is None:
            return False
        if row.access_token != self._access:  # another process renewed it: use theirs
            self._access = row.access_token
        if row.expires_at - utcnow() > self.refresh_margin:
            return False
        await self.refresh(row.access_token)
        return True

    async def _refresh_locked(self, spent: str | None) -> str:
        async with self.db.session() as session:
            # Take the row's write lock first (PostgreSQL: row lock; SQLite: the database's
            # write lock): a second process waits here, then finds the pair renewed.
            await session.execute(
                update(OAToken)
                .where(col(OAToken.app_id) == self.app_id)
                .values(updated_at=col(OAToken.updated_at))
            )
            stmt = select(OAToken).where(col(OAToken.app_id) == self.app_id)
            row = (await session.execute(stmt)).scalar_one()
            await session.refresh(row)
            if spent is not None and row.access_token != spent:
                self._access = row.access_token  # another process already renewed it
                return self._access
            data = await self._call(row.refresh_token)
            row.access_token = data["access_token"]
            row.refresh_token = data["refresh_token"]
            row.expires_at = utcnow() + timedelta(seconds=int(data.get("expires_in", 90000)))
            row.updated_at = utcnow()
        # committed: only now is the new access token used
        self._access = data["access_token"]
        self.refreshes += 1
        log.info("Zalo OA access token renewed")
        return self._access

    async def _call(self, refresh_token: str) -> dict[str, Any]:
        try:
            response = await self.http.post(
                self.url,
                data={
                    "app_id": self.app_id,
                    "grant_type": "refresh_token",
                    "refresh_token": refresh_token,
                },
                headers={"secret_key": self.app_secret},
            )
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise TokenError(f"token endpoint unreachable ({exc.__class__.__name__})") from None
        # Errors come with HTTP 200, as `error`/`message` or `error_name`/`error_description`.
        if (
            not isinstance(data, dict)
            or not data.get("access_token")
            or not data.get("refresh_token")
        ):
            reason = ""
            if isinstance(data, dict):
                reason = str(
                    data.get("error_description")
                    or data.get("message")
                    or data.get("error_name")
                    or data.get("error")
                    or ""
                )
            raise TokenError(f"refresh refused: {reason[:200] or 'no tokens in the answer'}")
        return data
