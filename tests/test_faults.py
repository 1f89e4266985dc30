"""Faults around the router: upstreams that refuse, reset, answer garbage, never end or crawl;
a database that is locked or goes away. The router answers with clear errors, recovers by
itself and loses no stored record."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import RouterProcess, Tenant, free_port, make_tenant
from tests.faulty_upstream import MODELS, FaultyUpstream
from tests.tcp_proxy import TcpProxy
from tests.upstream import Upstream

USER = [{"role": "user", "content": "hello world"}]


@pytest.fixture(scope="module")
def faulty() -> Iterator[FaultyUpstream]:
    with FaultyUpstream() as server:
        yield server


@pytest.fixture
def broken(router: RouterProcess, provider: str, faulty: FaultyUpstream) -> Tenant:
    name = f"faulty-{faulty.port}"
    with router.admin() as admin:
        if admin.get(f"/providers/{name}").status_code == 404:
            response = admin.post(
                "/providers",
                json={
                    "name": name,
                    "base_url": faulty.url,
                    "read_timeout": 1,
                    "models": [{"name": m} for m in MODELS],
                },
            )
            assert response.status_code == 201, response.text
    tenant = make_tenant(router)
    for model in MODELS:
        tenant.assistant(model, model=f"{name}/{model}")
    tenant.assistant("bot")
    return tenant


def _error(tenant: Tenant, model: str) -> openai.APIStatusError:
    with tenant.client(timeout=30) as client, pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model=model, messages=USER)
    return caught.value


def _served(tenant: Tenant, model: str = "bot") -> str | None:
    with tenant.client() as client:
        return client.chat.completions.create(model=model, messages=USER).choices[0].message.content


def test_upstream_refuses_connections(router: RouterProcess, tenant: Tenant) -> None:
    port = free_port()  # nothing listens there
    with router.admin() as admin:
        admin.post(
            "/providers",
            json={
                "name": f"closed-{port}",
                "base_url": f"http://127.0.0.1:{port}/v1",
                "models": [{"name": "m"}],
            },
        )
    tenant.assistant("gone", model=f"closed-{port}/m", fallbacks=["local/echo"])
    tenant.assistant("only-gone", model=f"closed-{port}/m")
    error = _error(tenant, "only-gone")
    assert error.status_code == 502 and "unreachable" in error.message
    # With a fallback the client never notices.
    assert _served(tenant, "gone") == "echo: hello world"


@pytest.mark.parametrize(
    ("model", "status", "words"),
    [
        ("garbage", 502, "failed"),
        ("not-json", 502, "not JSON"),
        ("reset", 502, "failed"),
        ("endless-body", 502, "more than"),
        ("drip", 504, "timed out"),
    ],
)
def test_upstream_misbehaves(broken: Tenant, model: str, status: int, words: str) -> None:
    started = time.monotonic()
    error = _error(broken, model)
    assert error.status_code == status, error.message
    assert words in error.message
    body = error.body
    assert isinstance(body, dict) and set(body) == {"message", "type", "param", "code"}
    if model == "drip":
        # A byte every 0.1 s never trips a 1 s read timeout; the answer deadline does.
        assert time.monotonic() - started < 10
    # The router recovers by itself: the next request is served.
    assert _served(broken) == "echo: hello world"


def test_upstream_resets_mid_stream(broken: Tenant) -> None:
    received: list[str | None] = []

    def read_all() -> None:
        with broken.client() as client:
            stream = client.chat.completions.create(
                model="reset-stream", messages=USER, stream=True
            )
            received.extend(chunk.choices[0].delta.content for chunk in stream)

    with pytest.raises(openai.APIError) as caught:
        read_all()
    assert received == ["one", "two"], "what arrived before the reset was passed on"
    assert "failed" in str(caught.value)
    assert _served(broken) == "echo: hello world"


def test_endless_stream_is_released_when_the_client_stops(
    broken: Tenant, faulty: FaultyUpstream
) -> None:
    with broken.client() as client:
        stream = client.chat.completions.create(model="endless", messages=USER, stream=True)
        for pieces, _chunk in enumerate(stream, 1):
            if pieces == 20:
                break
        assert faulty.open_streams == 1
        stream.close()
    deadline = time.monotonic() + 20
    while faulty.open_streams and time.monotonic() < deadline:
        time.sleep(0.05)
    assert faulty.open_streams == 0, "the router hung up on the upstream"
    assert _served(broken) == "echo: hello world"


def test_sqlite_busy(tmp_path: Path, upstream: Upstream) -> None:
    """Another process holds the database's write lock for two seconds: requests are served
    meanwhile, the admin write waits and lands, and the key's last use is not lost."""
    env = {"JUNCTION_KEY_USAGE_FLUSH_SECONDS": "0.3"}
    router = RouterProcess(tmp_path, env).start()
    try:
        with router.admin() as admin:
            admin.post("/providers", json={"name": "local", "base_url": upstream.url})
        tenant = make_tenant(router)
        tenant.assistant("bot")
        blocker = sqlite3.connect(tmp_path / "junction.db", timeout=5)
        blocker.execute("BEGIN EXCLUSIVE")
        results: dict[str, int] = {}

        def admin_write() -> None:
            with router.admin() as admin:
                response = admin.post("/workspaces", json={"name": "made-while-locked"})
            results["status"] = response.status_code

        writer = threading.Thread(target=admin_write)
        locked_at = time.monotonic()
        writer.start()
        for _ in range(5):
            begun = time.monotonic()
            assert _served(tenant) == "echo: hello world"
            assert time.monotonic() - begun < 3.0, "the data plane does not wait on the database"
        time.sleep(max(0.0, 2.0 - (time.monotonic() - locked_at)))
        assert "status" not in results, "the admin write waits for the lock"
        blocker.rollback()
        blocker.close()
        writer.join(30)
        assert results["status"] == 201
        deadline = time.monotonic() + 20
        used = None
        while used is None and time.monotonic() < deadline:
            with router.admin() as admin:
                keys = admin.get(f"/workspaces/{tenant.name}/keys").json()["data"]
            used = keys[0]["last_used_at"]
            time.sleep(0.1)
        assert used is not None, "uses noted during the lock were written afterwards"
    finally:
        router.stop()


