"""Usage read from the rollups equals what the raw log adds up to, through a SIGTERM with a
full queue, a restart, and (PostgreSQL) two replicas writing at once."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anthropic
import asyncpg
import openai
import pytest

from tests.accounting_support import USER, add_provider, wait_for_logs
from tests.conftest import RouterProcess, Tenant
from tests.upstream import Upstream

HOLD_THE_QUEUE = {"JUNCTION_LOG_FLUSH_INTERVAL": "3600", "JUNCTION_LOG_BATCH_SIZE": "100000"}
FIGURES = ("requests", "errors", "prompt_tokens", "completion_tokens")


def traffic(router: RouterProcess, key: str, rounds: int) -> None:
    """Successes (plain and streamed), upstream failures and unknown assistants."""
    with router.client(key) as client:
        for i in range(rounds):
            if i % 5 == 4:
                with pytest.raises(openai.APIStatusError):
                    client.chat.completions.create(model="broken", messages=USER)
            elif i % 7 == 6:
                with pytest.raises(openai.NotFoundError):
                    client.chat.completions.create(model="nobody", messages=USER)
            elif i % 3 == 0:
                with client.chat.completions.create(
                    model="bot", messages=USER, stream=True
                ) as stream:
                    for _ in stream:
                        pass
            else:
                client.chat.completions.create(model="helper", messages=USER)


def in_parallel(*jobs: tuple[RouterProcess, str, int]) -> None:
    errors: list[BaseException] = []

    def run(job: tuple[RouterProcess, str, int]) -> None:
        try:
            traffic(*job)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def setup_workspace(router: RouterProcess, upstream: Upstream) -> tuple[Tenant, str]:
    add_provider(router, upstream)
    with router.admin() as admin:
        assert admin.post("/workspaces", json={"name": "team"}).status_code == 201
        keys = [admin.post("/workspaces/team/keys", json={"name": n}).json() for n in "ab"]
        for name, model in (
            ("bot", "local/echo"),
            ("helper", "local/echo"),
            ("broken", "local/fail"),
        ):
            made = admin.post("/workspaces/team/assistants", json={"name": name, "model": model})
            assert made.status_code == 201, made.text
    return Tenant(router, "team", keys[0]["key"], keys[0]["id"]), keys[1]["key"]


def _at(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(entry["created_at"].replace("Z", "+00:00"))


def from_log(entries: list[dict[str, Any]], group_by: str) -> dict[Any, dict[str, float]]:
    out: dict[Any, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for e in entries:
        created = _at(e)
        value = {
            "assistant": e["assistant"],
            "key": e["key_id"],
            "model": e["model"],
            "endpoint": e["endpoint"],
            "day": created.astimezone(UTC).date().isoformat(),
            "hour": created.astimezone(UTC).replace(minute=0, second=0, microsecond=0).isoformat(),
        }[group_by]
        row = out[value]
        row["requests"] += 1
        row["errors"] += e["status"] >= 400
        row["prompt_tokens"] += e["prompt_tokens"]
        row["completion_tokens"] += e["completion_tokens"]
        row["cost"] += e["cost"]
    return out


def assert_usage_equals_log(router: RouterProcess, expected_count: int) -> None:
    # The log is written behind in batches: the router's last batch may land a moment after
    # the traffic ended. Lost rows still fail here, once the wait is over.
    entries = wait_for_logs(router, "team", expected_count, timeout=15)
    assert len(entries) == expected_count
    first = min(_at(e) for e in entries)
    last = max(_at(e) for e in entries)
    ranges: list[tuple[datetime | None, datetime | None]] = [
        (None, None),
        (first - timedelta(hours=2), None),
        (first + timedelta(microseconds=1), last),  # inside an hour: partial hours from rows
    ]
    with router.admin() as admin:
        for since, until in ranges:
            params = {"since": since.isoformat()} if since else {}
            if until:
                params["until"] = until.isoformat()
            chosen = [
                e
                for e in entries
                if (since is None or _at(e) >= since) and (until is None or _at(e) < until)
            ]
            for group_by in ("assistant", "key", "model", "endpoint", "day", "hour"):
                answer = admin.get(
                    "/workspaces/team/usage", params={"group_by": group_by, **params}
                )
                assert answer.status_code == 200, answer.text
                field = "key_id" if group_by == "key" else group_by
                got = {r[field]: r for r in answer.json()["data"]}
                want = from_log(chosen, group_by)
                assert set(got) == set(want), (group_by, params)
                for value, figures in want.items():
                    for name in FIGURES:
                        assert got[value][name] == figures[name], (group_by, value, name)
                    assert got[value]["cost"] == pytest.approx(figures["cost"])
                assert answer.json()["total"]["requests"] == len(chosen)


def test_usage_equals_the_log_through_sigterm_and_restart(
    tmp_path: Path, upstream: Upstream
) -> None:
    first = RouterProcess(tmp_path, HOLD_THE_QUEUE).start(timeout=60)
    restarted: RouterProcess | None = None
    try:
        tenant, other_key = setup_workspace(first, upstream)
        in_parallel((first, tenant.key, 40), (first, other_key, 30))
        assert first.stop() in (0, -15)  # SIGTERM: the whole queue is stored, rollups with it
        restarted = RouterProcess(tmp_path, {}, admin_key=first.admin_key).start(timeout=60)
        in_parallel((restarted, tenant.key, 20), (restarted, other_key, 20))
        restarted.stop()  # and once more, with the writer flushing as it goes
        restarted = RouterProcess(tmp_path, {}, admin_key=first.admin_key).start(timeout=60)
        assert_usage_equals_log(restarted, 110)
    finally:
        first.stop()
        if restarted is not None:
            restarted.stop()


def test_usage_by_front_door_through_the_openai_and_anthropic_clients(
    tmp_path: Path, upstream: Upstream
) -> None:
    router = RouterProcess(tmp_path, {"JUNCTION_LOG_FLUSH_INTERVAL": "0.05"}).start(timeout=60)
    claude = anthropic.Anthropic(base_url=router.url, api_key="", max_retries=0)
    try:
        tenant, other_key = setup_workspace(router, upstream)
        with router.client(tenant.key) as client:
            for _ in range(3):
                client.chat.completions.create(model="helper", messages=USER)
            with client.chat.completions.create(model="bot", messages=USER, stream=True) as s:
                for _ in s:
                    pass
            for _ in range(2):
                client.responses.create(model="helper", input="hello world")
        claude = claude.with_options(api_key=other_key)
        for _ in range(4):
            claude.messages.create(model="bot", max_tokens=50, messages=USER)
        with pytest.raises(anthropic.NotFoundError):
            claude.messages.create(model="nobody", max_tokens=50, messages=USER)
        assert len(wait_for_logs(router, "team", 11)) == 11
        with router.admin() as admin:
            answer = admin.get("/workspaces/team/usage", params={"group_by": "endpoint"}).json()
        by_door = {r["endpoint"]: r for r in answer["data"]}
        assert {door: r["requests"] for door, r in by_door.items()} == {
            "chat.completions": 4,
            "responses.create": 2,
            "messages": 5,
        }
        assert by_door["messages"]["client_errors"] == 1
        assert all(r["prompt_tokens"] > 0 and r["completion_tokens"] > 0 for r in by_door.values())
        assert answer["total"]["requests"] == 11
        assert_usage_equals_log(router, 11)  # every grouping, whole and partial hours
    finally:
        claude.close()
        router.stop()


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[str]:
    name = "junction_roll_" + uuid.uuid4().hex[:8]
    server = pg_url.replace("postgresql+asyncpg://", "postgresql://").rsplit("/", 1)[0]

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(server + "/test")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    yield pg_url.rsplit("/", 1)[0] + "/" + name
    asyncio.run(run(f'DROP DATABASE "{name}" WITH (FORCE)'))


def test_usage_equals_the_log_with_two_replicas_on_postgresql(
    tmp_path: Path, upstream: Upstream, pg_database: str
) -> None:
    env = {
        "JUNCTION_DATABASE_URL": pg_database,
        "JUNCTION_SECRET_KEY": "shared-secret-rollups",
        "JUNCTION_CONFIG_POLL_SECONDS": "0.2",
    }
    a = RouterProcess(tmp_path / "a", {**env, **HOLD_THE_QUEUE})
    b = RouterProcess(
        tmp_path / "b", {**env, "JUNCTION_LOG_BATCH_SIZE": "7"}, admin_key=a.admin_key
    )
    a_again: RouterProcess | None = None
    for proc in (a, b):
        proc.data_dir.mkdir()
    try:
        a.start(timeout=60)
        tenant, other_key = setup_workspace(a, upstream)
        b.start(timeout=60)
        # Both replicas write at once (b in small batches), then a stops with its queue full.
        in_parallel((a, tenant.key, 30), (b, other_key, 30), (b, tenant.key, 25))
        assert a.stop() in (0, -15)
        a_again = RouterProcess(tmp_path / "a", env, admin_key=a.admin_key).start(timeout=60)
        in_parallel((a_again, other_key, 20), (b, tenant.key, 20))
        b.stop()
        assert_usage_equals_log(a_again, 125)
    finally:
        for proc in (a, b, a_again):
            if proc is not None:
                proc.stop()
