"""The statements the core runs for every update, behind one seam: each defined once on its
model's table as SQLAlchemy Core, compiled once per dialect, and run on the driver's own
connection inside the session's transaction.

Why not through SQLAlchemy: on PostgreSQL a statement costs about 260 µs of CPU more through
SQLAlchemy (execution context, result, greenlet switches) than through asyncpg itself; on
SQLite about 270 µs, and a trip to aiosqlite's thread (which SQLAlchemy's statements also
need) about 110 µs, where sqlite3 itself takes a few µs. A lone update's transaction has
four or five of them (the deduplication record, the residents read and written back, the
outbox rows, the engagement events).

A statement is one of three kinds, built from the table and the names of its columns:
`InsertRows`, `SelectRows` (by key, locked on PostgreSQL) and `UpdateRows` (by primary key).
Each has two forms made from the same definition:

- on PostgreSQL, the rows of a batch as one array per column (`unnest ... WITH ORDINALITY`,
  in the rows' order): one statement of one text whatever their number, which asyncpg
  prepares once per connection;
- on SQLite, one statement per row, all of them in one trip to the connection's thread, on
  sqlite3 itself.

Each form is compiled by SQLAlchemy for the session's dialect the first time it runs and
kept: the SQL text, its parameters' names in order, and the dialect's bind and result
processors of each column's type, so values go in and come out exactly as SQLAlchemy's own
statements write and read them. Only public APIs are used (`compile`, `positiontup`,
`binds`, `dialect_impl`, `bind_processor`, `result_processor`, and the DBAPI connection).

The transaction is the session's: on SQLite sqlite3 begins it before the first write, as it
does for SQLAlchemy's own statements (a connection in autocommit mode is refused); on
PostgreSQL a statement that is the transaction's first goes through SQLAlchemy's DBAPI
adapter of the same connection (PEP 249: `cursor().execute` in `AsyncConnection.run_sync`),
which begins the transaction as it does for SQLAlchemy's own first statement; the others go
to asyncpg directly. Until issue 19 the transaction was begun with the adapter's private
`_start_transaction()`. Measured in one process, alternately, the public way costs about
25 µs of CPU more per transaction (a session of three statements: 319 → 352 µs, medians of
16 pairs), 2–3 % of a lone update on PostgreSQL, inside the 10 % that issue 19 allows
(bench/lone.py, README "Measured figures"): so no private API, and no SQLAlchemy version to
pin for it. `tests/bot/test_db_fast.py` checks both ways in (first statement or not).

A connection that died under a statement is invalidated, as SQLAlchemy does for its own, so
the pool does not hand it out again. A value PostgreSQL or asyncpg refuses is named in their
message (a chat id, say), so that error is replaced by one without it before anyone logs it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import (
    JSON,
    ColumnElement,
    String,
    Table,
    and_,
    bindparam,
    cast,
    column,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement
from sqlalchemy.types import TypeEngine

from bot import sqlite_driver

__all__ = ["HotStatement", "InsertRows", "SelectRows", "UpdateRows", "run"]

Processor = Callable[[Any], Any]
#: The column of the row numbers `WITH ORDINALITY` adds (no table has one of that name).
_ORDINAL = "n_"


@dataclass(frozen=True, slots=True)
class _Form:
    """A statement compiled for one dialect."""

    sql: str
    #: For each parameter, in order: where its value comes from (a place in a row, or the
    #: name of a value shared by every row) and the dialect's bind processor of one value.
    params: tuple[tuple[int | str, Processor | None], ...]
    #: The dialect's result processor of each result column (None: none needed).
    results: tuple[Processor | None, ...] | None
    returns_rows: bool

    def batch(self, rows: Sequence[Sequence[Any]], shared: Mapping[str, Any]) -> list[Any]:
        """The parameters of the PostgreSQL form: one array per column of the rows."""
        values: list[Any] = []
        for source, process in self.params:
            if isinstance(source, str):
                value = shared[source]
                values.append(value if process is None else process(value))
            elif process is None:
                values.append([row[source] for row in rows])
            else:
                values.append([process(row[source]) for row in rows])
        return values

    def each(self, rows: Sequence[Sequence[Any]], shared: Mapping[str, Any]) -> list[Any]:
        """The parameters of the one-row form, for each row."""
        fixed = {
            name: shared[name] if process is None else process(shared[name])
            for name, process in self.params
            if isinstance(name, str)
        }
        return [
            tuple(
                [
                    fixed[source]
                    if isinstance(source, str)
                    else (row[source] if process is None else process(row[source]))
                    for source, process in self.params
                ]
            )
            for row in rows
        ]

    def result(self, row: Sequence[Any]) -> tuple[Any, ...]:
        if self.results is None:
            return tuple(row)
        return tuple(
            [
                value if process is None else process(value)
                for process, value in zip(self.results, row, strict=True)
            ]
        )


def _unbounded(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    """A column's type for a parameter's cast: a varchar without its length, which an
    explicit cast would cut a longer value to instead of refusing it (as the column does)."""
    return String() if isinstance(type_, String) else type_


def _carried(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    """The type of the elements of a column's array parameter (PostgreSQL): JSON as text."""
    return String() if isinstance(type_, JSON) else _unbounded(type_)


