"""The history store's durability: restarts, retention, failed writes, PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from junction.history.store import ConversationStore
from junction.settings import Settings
from junction.store.db import migrate
from junction.store.orm import LazyOrm
from junction.store.serving_db import open_database
from junction.tokens.counter import TokenCounter
from tests.conftest import RouterProcess, Tenant, make_tenant
from tests.upstream import Upstream


def _serve(data_dir: Path, upstream: Upstream, env: dict[str, str]) -> RouterProcess:
    proc = RouterProcess(data_dir, env).start()
    with proc.admin() as admin:
        response = admin.post(
            "/providers", json={"name": "local", "kind": "openai", "base_url": upstream.url}
        )
        assert response.status_code in (201, 409), response.text
    return proc


def _ask(tenant: Tenant, text: str, conversation: str) -> None:
    tenant.client().chat.completions.create(
        model="bot",
        messages=[{"role": "user", "content": text}],
        extra_headers={"X-Conversation-Id": conversation},
    )


def _messages(router: RouterProcess, key: str, conversation: str) -> list[str] | None:
    response = httpx.get(
        f"{router.url}/v1/conversations/{conversation}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return [m["content"] for m in response.json()["messages"]]


def _until_stored(router: RouterProcess, key: str, turns: list[str], ceiling: float = 15) -> None:
    deadline = time.monotonic() + ceiling
    while (seen := _messages(router, key, "shared")) != turns:
        assert time.monotonic() < deadline, seen
        time.sleep(0.05)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        yield {}
    else:
        yield {"JUNCTION_DATABASE_URL": request.getfixturevalue("pg_url")}


def test_turns_survive_a_restart(
    tmp_path: Path, upstream: Upstream, database_env: dict[str, str]
) -> None:
    # Writes are batched an hour apart here: only the shutdown flush can have saved them.
    env = {**database_env, "JUNCTION_HISTORY_FLUSH_SECONDS": "3600"}
    router = _serve(tmp_path, upstream, env)
    try:
        tenant = make_tenant(router)
        tenant.assistant("bot", chat_history="on")
        _ask(tenant, "one", "durable")
        _ask(tenant, "two", "durable")
    finally:
        assert router.stop() in (0, -15), router.log()
    again = RouterProcess(tmp_path, env, admin_key=router.admin_key).start()
    try:
        assert _messages(again, tenant.key, "durable") == ["one", "echo: one", "two", "echo: two"]
        tenant.router = again
        _ask(tenant, "three", "durable")
        assert [m["content"] for m in upstream.last()["messages"]] == [
            "one",
            "echo: one",
            "two",
            "echo: two",
            "three",
        ]
    finally:
        again.stop()


def test_retention_deletes_old_turns_and_emptied_conversations(
    tmp_path: Path, upstream: Upstream
) -> None:
    env = {
        "JUNCTION_HISTORY_RETENTION_DAYS": str(4 / 86400),  # four seconds
        "JUNCTION_HISTORY_PURGE_SECONDS": "0.25",
        "JUNCTION_HISTORY_FLUSH_SECONDS": "0.1",
    }
    router = _serve(tmp_path, upstream, env)
    try:
        tenant = make_tenant(router)
        tenant.assistant("bot", chat_history="on")
        _ask(tenant, "old", "r")
        _ask(tenant, "lonely", "gone")
        time.sleep(2.5)
        _ask(tenant, "new", "r")
        assert _messages(router, tenant.key, "r") == ["old", "echo: old", "new", "echo: new"]
        deadline = time.monotonic() + 15
        while _messages(router, tenant.key, "gone") is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _messages(router, tenant.key, "gone") is None, "its only turn expired"
        assert _messages(router, tenant.key, "r") == ["new", "echo: new"], "recent turns stay"
        with router.admin() as admin:
            listed = admin.get(f"/workspaces/{tenant.name}/conversations").json()["data"]
        assert [(c["conversation_id"], c["turns"]) for c in listed] == [("r", 1)]
    finally:
        router.stop()


async def test_a_failed_write_is_kept_and_retried(tmp_path: Path, pg_url: str) -> None:
    import asyncpg

    from junction.store.models import Workspace

    # A database that does not exist yet: the write fails as in an outage, and is kept.
    base, _, name = pg_url.rpartition("/")
    missing = f"{base}/{name}_later"
    settings = Settings(data_dir=tmp_path, database_url=missing, history_flush_seconds=3600)
    orm, port = LazyOrm(missing), open_database(missing)
    engine = orm.engine
    sessions = orm.sessions
    store = ConversationStore(settings, port, orm, TokenCounter())
    server = base.replace("postgresql+asyncpg://", "postgresql://") + "/test"
    try:
        state = store.create("ws_1", "key_1", "c", "bot")
        store.append(state, [{"role": "user", "content": "kept"}], "bot", "req_1")
        with pytest.raises(Exception, match="does not exist"):
            await store.flush()
        assert state.unwritten == 1
        conn = await asyncpg.connect(server)
        await conn.execute(f'CREATE DATABASE "{name}_later"')
        await conn.close()
        await migrate(engine)
        async with sessions() as s:
            s.add(Workspace(id="ws_1", name="w"))
            await s.commit()
        await store.flush()
        assert state.unwritten == 0
        fresh = ConversationStore(settings, port, orm, TokenCounter())
        loaded = await fresh.get("ws_1", "key_1", "c")
        assert loaded is not None
        assert [m["content"] for m in loaded.messages()] == ["kept"]
        assert loaded.turns[0].tokens == 3 + 1
    finally:
        await orm.dispose()
        await port.close()
        conn = await asyncpg.connect(server)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}_later" WITH (FORCE)')
        await conn.close()


async def test_turns_of_a_deleted_workspace_do_not_block_the_rest(tmp_path: Path) -> None:
    from junction.store.models import Workspace

    settings = Settings(data_dir=tmp_path, history_flush_seconds=3600)
    orm, port = (
        LazyOrm(settings.resolved_database_url()),
        open_database(settings.resolved_database_url()),
    )
    engine = orm.engine
    await migrate(engine)
    sessions = orm.sessions
    async with sessions() as s:
        s.add(Workspace(id="ws_live", name="live"))
        await s.commit()
    store = ConversationStore(settings, port, orm, TokenCounter())
    try:
        gone = store.create("ws_gone", "key_1", "c", "bot")
        live = store.create("ws_live", "key_1", "c", "bot")
        store.append(gone, [{"role": "user", "content": "orphan"}], "bot", "req_1")
        store.append(live, [{"role": "user", "content": "kept"}], "bot", "req_2")
        await store.flush()
        assert gone.unwritten == live.unwritten == 0
        fresh = ConversationStore(settings, port, orm, TokenCounter())
        assert await fresh.get("ws_gone", "key_1", "c") is None
        loaded = await fresh.get("ws_live", "key_1", "c")
        assert loaded is not None and loaded.messages()[0]["content"] == "kept"
    finally:
        await orm.dispose()
        await port.close()


async def test_concurrent_first_reads_share_one_load(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    orm, port = (
        LazyOrm(settings.resolved_database_url()),
        open_database(settings.resolved_database_url()),
    )
    engine = orm.engine
    await migrate(engine)
    store = ConversationStore(settings, port, orm, TokenCounter())
    try:
        results = await asyncio.gather(*(store.get("ws", "k", "same") for _ in range(5)))
        assert results == [None] * 5
        opened = await asyncio.gather(*(store.open("ws", "k", "x", "bot") for _ in range(5)))
        assert all(o is opened[0] for o in opened), "one state per conversation"
    finally:
        await orm.dispose()
        await port.close()


def test_replicas_on_one_database_share_conversations(
    tmp_path: Path, upstream: Upstream, pg_url: str
) -> None:
    # Without sticky routing, replicas re-read a conversation on each request (cache 0 s).
    env = {
        "JUNCTION_DATABASE_URL": pg_url,
        "JUNCTION_SECRET_KEY": "replicas-share-this-secret",
        "JUNCTION_HISTORY_FLUSH_SECONDS": "0.05",
        "JUNCTION_HISTORY_CACHE_SECONDS": "0",
    }
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    first = _serve(tmp_path / "a", upstream, env)
    second: RouterProcess | None = None
    try:
        tenant = make_tenant(first)
        tenant.assistant("bot", chat_history="on")
        second = RouterProcess(tmp_path / "b", env, admin_key=first.admin_key).start()
        replica = Tenant(second, tenant.name, tenant.key, tenant.key_id)
        _ask(tenant, "one", "shared")
        # Written behind: wait until the other replica reads the turn from the database.
        _until_stored(second, tenant.key, ["one", "echo: one"])
        _ask(replica, "two", "shared")
        assert [m["content"] for m in upstream.last()["messages"]] == ["one", "echo: one", "two"]
        _until_stored(first, tenant.key, ["one", "echo: one", "two", "echo: two"])
        _ask(tenant, "three", "shared")
        assert [m["content"] for m in upstream.last()["messages"]] == [
            "one",
            "echo: one",
            "two",
            "echo: two",
            "three",
        ]
    finally:
        first.stop()
        if second is not None:
            second.stop()
