"""Migration 0011 (Disable Think apart from chat history) on SQLite and PostgreSQL: assistants
in the old ``disable_think`` history mode become ``on`` with the switch set, and back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from junction.store import models as m
from junction.store.db import alembic_config, create_engine

ROWS = {"a-think": "disable_think", "a-on": "on", "a-off": "off"}


def _to(revision: str, downgrade: bool = False) -> Callable[[Connection], None]:
    def run(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        (command.downgrade if downgrade else command.upgrade)(cfg, revision)

    return run


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(
    request: pytest.FixtureRequest, tmp_path: Path, pg_url: str
) -> AsyncIterator[AsyncEngine]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}" if request.param == "sqlite" else pg_url
    engine = create_engine(url)
    yield engine
    if request.param == "postgresql":
        async with engine.begin() as conn:
            await conn.run_sync(m.Base.metadata.drop_all)
            await conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    await engine.dispose()


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
