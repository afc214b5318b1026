"""Helpers for tests of what happens to PostgreSQL connections (killed under a statement)."""

from __future__ import annotations

from sqlalchemy import text

from bot.db import Database

__all__ = ["backend_pid", "terminate"]


async def backend_pid(db: Database) -> int:
    """The server process of the connection `db`'s next session gets."""
    async with db.session() as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def terminate(database_url: str, pid: int) -> None:
    """Kill that server process from another connection, as a restart or an admin would."""
    killer = Database(database_url)
    try:
        async with killer.session() as session:
            await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await killer.dispose()