class HotStatement(ABC):
    """One statement on `table`, given rows of `columns` (in that order) and values shared
    by every row (`shared`, by name), returning `returning` (column names) of each row."""

    def __init__(
        self,
        table: Table,
        columns: Sequence[str],
        *,
        shared: Sequence[str] = (),
        returning: Sequence[str] = (),
    ) -> None:
        self.table = table
        self.columns = tuple(columns)
        self.shared = tuple(shared)
        self.returning = tuple(returning)
        self._forms: dict[str, _Form] = {}

    @abstractmethod
    def batch_form(self) -> ClauseElement:
        """The PostgreSQL form: parameters named after `columns` are arrays."""

    @abstractmethod
    def row_form(self) -> ClauseElement:
        """The one-row form (SQLite)."""

    def form(self, dialect: Dialect) -> _Form:
        """This statement compiled for `dialect` (once, then kept)."""
        form = self._forms.get(dialect.name)
        if form is None:
            form = self._forms[dialect.name] = self._compile(dialect)
        return form

    def _compile(self, dialect: Dialect) -> _Form:
        statement = self.batch_form() if dialect.name == "postgresql" else self.row_form()
        compiled = statement.compile(dialect=dialect)
        if not isinstance(compiled, SQLCompiler) or not compiled.positional:
            raise TypeError("a statement compiled with positional parameters was expected")
        places = {name: index for index, name in enumerate(self.columns)}
        params = []
        for name in compiled.positiontup or ():
            if name not in places and name not in self.shared:
                raise ValueError(f"a parameter of no column: {name}")
            # a row's value is processed as its column's type (in the PostgreSQL form it is
            # an element of an array, and JSON goes as its text: see `_arrays`)
            type_ = self.table.c[name].type if name in places else compiled.binds[name].type
            process = type_.dialect_impl(dialect).bind_processor(dialect)
            params.append((places.get(name, name), process))
        results = tuple(
            self.table.c[name].type.dialect_impl(dialect).result_processor(dialect, None)
            for name in self.returning
        )
        return _Form(
            sql=compiled.string,
            params=tuple(params),
            results=results if any(p is not None for p in results) else None,
            returns_rows=bool(self.returning),
        )

    # --- building blocks of the forms ------------------------------------------------------
    def _param(self, name: str) -> Any:
        return bindparam(name, type_=_unbounded(self.table.c[name].type))

    def _arrays(self, names: Sequence[str], *, ordinality: bool = False) -> Any:
        """The rows given as one array parameter per column, as a table (PostgreSQL). A JSON
        column's values go as their text (`_value` casts them back): asyncpg looks up the
        type of a `json[]` parameter on each connection first (about 11 ms more than for a
        text array, measured), once per connection, which showed in short load runs."""
        types = [_carried(self.table.c[name].type) for name in names]
        rows = func.unnest(
            *(bindparam(n, type_=postgresql.ARRAY(t)) for n, t in zip(names, types, strict=True))
        )
        named = [column(n, t) for n, t in zip(names, types, strict=True)]
        if ordinality:
            return rows.table_valued(*named, with_ordinality=_ORDINAL).render_derived(name="k")
        return rows.table_valued(*named).render_derived(name="k")

    def _value(self, rows: Any, name: str) -> Any:
        """Column `name` of `_arrays`'s rows, as the column's type."""
        type_ = self.table.c[name].type
        return cast(rows.c[name], type_) if isinstance(type_, JSON) else rows.c[name]

    def _returned(self) -> list[Any]:
        return [self.table.c[name] for name in self.returning]


class InsertRows(HotStatement):
    """`INSERT` of the rows given, in their order, skipping those that clash with an
    existing row on `conflict` (column names) if given."""

    def __init__(
        self,
        table: Table,
        columns: Sequence[str],
        *,
        shared: Sequence[str] = (),
        returning: Sequence[str] = (),
        conflict: Sequence[str] = (),
    ) -> None:
        super().__init__(table, columns, shared=shared, returning=returning)
        self.conflict = tuple(conflict)

    def batch_form(self) -> ClauseElement:
        rows = self._arrays(self.columns, ordinality=True)
        source = select(
            *(self._value(rows, name) for name in self.columns),
            *(self._param(n) for n in self.shared),
        ).order_by(rows.c[_ORDINAL])
        statement = postgresql.insert(self.table).from_select([*self.columns, *self.shared], source)
        if self.conflict:
            statement = statement.on_conflict_do_nothing(index_elements=list(self.conflict))
        return statement.returning(*self._returned()) if self.returning else statement

    def row_form(self) -> ClauseElement:
        statement = sqlite.insert(self.table).values(
            {name: self._param(name) for name in (*self.columns, *self.shared)}
        )
        if self.conflict:
            statement = statement.on_conflict_do_nothing(index_elements=list(self.conflict))
        return statement.returning(*self._returned()) if self.returning else statement


