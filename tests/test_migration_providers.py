"""Migration 0005 (provider TLS switch and concurrency cap) on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from junction.store import models as m
from junction.store.db import create_engine, migrate


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(
    request: pytest.FixtureRequest, tmp_path: Path, pg_url: str
) -> AsyncIterator[AsyncEngine]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}" if request.param == "sqlite" else pg_url
    engine = create_engine(url)
    await migrate(engine)
    yield engine
    if request.param == "postgresql":
        async with engine.begin() as conn:
            await conn.run_sync(m.Base.metadata.drop_all)
            await conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    await engine.dispose()


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
