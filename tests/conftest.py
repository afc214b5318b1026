"""Shared fixtures: a real database per test (SQLite in a temp dir, and PostgreSQL).

Which backends run is `ANTQ_TEST_DATABASES` (default "sqlite,postgres"). PostgreSQL is
`ANTQ_TEST_POSTGRES_URL` (default postgresql://postgres@127.0.0.1:5432/postgres); each test
gets a fresh database cloned from a migrated template, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.db import Database
from bot.migrate import upgrade

BACKENDS = [b.strip() for b in os.environ.get("ANTQ_TEST_DATABASES", "sqlite,postgres").split(",")]
PG_URL = os.environ.get("ANTQ_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_admin_url() -> str:
    return str(make_url(PG_URL).set(drivername="postgresql+psycopg2"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


class PgTemplate:
    def __init__(self) -> None:
        self.name = f"antq_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        # pre-ping: a test restarts the server (test_postgres_restart), pooled ones are stale
        self.admin = create_engine(
            _pg_admin_url(), isolation_level="AUTOCOMMIT", pool_pre_ping=True
        )

    def url_for(self, name: str) -> str:
        return str(
            make_url(PG_URL)
            .set(drivername="postgresql+asyncpg", database=name)
            .render_as_string(hide_password=False)
        )

    def create(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        upgrade(self.url_for(self.name))

    def clone(self) -> str:
        name = f"antq_t_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"'))
        return name

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_template() -> Iterator[PgTemplate]:
    tpl = PgTemplate()
    try:
        tpl.create()
    except Exception as exc:  # a clear message beats a stack of driver errors
        pytest.exit(
            f"PostgreSQL at {PG_URL} is needed ({exc.__class__.__name__}: {exc}). Start it, "
            "or run only SQLite with ANTQ_TEST_DATABASES=sqlite.",
            returncode=3,
        )
    yield tpl
    tpl.drop(tpl.name)
    tpl.admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database for this test: its async SQLAlchemy URL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "antq.sqlite3"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    tpl: PgTemplate = request.getfixturevalue("pg_template")
    name = tpl.clone()
    yield tpl.url_for(name)
    tpl.drop(name)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture(autouse=True)
def _fresh_daily_tip_limit() -> Iterator[None]:
    """The per-resident daily tip limit is counted in memory, per process (nothing stored may
    say who tipped): in one pytest process every test starts from zero, as a new process
    would, instead of inheriting the chats of earlier tests."""
    from handlers.tip_intake import _daily_limit

    _daily_limit.cache_clear()
    yield
    _daily_limit.cache_clear()
