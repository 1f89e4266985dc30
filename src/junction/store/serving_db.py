"""The serving process's own way to the database: a few fixed statements, no ORM.

What a router does at start-up and beside the request path (the migration check, the admin
key, the catalog and its change feed, keys' last use, the budget seed, retention, the request
log on PostgreSQL, readiness) runs a handful of plain statements through this port: SQLite by
the standard ``sqlite3`` module in worker threads, PostgreSQL by an ``asyncpg`` pool. A router
that only serves therefore never imports SQLAlchemy (about 28 MB and a fifth of a second of
start-up); the admin API, the UI, the CLI and the migrations use it, imported on first use.

A statement (``Sql``) is written once, in PostgreSQL's form: ``$1`` placeholders and
``= ANY($n)`` for a list of values. Its SQLite form (``?1``; ``IN (SELECT value FROM
json_each(?n))``, the list passed as JSON) is made when the statement is defined. Rows come as
the driver gives them: on SQLite timestamps and JSON are text, booleans integers; on
PostgreSQL timestamps are datetimes, JSON is text.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote

import orjson

from junction.store.sqlite_file import TIMEOUT_SECONDS, private_sqlite_file, set_pragmas

if TYPE_CHECKING:
    import asyncpg
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

Row = Sequence[Any]

_ANY = re.compile(r"= ANY\(\$(\d+)\)")
_PARAM = re.compile(r"\$(\d+)")
SQLITE_CONNECTIONS = 4  # the full catalog load, warm reads and writes side by side
POSTGRES_CONNECTIONS = 10


class Sql:
    """One statement, in both dialects' forms (see the module docstring)."""

    __slots__ = ("lists", "postgres", "sqlite")

    def __init__(self, text: str) -> None:
        self.postgres = text
        self.lists = tuple(int(n) - 1 for n in _ANY.findall(text))
        self.sqlite = _PARAM.sub(r"?\1", _ANY.sub(r"IN (SELECT value FROM json_each($\1))", text))

    def text(self, dialect: str) -> str:
        return self.sqlite if dialect == "sqlite" else self.postgres

    def args(self, dialect: str, args: Sequence[Any]) -> Sequence[Any]:
        """The values as the dialect takes them (a list is JSON text on SQLite)."""
        if not self.lists or dialect != "sqlite":
            return args
        out = list(args)
        for i in self.lists:
            out[i] = orjson.dumps(list(out[i])).decode()
        return out


class Conn(Protocol):
    """Statements on one connection, or on whichever the pool has free."""

    async def fetch(self, sql: Sql, *args: Any) -> list[Row]: ...

    async def value(self, sql: Sql, *args: Any) -> Any:
        """The first column of the first row (None without rows)."""

    async def execute(self, sql: Sql, *args: Any) -> int:
        """Runs the statement; returns how many rows it changed."""

    async def execute_many(self, sql: Sql, rows: Iterable[Sequence[Any]]) -> None: ...


class Database(Conn, Protocol):
    dialect: str

    def transaction(self) -> AbstractAsyncContextManager[Conn]:
        """One transaction (SQLite: holding the write lock from its start)."""

    def parts(self, sql: Sql, *args: Any, size: int) -> AsyncIterator[list[Row]]:
        """The rows in parts of ``size``, fetched as they are used."""

    def timestamp(self, when: datetime) -> Any:
        """A UTC datetime as the database stores it (the form comparisons need)."""

    async def close(self) -> None: ...


def open_database(url: str) -> Database:
    """The port to the database at ``url`` (the SQLAlchemy-style URL of the settings)."""
    scheme, _, rest = url.partition("://")
    if scheme.split("+")[0] == "sqlite":
        return SqliteDatabase(sqlite_path(url))
    return PostgresDatabase(f"postgresql://{rest}")


def sqlite_path(url: str) -> str:
    """The file of a ``sqlite[+driver]:///path`` URL (``:memory:`` when it names none)."""
    path = unquote(url.partition("://")[2].removeprefix("/").split("?")[0])
    return path or ":memory:"


def sqlite_timestamp(when: datetime) -> str:
    """SQLite keeps timestamps as UTC text, ``YYYY-MM-DD HH:MM:SS.ffffff`` (SQLAlchemy's)."""
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S.%f")


