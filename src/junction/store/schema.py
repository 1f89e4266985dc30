"""Whether the schema is current, checked without SQLAlchemy or Alembic.

A database already at the newest revisions (``HEADS``) is recognised by one query on
``alembic_version``; only a database behind them imports SQLAlchemy and Alembic to migrate
(``db.migrate``), so a router starting on a current database loads neither.
"""

from __future__ import annotations

from junction.store.serving_db import Conn, Database, Sql

# The revisions at the tips of the migration tree: a database whose alembic_version holds
# exactly these needs nothing. tests/test_store.py checks it against Alembic's own heads.
HEADS = frozenset({"0014"})
_VERSIONS = Sql("SELECT version_num FROM alembic_version")


async def at_heads(conn: Conn) -> bool:
    """Whether the database is at ``HEADS`` already (False when it has no schema yet)."""
    try:
        rows = await conn.fetch(_VERSIONS)
    except Exception:  # no alembic_version table yet (or unreadable): Alembic decides
        return False
    return {str(row[0]) for row in rows} == HEADS


async def ensure_schema(db: Database, url: str) -> None:
    """The router's start: nothing more than ``at_heads`` when the schema is current."""
    if await at_heads(db):
        return
    from junction.store.db import create_engine, migrate

    engine = create_engine(url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
