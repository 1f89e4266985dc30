"""The router's own ``/openapi.json`` (admin and data plane) fuzzed with schemathesis.

For every operation, valid and invalid inputs (a bounded number of each, deterministic) are
sent to a real router: no answer may be a 5xx, every error on ``/v1`` must be OpenAI-shaped,
every 4xx on ``/admin`` JSON, and the router must still be serving, with no traceback logged.

Left out: creating or re-pointing a provider, whose ``base_url`` the router would contact (the
fuzzer would make it call arbitrary addresses). Those bodies are validated by the admin tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.conftest import RouterProcess, make_tenant
from tests.upstream import Upstream

EXAMPLES = int(os.environ.get("JUNCTION_FUZZ_EXAMPLES", "10"))
NOT_FUZZED = {("POST", "/admin/v1/providers"), ("PATCH", "/admin/v1/providers/{name}")}


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[Any]:
    router = RouterProcess(tmp_path_factory.mktemp("fuzz"), {}).start()
    with router.admin() as admin:
        admin.post("/providers", json={"name": "local", "base_url": upstream.url})
    tenant = make_tenant(router, rpm_limit=100_000, tpm_limit=10_000_000)
    tenant.assistant("bot")
    yield router, tenant.key
    router.stop()


def _check(method: str, path: str, response: Any) -> None:
    where = f"{method} {path} -> {response.status_code}: {response.text[:300]}"
    assert response.status_code < 500, where
    if response.status_code < 400:
        return
    content_type = response.headers.get("content-type", [""])  # schemathesis: name -> values
    assert content_type[0].startswith("application/json"), where
    body = response.json()
    assert isinstance(body, dict), where
    if path.startswith("/v1/messages"):  # Anthropic's wire format
        assert body.get("type") == "error", where
        assert set(body["error"]) == {"type", "message"}, where
    elif path.startswith("/v1"):
        error = body.get("error")
        assert isinstance(error, dict), where
        assert set(error) == {"message", "type", "param", "code"}, where
        assert isinstance(error["message"], str) and isinstance(error["type"], str), where


def _fuzz(base_url: str, operation: Any, mode: GenerationMode, headers: dict[str, str]) -> None:
    method, path = operation.method.upper(), operation.path

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        _check(method, path, case.call(base_url=base_url, headers=headers, timeout=10))

    run()


def test_openapi_fuzz(fuzzed: tuple[RouterProcess, str]) -> None:
    router, key = fuzzed
    schema = schemathesis.openapi.from_url(router.url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    paths = {(op.method.upper(), op.path) for op in operations}
    assert ("POST", "/v1/chat/completions") in paths and ("GET", "/admin/v1/workspaces") in paths
    tried = {GenerationMode.POSITIVE: 0, GenerationMode.NEGATIVE: 0}
    for operation in operations:
        method, path = operation.method.upper(), operation.path
        if (method, path) in NOT_FUZZED:
            continue
        token = key if path.startswith("/v1") else router.admin_key
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(router.url, operation, mode, {"Authorization": f"Bearer {token}"})
            except Unsatisfiable:
                # Nothing in this operation can be made invalid (no parameters, no body).
                assert mode is GenerationMode.NEGATIVE, (method, path)
                continue
            tried[mode] += 1
    assert tried[GenerationMode.POSITIVE] == len(operations) - len(NOT_FUZZED), tried
    assert tried[GenerationMode.NEGATIVE] >= 10, tried
    assert httpx.get(router.url + "/healthz").status_code == 200
    log = router.log()
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log[-3000:]