def _count(status: str) -> int:
    """Rows changed, from asyncpg's status line (``UPDATE 3``)."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


class _Pooled:
    """A statement on whichever connection the pool has free (``_connection``); many rows in
    one transaction."""

    def _connection(self) -> AbstractAsyncContextManager[Conn]:
        raise NotImplementedError

    def transaction(self) -> AbstractAsyncContextManager[Conn]:
        raise NotImplementedError

    async def fetch(self, sql: Sql, *args: Any) -> list[Row]:
        async with self._connection() as conn:
            return await conn.fetch(sql, *args)

    async def value(self, sql: Sql, *args: Any) -> Any:
        async with self._connection() as conn:
            return await conn.value(sql, *args)

    async def execute(self, sql: Sql, *args: Any) -> int:
        async with self._connection() as conn:
            return await conn.execute(sql, *args)

    async def execute_many(self, sql: Sql, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as conn:
            await conn.execute_many(sql, rows)


# -- SQLite -------------------------------------------------------------------------------------


class _SqliteConn:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def _run(self, sql: Sql, args: Sequence[Any]) -> sqlite3.Cursor:
        return self._conn.execute(sql.sqlite, sql.args("sqlite", args))

    async def fetch(self, sql: Sql, *args: Any) -> list[Row]:
        return await asyncio.to_thread(lambda: self._run(sql, args).fetchall())

    async def value(self, sql: Sql, *args: Any) -> Any:
        row = await asyncio.to_thread(lambda: self._run(sql, args).fetchone())
        return row[0] if row is not None else None

    async def execute(self, sql: Sql, *args: Any) -> int:
        return await asyncio.to_thread(lambda: self._run(sql, args).rowcount)

    async def execute_many(self, sql: Sql, rows: Iterable[Sequence[Any]]) -> None:
        await asyncio.to_thread(self._conn.executemany, sql.sqlite, rows)


class SqliteDatabase(_Pooled):
    """A few ``sqlite3`` connections (autocommit; WAL), each used by one task at a time."""

    dialect = "sqlite"

    def __init__(self, path: str, size: int = SQLITE_CONNECTIONS) -> None:
        if path == ":memory:":
            size = 1  # every connection would open a database of its own
        self.path = path
        self._idle: list[sqlite3.Connection] = []
        self._slots = asyncio.Semaphore(size)

    def _open(self) -> sqlite3.Connection:
        private_sqlite_file(self.path)
        conn = sqlite3.connect(
            self.path, timeout=TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
        )
        set_pragmas(conn)
        return conn

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[_SqliteConn]:
        async with self._slots:
            conn = self._idle.pop() if self._idle else await asyncio.to_thread(self._open)
            yield _SqliteConn(conn)
            # Not reached when the work failed or was cancelled: a worker thread may still use
            # that connection, so it is not reused (it closes once nothing refers to it).
            self._idle.append(conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        async with self._connection() as conn:
            await asyncio.to_thread(conn._conn.execute, "BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await asyncio.shield(asyncio.to_thread(conn._conn.execute, "ROLLBACK"))
                raise
            await asyncio.to_thread(conn._conn.execute, "COMMIT")

    async def parts(self, sql: Sql, *args: Any, size: int) -> AsyncIterator[list[Row]]:
        async with self._connection() as conn:
            cursor = await asyncio.to_thread(conn._run, sql, args)
            try:
                while part := await asyncio.to_thread(cursor.fetchmany, size):
                    yield part
            finally:
                cursor.close()

    def timestamp(self, when: datetime) -> Any:
        return sqlite_timestamp(when)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


# -- PostgreSQL ---------------------------------------------------------------------------------


class _PostgresConn:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def fetch(self, sql: Sql, *args: Any) -> list[Row]:
        return list(await self._conn.fetch(sql.postgres, *args))

    async def value(self, sql: Sql, *args: Any) -> Any:
        return await self._conn.fetchval(sql.postgres, *args)

    async def execute(self, sql: Sql, *args: Any) -> int:
        return _count(await self._conn.execute(sql.postgres, *args))

    async def execute_many(self, sql: Sql, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(sql.postgres, rows)


class PostgresDatabase(_Pooled):
    """An ``asyncpg`` pool, opened on first use (the client is imported then)."""

    dialect = "postgresql"

    def __init__(self, dsn: str, size: int = POSTGRES_CONNECTIONS) -> None:
        self._dsn = dsn
        self._size = size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def _ready(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    import asyncpg

                    self._pool = await asyncpg.create_pool(
                        self._dsn, min_size=0, max_size=self._size
                    )
        return self._pool

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[_PostgresConn]:
        pool = await self._ready()
        async with pool.acquire() as conn:
            yield _PostgresConn(conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        async with self._connection() as conn, conn._conn.transaction():
            yield conn

    async def parts(self, sql: Sql, *args: Any, size: int) -> AsyncIterator[list[Row]]:
        async with self._connection() as conn, conn._conn.transaction():
            cursor = await conn._conn.cursor(sql.postgres, *args)
            while part := await cursor.fetch(size):
                yield list(part)

    def timestamp(self, when: datetime) -> Any:
        return when if when.tzinfo is not None else when.replace(tzinfo=UTC)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()


# -- inside an SQLAlchemy transaction -----------------------------------------------------------


class SqlAlchemyConn:
    """The same statements on an SQLAlchemy connection or inside a session's transaction (an
    admin write's reads there see its own uncommitted rows)."""

    def __init__(self, source: AsyncSession | AsyncConnection) -> None:
        self._source = source

    async def _connection(self) -> AsyncConnection:
        from sqlalchemy.ext.asyncio import AsyncSession  # loaded: the caller holds one

        source = self._source
        return await source.connection() if isinstance(source, AsyncSession) else source

    async def _run(self, sql: Sql, args: Sequence[Any]) -> Any:
        conn = await self._connection()
        dialect = conn.dialect.name
        return await conn.exec_driver_sql(sql.text(dialect), tuple(sql.args(dialect, args)))

    async def fetch(self, sql: Sql, *args: Any) -> list[Row]:
        return list((await self._run(sql, args)).all())

    async def value(self, sql: Sql, *args: Any) -> Any:
        row = (await self._run(sql, args)).first()
        return row[0] if row is not None else None

    async def execute(self, sql: Sql, *args: Any) -> int:
        return int((await self._run(sql, args)).rowcount)

    async def execute_many(self, sql: Sql, rows: Iterable[Sequence[Any]]) -> None:
        conn = await self._connection()
        await conn.exec_driver_sql(sql.text(conn.dialect.name), [tuple(r) for r in rows])