def test_postgres_outage(tmp_path: Path, upstream: Upstream, pg_url: str) -> None:
    """PostgreSQL becomes unreachable (a proxy in front of it is cut; the shared server itself is
    never touched), then comes back."""
    host, port = "127.0.0.1", 5432
    with TcpProxy(host, port) as proxy:
        url = pg_url.replace(f"{host}:{port}", f"127.0.0.1:{proxy.port}")
        env = {
            "JUNCTION_DATABASE_URL": url,
            "JUNCTION_KEY_USAGE_FLUSH_SECONDS": "0.3",
            "JUNCTION_ADMIN_KEY_REFRESH_SECONDS": "0.3",
        }
        router = RouterProcess(tmp_path, env).start()
        try:
            with router.admin() as admin:
                admin.post("/providers", json={"name": "local", "base_url": upstream.url})
            tenant = make_tenant(router)
            tenant.assistant("bot")
            proxy.cut()
            # The data plane runs from memory: it keeps serving.
            for _ in range(3):
                assert _served(tenant) == "echo: hello world"
            ready = httpx.get(router.url + "/readyz", timeout=10)
            assert ready.status_code == 503
            with router.admin() as admin:
                down = admin.get("/workspaces")
            assert down.status_code == 503
            assert down.json()["error"]["code"] == "database_unavailable"
            time.sleep(1.0)  # several failed flushes of last_used_at

            proxy.restore()
            deadline = time.monotonic() + 10
            while httpx.get(router.url + "/readyz", timeout=10).status_code != 200:
                assert time.monotonic() < deadline, "recovers by itself"
                time.sleep(0.2)
            with router.admin() as admin:
                assert admin.post("/workspaces", json={"name": "after"}).status_code == 201
                deadline = time.monotonic() + 20
                used = None
                while used is None and time.monotonic() < deadline:
                    used = admin.get(f"/workspaces/{tenant.name}/keys").json()["data"][0][
                        "last_used_at"
                    ]
                    time.sleep(0.1)
            assert used is not None, "the uses noted during the outage were kept and written"
            log = router.log()
            assert "Traceback" not in log, log[log.find("Traceback") - 300 :][:3000]
        finally:
            router.stop()


def test_router_survives_a_connection_reset_by_its_client(
    router: RouterProcess, tenant: Tenant
) -> None:
    tenant.assistant("bot")
    with socket.create_connection(("127.0.0.1", router.port)) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{"
        )
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    assert _served(tenant) == "echo: hello world"
