"""Migration 0011 (Disable Think apart from chat history) on SQLite and PostgreSQL: assistants
in the old ``disable_think`` history mode become ``on`` with the switch set, and back."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest
from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from junction.store.db import alembic_config, create_engine
from tests.conftest import PG_SERVER

ROWS = {"a-think": "disable_think", "a-on": "on", "a-off": "off"}


def _to(revision: str, downgrade: bool = False) -> Callable[[Connection], None]:
    def run(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        (command.downgrade if downgrade else command.upgrade)(cfg, revision)

    return run


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An empty database of its own: the migration starts from nothing, whatever other tests
    left in the session's shared PostgreSQL database."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
        yield engine
        await engine.dispose()
        return
    name = "junction_mig_" + secrets.token_hex(4)
    server = await asyncpg.connect(PG_SERVER, timeout=10)
    try:
        await server.execute(f'CREATE DATABASE "{name}"')
        base = PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        engine = create_engine(f"{base}/{name}")
        yield engine
        await engine.dispose()
        await server.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await server.close()


async def test_old_mode_becomes_on_with_the_switch_and_back(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_to("0006"))
        await conn.execute(
            text(
                "INSERT INTO workspaces (id, name, created_at, updated_at) "
                "VALUES ('w1', 'w', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        for name, mode in ROWS.items():
            await conn.execute(
                text(
                    "INSERT INTO assistants (id, workspace_id, name, description, model, "
                    "fallbacks, system_prompt, chat_history, quality_score, created_at, "
                    "updated_at) VALUES (:id, 'w1', :id, '', '[\"p/m\"]', '[]', '', :mode, 0, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"id": name, "mode": mode},
            )
        await conn.run_sync(_to("0011"))
        query = "SELECT id, chat_history, disable_think FROM assistants ORDER BY id"
        rows = {r[0]: (r[1], bool(r[2])) for r in await conn.execute(text(query))}
        assert rows == {
            "a-think": ("on", True),
            "a-on": ("on", False),
            "a-off": ("off", False),
        }
        await conn.run_sync(_to("0006", downgrade=True))
        query = "SELECT id, chat_history FROM assistants ORDER BY id"
        assert {r[0]: r[1] for r in await conn.execute(text(query))} == ROWS
