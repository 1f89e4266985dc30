"""Shared pieces of the request-log tests: a router that flushes its log quickly, a priced
provider, and helpers to read the log and the metrics back."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import RouterProcess, Tenant, make_tenant
from tests.upstream import Upstream

USER = [{"role": "user", "content": "hello world"}]
INPUT_PRICE = 2.0  # per million prompt tokens
OUTPUT_PRICE = 10.0  # per million completion tokens
CONTENT_CAP = 300
PRICED_MODELS = [
    {"name": "echo", "input_price": INPUT_PRICE, "output_price": OUTPUT_PRICE},
    {"name": "paced", "input_price": INPUT_PRICE, "output_price": OUTPUT_PRICE},
    {"name": "fail"},
    {"name": "broken-stream"},
]
UPSTREAM_SECRET = "sk-upstream-" + secrets.token_hex(8)


def start_router(data_dir: Path, upstream: Upstream, **env: str) -> RouterProcess:
    """A router with a priced ``local`` provider (whose API key is a secret to look for)."""
    proc = RouterProcess(data_dir, env).start()
    add_provider(proc, upstream)
    return proc


def add_provider(proc: RouterProcess, upstream: Upstream) -> None:
    with proc.admin() as admin:
        made = admin.post(
            "/providers",
            json={
                "name": "local",
                "base_url": upstream.url,
                "api_key": UPSTREAM_SECRET,
                "models": PRICED_MODELS,
            },
        )
        assert made.status_code == 201, made.text


@pytest.fixture(scope="module")
def acct(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[RouterProcess]:
    proc = start_router(
        tmp_path_factory.mktemp("acct"),
        upstream,
        JUNCTION_LOG_FLUSH_INTERVAL="0.05",
        JUNCTION_LOG_CONTENT_MAX_BYTES=str(CONTENT_CAP),
    )
    yield proc
    proc.stop()


@pytest.fixture
def team(acct: RouterProcess) -> Tenant:
    return make_tenant(acct)


def logs(proc: RouterProcess, ws: str | None = None, **params: Any) -> list[dict[str, Any]]:
    """Every entry matching ``params``, following the cursor through all pages."""
    path = f"/workspaces/{ws}/logs" if ws else "/logs"
    found: list[dict[str, Any]] = []
    cursor = None
    with proc.admin() as admin:
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            page = admin.get(path, params=query)
            assert page.status_code == 200, page.text
            body = page.json()
            found += body["data"]
            cursor = body["next_cursor"]
            if cursor is None:
                return found


def wait_for_logs(
    proc: RouterProcess, ws: str | None, count: int, timeout: float = 10, **params: Any
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = logs(proc, ws, limit=1000, **params)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def metrics(proc: RouterProcess) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """``/metrics`` parsed with prometheus-client's own parser: (sample name, labels) -> value."""
    auth = {"Authorization": f"Bearer {proc.admin_key}"}
    response = httpx.get(proc.url + "/metrics", headers=auth, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def metric_sum(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)