class SelectRows(HotStatement):
    """The rows whose `columns` (the keys) match one of the rows given; on PostgreSQL locked
    `FOR UPDATE` until the transaction ends, in primary key order, so two processes taking
    overlapping sets wait for each other instead of deadlocking. Returns every column."""

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        super().__init__(table, columns, returning=[c.name for c in table.columns])

    def batch_form(self) -> ClauseElement:
        keys = self._arrays(self.columns)
        match = and_(*(self.table.c[name] == keys.c[name] for name in self.columns))
        return (
            select(*self._returned())
            .join(keys, match)
            .order_by(*self.table.primary_key.columns)
            .with_for_update(of=self.table)
        )

    def row_form(self) -> ClauseElement:
        # SQLite has one writer: nothing to lock against
        return select(*self._returned()).where(
            *(self.table.c[name] == self._param(name) for name in self.columns)
        )


class UpdateRows(HotStatement):
    """`UPDATE` of the rows given, each found by its first column (the primary key), the
    others set to the values given."""

    def batch_form(self) -> ClauseElement:
        key, *values = self.columns
        rows = self._arrays(self.columns)
        return (
            update(self.table)
            .values({name: self._value(rows, name) for name in values})
            .where(self.table.c[key] == rows.c[key])
        )

    def row_form(self) -> ClauseElement:
        key, *values = self.columns
        where: ColumnElement[bool] = self.table.c[key] == self._param(key)
        return update(self.table).values({name: self._param(name) for name in values}).where(where)


async def run(
    session: AsyncSession,
    statement: HotStatement,
    rows: Sequence[Sequence[Any]],
    **shared: Any,
) -> list[tuple[Any, ...]]:
    """Run `statement` for `rows` (values in the order of its columns) and the `shared`
    values, in `session`'s transaction; returns its `returning` columns of each row written
    or found, as Python values (on PostgreSQL in the statement's order, on SQLite row after
    row)."""
    if not rows:
        return []
    connection = await session.connection()
    dialect = connection.dialect
    form = statement.form(dialect)
    raw = await connection.get_raw_connection()
    if dialect.name == "postgresql":
        found = await _on_asyncpg(connection, raw, form, form.batch(rows, shared))
    else:
        found = await _on_sqlite(raw, form, form.each(rows, shared))
    return [form.result(row) for row in found]


def _through_dbapi(
    _connection: Connection, dbapi: Any, sql: str, params: Sequence[Any]
) -> list[Any]:
    """In SQLAlchemy's greenlet: the statement on its DBAPI adapter of the connection."""
    cursor = dbapi.cursor()
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description is not None else []
    finally:
        cursor.close()


async def _on_asyncpg(
    connection: AsyncConnection, raw: PoolProxiedConnection, form: _Form, params: list[Any]
) -> list[Any]:
    driver = raw.driver_connection
    if driver is None:
        raise RuntimeError("no driver connection")
    try:
        if driver.is_in_transaction():
            if form.returns_rows:
                return list(await driver.fetch(form.sql, *params))
            await driver.execute(form.sql, *params)
            return []
        # the transaction's first statement: SQLAlchemy's adapter begins the transaction
        # for it, as for its own first statement
        found: list[Any] = await connection.run_sync(
            _through_dbapi, raw.dbapi_connection, form.sql, params
        )
        if not driver.is_in_transaction():
            raise RuntimeError("no transaction on the driver's connection")
        return found
    except BaseException as error:
        if driver.is_closed():
            await connection.invalidate()
        # "invalid input …: <the value>", from asyncpg or through the adapter
        if isinstance(error, asyncpg.DataError) or isinstance(error.__cause__, asyncpg.DataError):
            raise ValueError("PostgreSQL refused a value (DataError)") from None
        raise


async def _on_sqlite(raw: PoolProxiedConnection, form: _Form, params: list[Any]) -> list[Any]:
    driver = raw.driver_connection
    if not isinstance(driver, sqlite_driver.OneTripConnection):
        raise RuntimeError("not a SQLite connection of bot.sqlite_driver")

    def trip() -> list[Any]:
        connection = driver.sqlite
        if connection.isolation_level is None:  # each statement would commit on its own
            raise RuntimeError("the SQLite connection is in autocommit mode")
        if not form.returns_rows:
            connection.executemany(form.sql, params)
            return []
        found = []
        for row in params:
            found.extend(connection.execute(form.sql, row).fetchall())
        return found

    result: list[Any] = await driver.run(trip)
    return result
