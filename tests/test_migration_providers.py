"""Migration 0005 (provider TLS switch and concurrency cap) on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine


async def test_provider_columns_and_defaults(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        columns = await conn.run_sync(
            lambda c: {col["name"]: col for col in inspect(c).get_columns("providers")}
        )
        assert columns["tls_verify"]["nullable"] is False
        assert columns["max_concurrent"]["nullable"] is True
        # A row written without the new columns (as by an older replica) gets verification on.
        await conn.execute(
            text(
                "INSERT INTO providers (id, name, kind, base_url, headers, models, created_at, "
                "updated_at) VALUES ('p1', 'old', 'openai', 'http://x/v1', '{}', '[]', "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        query = "SELECT tls_verify, max_concurrent FROM providers WHERE id = 'p1'"
        row = (await conn.execute(text(query))).one()
    assert bool(row[0]) is True and row[1] is None
