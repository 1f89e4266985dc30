"""The SQLAlchemy engine and sessions (the admin API, the UI, the CLI and other features
that are used now and then), and the schema migrations (Alembic).

A database already at the newest revisions (``schema.HEADS``) is recognised by one query on
``alembic_version``, without importing Alembic (about 11 MB and a fifth of a second at start);
only a database behind them runs Alembic.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import event, make_url, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

from junction.store.schema import at_heads
from junction.store.serving_db import SqlAlchemyConn
from junction.store.sqlite_file import TIMEOUT_SECONDS, private_sqlite_file, set_pragmas

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: replicas starting together serialise their migration runs on it.
_MIGRATION_LOCK = 0x6A756E63


def create_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        private_sqlite_file(make_url(url).database)
        engine = create_async_engine(url, connect_args={"timeout": TIMEOUT_SECONDS})
        event.listen(engine.sync_engine, "connect", lambda conn, _record: set_pragmas(conn))
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision; safe when several processes start at once
    (replicas on PostgreSQL: an advisory lock; ``--workers`` on one SQLite file: a file lock)."""
    async with engine.connect() as conn:
        if await at_heads(SqlAlchemyConn(conn)):
            return
    async with _sqlite_file_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        await conn.run_sync(_upgrade)


@asynccontextmanager
async def _sqlite_file_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    fd = os.open(f"{database}.migrate-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _upgrade(connection: Connection) -> None:
    from alembic import command

    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "heads")
