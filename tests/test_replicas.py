"""Several router processes on one PostgreSQL and Redis serve the same workspaces."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import openai
import pytest

from tests.conftest import RouterProcess
from tests.upstream import Upstream

USER = [{"role": "user", "content": "hi"}]
REDIS = "redis://127.0.0.1:6379/0"
# How long a change may take to reach the other replica. Generous for a loaded machine, and
# still far below the 30 s version poll these replicas run with: only Redis is that fast.
PROPAGATION = 10.0


def _until(check: Callable[[], bool], seconds: float) -> float:
    """Seconds until ``check()`` holds; fails after ``seconds``."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if check():
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"not true within {seconds}s")


@pytest.fixture
def pair(tmp_path: Path, pg_url: str) -> Iterator[tuple[RouterProcess, RouterProcess]]:
    """Two replicas started at the same moment on an empty database."""
    # A fresh schema per test: the database of pg_url is shared, so use a unique one here.
    import asyncio

    import asyncpg

    name = "junction_rep_" + uuid.uuid4().hex[:8]
    server = pg_url.replace("postgresql+asyncpg://", "postgresql://").rsplit("/", 1)[0]

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(server + "/test")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    url = pg_url.rsplit("/", 1)[0] + "/" + name
    env = {
        "JUNCTION_DATABASE_URL": url,
        "JUNCTION_REDIS_URL": REDIS,
        "JUNCTION_REDIS_PREFIX": name,  # its own counters and channel, whatever else runs
        "JUNCTION_SECRET_KEY": "shared-secret-" + name,
        "JUNCTION_CONFIG_POLL_SECONDS": "30",  # make the test prove Redis does the work
    }
    a = RouterProcess(tmp_path / "a", env)
    b = RouterProcess(tmp_path / "b", env, admin_key=a.admin_key)
    for proc in (a, b):
        proc.data_dir.mkdir()
    errors: list[BaseException] = []

    def start(proc: RouterProcess) -> None:
        try:
            proc.start(timeout=120)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(p,)) for p in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not errors, errors
        yield a, b
    finally:
        a.stop()
        b.stop()
        asyncio.run(run(f'DROP DATABASE "{name}" WITH (FORCE)'))


def test_both_replicas_start_together_and_migrate_once(
    pair: tuple[RouterProcess, RouterProcess],
) -> None:
    a, b = pair
    migrated = [p for p in (a, b) if "Running upgrade" in p.log()]
    assert len(migrated) == 1, (a.log(), b.log())


def test_changes_on_one_replica_apply_on_the_other(
    pair: tuple[RouterProcess, RouterProcess], upstream: Upstream
) -> None:
    a, b = pair
    with a.admin() as admin:
        assert (
            admin.post("/providers", json={"name": "up", "base_url": upstream.url}).status_code
            == 201
        )
        admin.post("/workspaces", json={"name": "team"})
        created = admin.post("/workspaces/team/keys", json={"name": "app"}).json()
        admin.post(
            "/workspaces/team/assistants",
            json={"name": "bot", "model": "up/echo", "system_prompt": "first"},
        )
    key = created["key"]

    def b_answers() -> bool:
        try:
            b.client(key).chat.completions.create(model="bot", messages=USER)
            return True
        except (openai.AuthenticationError, openai.NotFoundError):
            return False

    _until(b_answers, PROPAGATION)

    with a.admin() as admin:
        admin.patch("/workspaces/team/assistants/bot", json={"system_prompt": "second"})

    def b_has_new_prompt() -> bool:
        b.client(key).chat.completions.create(model="bot", messages=USER)
        return bool(upstream.last()["messages"][0]["content"] == "second")

    _until(b_has_new_prompt, PROPAGATION)

    with a.admin() as admin:
        assert admin.delete(f"/workspaces/team/keys/{created['id']}").status_code == 204

    def b_refuses() -> bool:
        try:
            b.client(key).models.list()
            return False
        except openai.AuthenticationError:
            return True

    _until(b_refuses, PROPAGATION)


