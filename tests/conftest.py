"""Fixtures that start the real things: the router as a process, a test upstream, databases."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import openai
import pytest

from tests.upstream import Upstream, UpstreamThread

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from junction.store.serving_db import Database

PG_SERVER = os.environ.get("JUNCTION_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

# Clients handed out by RouterProcess.client(), closed after each test: a client left to the
# garbage collector warns about its open socket in whichever later test collects it.
_OPEN_CLIENTS: list[openai.OpenAI] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN_CLIENTS:
        _OPEN_CLIENTS.pop().close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def upstream() -> Iterator[Upstream]:
    thread = UpstreamThread()
    state = thread.start()
    yield state
    thread.stop()


@dataclass
class RouterProcess:
    """``junction serve`` in a subprocess, on loopback, with its own data directory."""

    data_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    admin_key: str = field(default_factory=lambda: "ja-test-" + secrets.token_hex(8))
    proc: subprocess.Popen[bytes] | None = None
    extra_args: list[str] = field(default_factory=list)
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0, with_admin_key: bool = True) -> RouterProcess:
        """Start and wait until ``/healthz`` answers (generous: the machine may be loaded)."""
        env = {**os.environ, **self.env, "JUNCTION_DATA_DIR": str(self.data_dir)}
        if with_admin_key:
            env["JUNCTION_ADMIN_KEY"] = self.admin_key
        else:
            env.pop("JUNCTION_ADMIN_KEY", None)
        self.log_path = self.data_dir / f"router-{self.port}.log"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "junction",
                    "serve",
                    "--port",
                    str(self.port),
                    *self.extra_args,
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"router exited early:\n{self.log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"router did not start within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def stop(self) -> int:
        if self.proc is None:
            return 0
        self.proc.terminate()
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url + "/admin/v1",
            headers={"Authorization": f"Bearer {self.admin_key}"},
            timeout=10,
        )

    def client(self, key: str, **kwargs: Any) -> openai.OpenAI:
        client = openai.OpenAI(base_url=self.url + "/v1", api_key=key, max_retries=0, **kwargs)
        _OPEN_CLIENTS.append(client)
        return client


@pytest.fixture(scope="session")
def router(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[RouterProcess]:
    """One router on SQLite shared by the tests; each test makes its own workspace."""
    proc = RouterProcess(tmp_path_factory.mktemp("router"), {}).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def provider(router: RouterProcess, upstream: Upstream) -> str:
    with router.admin() as admin:
        response = admin.post(
            "/providers", json={"name": "local", "kind": "openai", "base_url": upstream.url}
        )
        assert response.status_code == 201, response.text
    return "local"


@dataclass
class Tenant:
    """A workspace with one key, made fresh for a test."""

    router: RouterProcess
    name: str
    key: str
    key_id: str

    def assistant(self, name: str, **fields: Any) -> dict[str, Any]:
        fields.setdefault("model", "local/echo")
        with self.router.admin() as admin:
            response = admin.post(
                f"/workspaces/{self.name}/assistants", json={"name": name, **fields}
            )
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def client(self, **kwargs: Any) -> openai.OpenAI:
        return self.router.client(self.key, **kwargs)


def make_tenant(router: RouterProcess, **settings: Any) -> Tenant:
    name = "ws-" + secrets.token_hex(4)
    with router.admin() as admin:
        response = admin.post("/workspaces", json={"name": name, **settings})
        assert response.status_code == 201, response.text
        response = admin.post(f"/workspaces/{name}/keys", json={"name": "test"})
        assert response.status_code == 201, response.text
    return Tenant(router, name, response.json()["key"], response.json()["id"])


@pytest.fixture
def tenant(router: RouterProcess, provider: str) -> Tenant:
    return make_tenant(router)


def clear_of_minute_boundary(margin: float = 15.0) -> None:
    """In-process rate-limit windows are minutes of the clock, and a sliding window weighs the
    previous minute down as soon as a new one starts: a test that counts requests exactly must
    not straddle that moment. Wait until ``margin`` seconds are left before it."""
    left = 60.0 - time.time() % 60.0
    if left < margin:
        time.sleep(left + 0.05)


@contextlib.contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A new, empty PostgreSQL database (its URL), dropped afterwards. Missing PostgreSQL
    fails, never skips."""
    import asyncio

    import asyncpg

    name = "junction_test_" + secrets.token_hex(4)

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(PG_SERVER, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    base = PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(run(f'DROP DATABASE "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run."""
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(
    request: pytest.FixtureRequest, tmp_path: Path, pg_url: str
) -> AsyncIterator[AsyncEngine]:
    """The store migrated to the newest schema, on SQLite and on PostgreSQL. The PostgreSQL
    database is the run's shared one, so its tables are dropped afterwards."""
    from junction.store.db import create_engine, migrate

    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}" if request.param == "sqlite" else pg_url
    engine = create_engine(url)
    await migrate(engine)
    yield engine
    await drop_store(engine, dropped=request.param == "postgresql")


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncIterator[Database]:
    """The serving port (``store.serving_db``) to the same store as ``engine``."""
    from junction.store.serving_db import open_database

    port = open_database(engine.url.render_as_string(hide_password=False))
    yield port
    await port.close()


async def drop_store(engine: AsyncEngine, dropped: bool) -> None:
    """Dispose of a test's store engine; ``dropped``: its tables are removed first (the run's
    shared PostgreSQL database must be left empty for the next test)."""
    from junction.store import models

    if dropped:
        async with engine.begin() as conn:
            await conn.run_sync(models.Base.metadata.drop_all)
            await conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    await engine.dispose()
