"""An upstream that attacks the router (``hostile_upstream.py``), driven through the official
``openai`` client: redirects are not followed, upstream secrets reach neither the caller nor an
unauthenticated endpoint, endless bodies and lines are cut off, a JSON answer to a stream
request is relayed as a stream, a provider 401 is the router's 502, and one request's bad
answer cools nothing down."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import RouterProcess, Tenant, make_tenant
from tests.hostile_upstream import LEAKED, MODELS, HostileUpstream

USER = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileUpstream]:
    with HostileUpstream() as server:
        yield server


def _provider(router: RouterProcess, hostile: HostileUpstream, kind: str) -> str:
    name = f"hostile-{kind}-{hostile.port}"
    with router.admin() as admin:
        if admin.get(f"/providers/{name}").status_code == 404:
            response = admin.post(
                "/providers",
                json={
                    "name": name,
                    "kind": kind,
                    "base_url": hostile.url,
                    "api_key": "sk-router-own-credential-1234",
                    "headers": {"X-Custom-Secret": "custom-header-value-5678"},
                    "read_timeout": 3,
                    "models": [{"name": m} for m in MODELS],
                },
            )
            assert response.status_code == 201, response.text
    return name


@pytest.fixture
def attacked(router: RouterProcess, provider: str, hostile: HostileUpstream) -> Tenant:
    name = _provider(router, hostile, "openai")
    tenant = make_tenant(router)
    for model in MODELS:
        tenant.assistant(model, model=f"{name}/{model}")
    return tenant


def _fails(tenant: Tenant, model: str, **kwargs: Any) -> openai.APIStatusError:
    with tenant.client(timeout=30) as client, pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model=model, messages=USER, **kwargs)
    return caught.value


def _health(router: RouterProcess, provider: str, model: str) -> dict[str, Any] | None:
    """The deployment's health as the admin API shows it; None when it has no record."""
    with router.admin() as admin:
        deployments = admin.get(f"/providers/{provider}").json()["health"]["deployments"]
    return next((d for d in deployments if d["deployment"] == f"{provider}/{model}"), None)


def _logged_errors(router: RouterProcess, tenant: Tenant, count: int) -> list[str]:
    deadline = time.monotonic() + 10
    with router.admin() as admin:
        while True:
            rows = admin.get(f"/workspaces/{tenant.name}/logs").json()["data"]
            errors = [str(r["error"]) for r in rows if r.get("error")]
            if len(errors) >= count or time.monotonic() > deadline:
                return errors
            time.sleep(0.2)


def test_redirects_are_not_followed(
    router: RouterProcess, provider: str, hostile: HostileUpstream
) -> None:
    """Neither kind re-sends a request (and its credentials) where a 307 points."""
    tenant = make_tenant(router)
    for kind in ("openai", "anthropic"):
        tenant.assistant(f"redirect-{kind}", model=f"{_provider(router, hostile, kind)}/redirect")
        error = _fails(tenant, f"redirect-{kind}")
        assert error.status_code == 502
        assert error.body["code"] == "upstream_error"  # type: ignore[index]
        assert "redirect" in error.message
        assert "/caught/" not in error.message  # where it pointed is for operators only
    assert hostile.caught == 0


def test_upstream_secrets_reach_no_caller(
    router: RouterProcess, attacked: Tenant, hostile: HostileUpstream
) -> None:
    error = _fails(attacked, "leak-500")
    assert error.status_code == 502
    assert not any(secret in error.response.text for secret in LEAKED)
    assert "Bearer" not in error.response.text

    # A 400 about the request passes on, what looks like a credential removed.
    rejected = _fails(attacked, "leak-400")
    assert rejected.status_code == 400
    assert "temperature must be at most 2" in rejected.message
    assert not any(secret in rejected.response.text for secret in LEAKED)

    # Operators get what the upstream said, redacted, in the request log...
    errors = _logged_errors(router, attacked, 2)
    assert any("internal error calling backend" in e for e in errors), errors
    assert all("[redacted]" in e for e in errors)
    assert not any(secret in e for e in errors for secret in LEAKED)

    # ...and /readyz tells anyone only "ready or not", the admin key the details.
    public = httpx.get(router.url + "/readyz")
    assert set(public.json()) == {"status", "checks"}
    assert "internal error" not in public.text
    detailed = httpx.get(
        router.url + "/readyz", headers={"Authorization": f"Bearer {router.admin_key}"}
    ).json()
    texts = str(detailed["providers"])
    assert "[redacted]" in texts
    assert not any(secret in texts for secret in LEAKED)
    assert "sk-router-own-credential-1234" not in texts


def test_provider_401_is_the_routers_502(attacked: Tenant) -> None:
    """The provider's key is wrong, not the caller's: SDKs must not say "invalid API key"."""
    error = _fails(attacked, "unauthorized")
    assert not isinstance(error, openai.AuthenticationError)
    assert error.status_code == 502
    assert error.body["type"] == "upstream_error"  # type: ignore[index]
    assert "not your API key" in error.message
    assert "sk-live" not in error.response.text


def test_endless_error_body_and_endless_line_are_cut_off(
    router: RouterProcess, attacked: Tenant, hostile: HostileUpstream
) -> None:
    started = time.monotonic()
    error = _fails(attacked, "endless-error")
    assert error.status_code == 400  # the upstream's status about the request, passed on
    assert len(error.response.text) < 2000
    error = _fails(attacked, "endless-line", stream=True)
    assert error.status_code == 502
    assert "line longer than" in error.message
    assert time.monotonic() - started < 20


def test_json_answer_to_a_stream_request_is_one_chunk(attacked: Tenant) -> None:
    with attacked.client(timeout=30) as client:
        stream = client.chat.completions.create(
            model="json-stream",
            messages=USER,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one piece"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 2


def test_one_requests_bad_answer_cools_nothing_down(
    router: RouterProcess, attacked: Tenant, hostile: HostileUpstream
) -> None:
    """Malformed answers, 4xx and refused credentials, again and again: the deployment stays
    usable for everyone; 5xx in a row (its own health) do cool it down."""
    name = _provider(router, hostile, "openai")
    for _ in range(4):
        assert _fails(attacked, "leak-400").status_code == 400
        assert _fails(attacked, "endless-line", stream=True).status_code == 502
        assert _fails(attacked, "unauthorized").status_code == 502
    assert _health(router, name, "leak-400") is None, "a 400 about the request is not health"
    for model in ("endless-line", "unauthorized"):
        health = _health(router, name, model)
        assert health is not None
        assert health["status"] != "cooldown", health
        assert health["consecutive_failures"] == 0, health
        assert health["last_error"], "shown to operators all the same"
    for _ in range(2):
        _fails(attacked, "leak-500")
    cooled = _health(router, name, "leak-500")
    assert cooled is not None and cooled["status"] == "cooldown"
