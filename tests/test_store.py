"""The store on both databases: migrations, constraints, cascades, and the catalog built from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from junction.config.catalog import Catalog
from junction.security.secrets import SecretBox
from junction.settings import Settings
from junction.store import models as m
from junction.store.db import alembic_config, migrate, session_factory
from junction.store.schema import HEADS, at_heads
from junction.store.serving_db import Database, Sql, open_database


async def test_migrations_create_every_table_and_are_idempotent(engine: AsyncEngine) -> None:
    await migrate(engine)  # a second start must not fail or change anything
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert {
        "providers",
        "workspaces",
        "api_keys",
        "assistants",
        "meta",
        "alembic_version",
    } <= tables


def test_heads_known_at_build_time_are_alembics_heads() -> None:
    from alembic.script import ScriptDirectory

    assert set(ScriptDirectory.from_config(alembic_config()).get_heads()) == HEADS


async def test_a_database_at_the_heads_is_recognised_without_alembic(
    db: Database, tmp_path: Path
) -> None:
    assert await at_heads(db)
    empty = open_database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        assert not await at_heads(empty)  # no alembic_version table: Alembic runs
        async with empty.transaction() as conn:
            await conn.execute(Sql("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
            await conn.execute(Sql("INSERT INTO alembic_version VALUES ('0006')"))
        assert not await at_heads(empty)  # behind the heads: Alembic runs
    finally:
        await empty.close()


async def test_crud_constraints_and_cascade(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with sessions() as s:
        s.add(m.Workspace(id="ws_1", name="team"))
        await s.commit()
        s.add(m.ApiKey(id="key_1", workspace_id="ws_1", name="k", key_hash="h1", key_prefix="jk-"))
        s.add(m.Assistant(id="a_1", workspace_id="ws_1", name="Bot", model=["p/m"]))
        s.add(m.Assistant(id="a_2", workspace_id="ws_1", name="bot", model=["p/m", "p/n"]))
        await s.commit()
    async with sessions() as s:
        s.add(m.Assistant(id="a_3", workspace_id="ws_1", name="Bot", model=["p/m"]))
        with pytest.raises(IntegrityError):
            await s.commit()
    async with sessions() as s:
        stored = await s.get(m.Assistant, "a_2")
        assert stored is not None and stored.model == ["p/m", "p/n"]
        assert stored.created_at.tzinfo is not None
        await s.delete(await s.get(m.Workspace, "ws_1"))
        await s.commit()
    async with sessions() as s:
        assert (await s.scalars(select(m.Assistant))).all() == []
        assert (await s.scalars(select(m.ApiKey))).all() == []


async def test_catalog_loads_snapshot_and_decrypts_credentials(
    engine: AsyncEngine, db: Database, tmp_path: Path
) -> None:
    box = SecretBox(b"test-secret")
    sessions = session_factory(engine)
    async with sessions() as s:
        s.add(
            m.Provider(
                id="p_1",
                name="vllm",
                kind="openai",
                base_url="http://127.0.0.1:1/v1",
                api_key_encrypted=box.encrypt("sk-x"),
                models=[{"name": "Qwen/Qwen3", "context_length": 32768}],
                headers={"X-Team": "a"},
                tls_verify=False,
            )
        )
        s.add(m.Workspace(id="ws_1", name="team", max_tokens=100))
        await s.flush()
        s.add(
            m.ApiKey(
                id="key_1",
                workspace_id="ws_1",
                name="k",
                key_hash=box.hash_key("jk-a"),
                key_prefix="jk-a",
            )
        )
        s.add(m.Assistant(id="a_1", workspace_id="ws_1", name="bot", model=["vllm/Qwen/Qwen3"]))
        await s.commit()
    catalog = Catalog(Settings(data_dir=tmp_path), db, box)
    await catalog.reload()
    snap = catalog.snapshot
    try:
        assert snap.providers["vllm"].config.api_key == "sk-x"
        # JSON as text and booleans as integers (SQLite), as the serving port reads them.
        assert snap.providers["vllm"].config.headers == {"X-Team": "a"}
        assert snap.providers["vllm"].config.tls_verify is False
        assert snap.providers["vllm"].models["Qwen/Qwen3"].context_length == 32768
        assert snap.keys[box.key_digest("jk-a")].workspace_id == "ws_1"
        assert snap.roster("ws_1")["bot"].model == ("vllm/Qwen/Qwen3",)
        client = snap.providers["vllm"].client
        await catalog.reload()
        assert catalog.snapshot.providers["vllm"].client is client, "unchanged provider reused"
    finally:
        await catalog.close()
