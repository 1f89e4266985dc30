"""Requests and tokens per minute, per key and per workspace, on one router (in-process)."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from tests.conftest import RouterProcess, Tenant, clear_of_minute_boundary, make_tenant
from tests.upstream import Upstream

USER = [{"role": "user", "content": "hello world"}]


@pytest.fixture(autouse=True)
def _whole_minute() -> None:
    clear_of_minute_boundary()


def add_key(tenant: Tenant, **limits: Any) -> str:
    with tenant.router.admin() as admin:
        response = admin.post(f"/workspaces/{tenant.name}/keys", json={"name": "k", **limits})
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    return key


def chat(router: RouterProcess, key: str, model: str = "bot", **body: Any) -> httpx.Response:
    return httpx.post(
        router.url + "/v1/chat/completions",
        json={"model": model, "messages": USER, **body},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )


def test_key_requests_per_minute(router: RouterProcess, tenant: Tenant) -> None:
    tenant.assistant("bot")
    key = add_key(tenant, rpm_limit=2)
    first, second = chat(router, key), chat(router, key)
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    assert second.headers["x-ratelimit-remaining-requests"] == "0"
    assert first.headers["x-ratelimit-reset-requests"].endswith("s")
    assert "x-ratelimit-limit-tokens" not in first.headers, "no token limit is set"

    refused = chat(router, key)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "rate_limit_exceeded" and error["type"] == "rate_limit_exceeded"
    assert "requests per minute" in error["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert int(refused.headers["retry-after-ms"]) > 0
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.headers["x-request-id"].startswith("req_")

    # The official client raises its usual exception; the other key is not affected.
    with router.client(key) as client, pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="bot", messages=USER)
    assert chat(router, tenant.key).status_code == 200


def test_workspace_requests_per_minute_span_its_keys(router: RouterProcess, provider: str) -> None:
    tenant = make_tenant(router, rpm_limit=3)
    tenant.assistant("bot")
    other = add_key(tenant)
    assert chat(router, tenant.key).status_code == 200
    assert chat(router, other).status_code == 200
    last = chat(router, tenant.key)
    assert last.status_code == 200
    assert last.headers["x-ratelimit-remaining-requests"] == "0"
    refused = chat(router, other)
    assert refused.status_code == 429
    assert "workspace" in refused.json()["error"]["message"]
    # Another workspace is not touched.
    neighbour = make_tenant(router, rpm_limit=3)
    neighbour.assistant("bot")
    assert chat(router, neighbour.key).status_code == 200


def test_key_and_workspace_limits_hold_together(router: RouterProcess, provider: str) -> None:
    tenant = make_tenant(router, rpm_limit=10)
    tenant.assistant("bot")
    key = add_key(tenant, rpm_limit=1)
    response = chat(router, key)
    assert response.status_code == 200
    # The tighter of the two is reported.
    assert response.headers["x-ratelimit-limit-requests"] == "1"
    assert chat(router, key).status_code == 429
    # The refused request charged nothing: the workspace still has 10 - 1 left, so this one
    # leaves 8 (a charged refusal would leave 7 and the ninth request below would fail).
    first = chat(router, tenant.key)
    assert first.status_code == 200
    assert first.headers["x-ratelimit-remaining-requests"] == "8"
    for _ in range(8):
        assert chat(router, tenant.key).status_code == 200
    assert chat(router, tenant.key).status_code == 429


def test_key_tokens_are_corrected_by_real_usage(router: RouterProcess, tenant: Tenant) -> None:
    """The estimate of "hello world" is a few tokens; the upstream reports 400 more. Without the
    correction at the end, dozens of requests would fit in 500 tokens per minute."""
    tenant.assistant("pricey", model="local/costly")
    key = add_key(tenant, tpm_limit=500)
    first = chat(router, key, "pricey")
    assert first.status_code == 200, first.text
    assert first.headers["x-ratelimit-limit-tokens"] == "500"
    estimate_left = int(first.headers["x-ratelimit-remaining-tokens"])
    assert 480 <= estimate_left < 500, "only the prompt estimate is charged at the start"
    second = chat(router, key, "pricey")
    assert second.status_code == 200
    assert int(second.headers["x-ratelimit-remaining-tokens"]) < 100, "the first call's usage"
    refused = chat(router, key, "pricey")
    assert refused.status_code == 429
    assert "tokens per minute" in refused.json()["error"]["message"]
    assert refused.headers["x-ratelimit-remaining-tokens"] == "0"


def test_workspace_tokens_per_minute(router: RouterProcess, provider: str) -> None:
    tenant = make_tenant(router, tpm_limit=450)
    tenant.assistant("pricey", model="local/costly")
    other = add_key(tenant)
    assert chat(router, tenant.key, "pricey").status_code == 200  # ~400 tokens used
    assert chat(router, other, "pricey").status_code == 200  # fits by its estimate; fills up
    refused = chat(router, other, "pricey")
    assert refused.status_code == 429
    assert "workspace" in refused.json()["error"]["message"]


def test_a_prompt_larger_than_the_token_limit(router: RouterProcess, provider: str) -> None:
    tenant = make_tenant(router, tpm_limit=50)
    tenant.assistant("bot")
    big = [{"role": "user", "content": "word " * 200}]
    refused = chat(router, tenant.key, messages=big)
    assert refused.status_code == 429
    assert "Request too large" in refused.json()["error"]["message"]
    assert chat(router, tenant.key).status_code == 200, "a small prompt still passes"


def test_headers_on_streams_errors_and_embeddings(
    router: RouterProcess, provider: str, upstream: Upstream
) -> None:
    tenant = make_tenant(router, rpm_limit=100, tpm_limit=100_000)
    # Its failing upstream on a provider of its own: other tests' failures on this shared
    # router's local/fail could have put that deployment in cooldown (a 503, not a 502).
    failing_provider = "errors-" + tenant.name
    with router.admin() as admin:
        body = {"name": failing_provider, "kind": "openai", "base_url": upstream.url}
        assert admin.post("/providers", json=body).status_code == 201
    tenant.assistant("bot")
    tenant.assistant("failing", model=f"{failing_provider}/fail")
    tenant.assistant("embedder", model="local/embed")
    headers = {"Authorization": f"Bearer {tenant.key}"}
    with httpx.stream(
        "POST",
        router.url + "/v1/chat/completions",
        json={"model": "bot", "messages": USER, "stream": True},
        headers=headers,
    ) as streamed:
        assert streamed.status_code == 200
        assert streamed.headers["x-ratelimit-limit-requests"] == "100"
        assert streamed.headers["x-ratelimit-limit-tokens"] == "100000"
        streamed.read()
    failed = chat(router, tenant.key, "failing")
    assert failed.status_code == 502
    assert failed.headers["x-ratelimit-remaining-requests"] == "98"
    embedded = httpx.post(
        router.url + "/v1/embeddings",
        json={"model": "embedder", "input": "abc"},
        headers=headers,
    )
    assert embedded.status_code == 200
    assert embedded.headers["x-ratelimit-remaining-requests"] == "97"
    with tenant.client() as client:
        raw = client.chat.completions.with_raw_response.create(model="bot", messages=USER)
    assert raw.headers["x-ratelimit-remaining-requests"] == "96"
    assert "x-ratelimit-reset-tokens" in raw.headers


def test_headers_without_a_charge_on_models_and_unknown_models(
    router: RouterProcess, provider: str
) -> None:
    tenant = make_tenant(router, rpm_limit=7)
    tenant.assistant("bot")
    headers = {"Authorization": f"Bearer {tenant.key}"}
    listed = httpx.get(router.url + "/v1/models", headers=headers)
    assert listed.status_code == 200
    assert listed.headers["x-ratelimit-limit-requests"] == "7"
    assert listed.headers["x-ratelimit-remaining-requests"] == "7", "listing charges nothing"
    unknown = chat(router, tenant.key, "no-such-model")
    assert unknown.status_code == 404
    assert unknown.headers["x-ratelimit-remaining-requests"] == "7"
    assert chat(router, tenant.key).headers["x-ratelimit-remaining-requests"] == "6"
    anonymous = httpx.get(router.url + "/v1/models")
    assert anonymous.status_code == 401 and "x-ratelimit-limit-requests" not in anonymous.headers
