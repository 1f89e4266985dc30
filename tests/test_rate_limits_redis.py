"""Limits shared through the real Redis (127.0.0.1:6379) by two router processes, and what
happens when Redis goes away and comes back (a loopback proxy in front of it is cut)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.conftest import RouterProcess, Tenant, clear_of_minute_boundary, make_tenant
from tests.tcp_proxy import TcpProxy
from tests.upstream import Upstream

REDIS = "redis://127.0.0.1:6379/0"
USER = [{"role": "user", "content": "hello world"}]


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this run's own, so parallel runs never share counters; removed after.
    Fails (never skips) when Redis is missing."""
    name = "junction-test-" + secrets.token_hex(4)
    client = redis.Redis.from_url(REDIS)
    client.ping()
    yield name
    keys = list(client.scan_iter(f"{name}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def chat(router: RouterProcess, key: str) -> httpx.Response:
    return httpx.post(
        router.url + "/v1/chat/completions",
        json={"model": "bot", "messages": USER},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )


def start(data_dir: Path, env: dict[str, str], admin_key: str | None = None) -> RouterProcess:
    proc = RouterProcess(data_dir, env)
    if admin_key:
        proc.admin_key = admin_key
    return proc.start()


def setup_tenant(router: RouterProcess, upstream: Upstream, **limits: int) -> Tenant:
    with router.admin() as admin:
        response = admin.post(
            "/providers", json={"name": "local", "kind": "openai", "base_url": upstream.url}
        )
        assert response.status_code == 201, response.text
    tenant = make_tenant(router)
    with router.admin() as admin:
        response = admin.post(f"/workspaces/{tenant.name}/keys", json={"name": "lim", **limits})
        assert response.status_code == 201, response.text
    tenant.key = response.json()["key"]
    tenant.assistant("bot")
    return tenant


def test_two_routers_share_one_limit_through_redis(
    tmp_path: Path, upstream: Upstream, prefix: str
) -> None:
    env = {"JUNCTION_REDIS_URL": REDIS, "JUNCTION_REDIS_PREFIX": prefix}
    a = start(tmp_path, env)
    b: RouterProcess | None = None
    try:
        tenant = setup_tenant(a, upstream, rpm_limit=4)
        # The second replica shares the database (and so the key) and Redis.
        b = start(tmp_path, env, admin_key=a.admin_key)
        clear_of_minute_boundary()  # the sliding window below counts exactly within a minute
        statuses = [chat(r, tenant.key).status_code for r in (a, b, a, b)]
        assert statuses == [200, 200, 200, 200]
        refused = [chat(r, tenant.key) for r in (a, b)]
        assert [r.status_code for r in refused] == [429, 429], "each alone would allow 4"
        assert refused[1].headers["x-ratelimit-remaining-requests"] == "0"
        stored = redis.Redis.from_url(REDIS)
        assert list(stored.scan_iter(f"{prefix}:ratelimit*")), "the counters live in Redis"
        stored.close()
        ready = httpx.get(
            b.url + "/readyz", headers={"Authorization": f"Bearer {b.admin_key}"}
        ).json()
        assert ready["rate_limits"]["backend"] == "redis"
    finally:
        if b is not None:
            b.stop()
        a.stop()


def test_redis_down_fails_open_and_limits_return(
    tmp_path: Path, upstream: Upstream, prefix: str
) -> None:
    with TcpProxy("127.0.0.1", 6379) as proxy:
        env = {
            "JUNCTION_REDIS_URL": f"redis://127.0.0.1:{proxy.port}/0",
            "JUNCTION_REDIS_PREFIX": prefix,
            "JUNCTION_REDIS_RETRY_SECONDS": "0.5",
            # Generous for a loaded machine: with Redis cut, connections are refused at once,
            # and once it is back no call may fall back to in-process counters by being slow.
            "JUNCTION_REDIS_TIMEOUT": "5",
        }
        router = start(tmp_path, env)
        try:
            tenant = setup_tenant(router, upstream, rpm_limit=3)
            # Everything below counts exactly within one minute (the Redis counters from
            # before the outage as well as the in-process ones during it).
            clear_of_minute_boundary(margin=30)
            assert [chat(router, tenant.key).status_code for _ in range(2)] == [200, 200]

            proxy.cut()
            # Served all the same, on in-process counters that start afresh (3 per minute).
            down = [chat(router, tenant.key).status_code for _ in range(4)]
            assert down == [200, 200, 200, 429], "in-process limits still apply"
            ready = httpx.get(
                router.url + "/readyz", headers={"Authorization": f"Bearer {router.admin_key}"}
            ).json()
            assert ready["status"] == "ready"
            assert ready["rate_limits"]["backend"] == "memory (redis unreachable)"
            assert ready["rate_limits"]["redis_failures"] >= 1
            assert ready["rate_limits"]["in_process_fallbacks"] >= 4
            assert "Redis is unreachable" in router.log()

            proxy.restore()
            time.sleep(0.6)  # past the retry interval
            # Redis still holds the 2 requests counted before the outage: one more fits.
            back = [chat(router, tenant.key).status_code for _ in range(2)]
            assert back == [200, 429]
            ready = httpx.get(
                router.url + "/readyz", headers={"Authorization": f"Bearer {router.admin_key}"}
            ).json()
            assert ready["rate_limits"]["backend"] == "redis"
            assert "shared limits restored" in router.log()
        finally:
            router.stop()
