"""Router-wide values in the ``meta`` table (the admin key's hash, the change feed's counter)."""

from __future__ import annotations

from junction.store.serving_db import Conn, Sql

_READ = Sql("SELECT value FROM meta WHERE key = $1")
_ADD = Sql("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
_SET = Sql(
    "INSERT INTO meta (key, value) VALUES ($1, $2) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)


async def read(conn: Conn, key: str) -> str | None:
    value = await conn.value(_READ, key)
    return None if value is None else str(value)


async def add(conn: Conn, key: str, value: str) -> bool:
    """Store ``value`` unless the key holds one already; False when it did."""
    return await conn.execute(_ADD, key, value) == 1


async def put(conn: Conn, key: str, value: str) -> None:
    await conn.execute(_SET, key, value)