def test_usage_and_budget_hold_across_replicas(
    pair: tuple[RouterProcess, RouterProcess], upstream: Upstream
) -> None:
    a, b = pair
    with a.admin() as admin:
        admin.post("/providers", json={"name": "up", "base_url": upstream.url})
        admin.post("/workspaces", json={"name": "team", "monthly_token_budget": 9})
        key = admin.post("/workspaces/team/keys", json={"name": "app"}).json()["key"]
        admin.post("/workspaces/team/assistants", json={"name": "bot", "model": "up/echo"})

    def b_knows_the_key() -> bool:
        try:
            b.client(key).models.list()
            return True
        except openai.AuthenticationError:
            return False

    _until(b_knows_the_key, PROPAGATION)
    spent = 0
    for proc in (a, a, b):  # the echo upstream charges 1 + 2 tokens for "hi"
        answer = proc.client(key).chat.completions.create(model="bot", messages=USER)
        assert answer.usage is not None
        spent += answer.usage.total_tokens
    assert spent == 9, "the budget is now used up, across the two replicas together"

    # B served only 3 of the 9 tokens itself: it refuses on A's spend too, once the replicas
    # have exchanged their spend (every 0.5 s).
    codes: list[str | None] = []
    for proc in (b, a):

        def refuses(proc: RouterProcess = proc) -> bool:
            nonlocal spent
            try:
                answer = proc.client(key).chat.completions.create(model="bot", messages=USER)
            except openai.RateLimitError as refused:
                codes.append(refused.code)
                return True
            assert answer.usage is not None  # not yet told: this answer is spent too
            spent += answer.usage.total_tokens
            return False

        _until(refuses, PROPAGATION)
        assert codes[-1] == "insufficient_quota"

    def usage_adds_up() -> bool:
        with b.admin() as admin:
            rows = admin.get("/workspaces/team/usage", params={"group_by": "assistant"}).json()
        bot = [r for r in rows["data"] if r["assistant"] == "bot"]
        return bool(bot) and bot[0]["prompt_tokens"] + bot[0]["completion_tokens"] == spent

    _until(usage_adds_up, PROPAGATION)


def test_a_batch_on_one_replica_is_applied_on_the_other_from_the_feed(
    pair: tuple[RouterProcess, RouterProcess], upstream: Upstream
) -> None:
    a, b = pair
    operations = [{"method": "POST", "path": "/workspaces", "body": {"name": "team"}}]
    operations += [
        {"method": "POST", "path": "/workspaces/team/keys", "body": {"name": f"k{i}"}}
        for i in range(50)
    ]
    operations.append(
        {
            "method": "POST",
            "path": "/workspaces/team/assistants",
            "body": {"name": "bot", "model": "up/echo"},
        }
    )
    with a.admin() as admin:
        admin.post("/providers", json={"name": "up", "base_url": upstream.url})
        done = admin.post("/batch", json={"operations": operations})
    assert done.status_code == 200, done.text
    keys = [answer["key"] for answer in done.json()["data"][1:-1]]

    def b_serves_the_last_key() -> bool:
        try:
            return [m.id for m in b.client(keys[-1]).models.list()] == ["bot"]
        except openai.AuthenticationError:
            return False

    _until(b_serves_the_last_key, PROPAGATION)  # the benchmark measures how soon
    assert [m.id for m in b.client(keys[0]).models.list()] == ["bot"]
    assert "full reload" not in b.log(), "B applied the feed's entries, not everything"


def test_a_restarted_replica_serves_at_once_and_follows_changes(
    pair: tuple[RouterProcess, RouterProcess], upstream: Upstream
) -> None:
    """Start-up does not wait for the catalog: B, restarted on a catalog, answers its keys
    and refuses unknown ones from its first request on, loads the rest in the background,
    then follows changes made on A as before."""
    a, b = pair
    operations: list[dict[str, object]] = []
    for w in range(20):
        operations.append({"method": "POST", "path": "/workspaces", "body": {"name": f"t{w}"}})
        operations += [
            {"method": "POST", "path": f"/workspaces/t{w}/keys", "body": {"name": f"k{i}"}}
            for i in range(5)
        ]
        operations.append(
            {
                "method": "POST",
                "path": f"/workspaces/t{w}/assistants",
                "body": {"name": "bot", "model": "up/echo"},
            }
        )
    with a.admin() as admin:
        admin.post("/providers", json={"name": "up", "base_url": upstream.url})
        done = admin.post("/batch", json={"operations": operations})
    assert done.status_code == 200, done.text
    created = [answer for answer in done.json()["data"] if "key" in answer]
    assert len(created) == 100
    b.stop()
    b.start()
    answer = b.client(created[-1]["key"]).chat.completions.create(model="bot", messages=USER)
    assert answer.choices[0].message.content == "echo: hi"
    with pytest.raises(openai.AuthenticationError):
        b.client("jk-not-a-key-of-this-router").models.list()
    _until(lambda: "configuration loaded: 20 workspaces, 100 keys" in b.log(), PROPAGATION)
    with b.admin() as admin:  # admin reads see the whole catalog
        assert len(admin.get("/workspaces", params={"search": "t1"}).json()["data"]) == 11

    revoked = created[0]
    with a.admin() as admin:
        assert admin.delete(f"/workspaces/t0/keys/{revoked['id']}").status_code == 204

    def b_refuses() -> bool:
        try:
            b.client(revoked["key"]).models.list()
            return False
        except openai.AuthenticationError:
            return True

    _until(b_refuses, PROPAGATION)
