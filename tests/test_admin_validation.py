"""Admin input that would break requests or leak is refused with a 422 (or 400) naming the
field: header names and values, integer ranges, URL syntax and credentials, key lifecycle."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import RouterProcess, Tenant

USER = [{"role": "user", "content": "hi"}]


def _provider(admin: httpx.Client, upstream_url: str, **fields: Any) -> httpx.Response:
    body = {"name": "p-" + secrets.token_hex(4), "base_url": upstream_url, **fields}
    return admin.post("/providers", json=body)


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"X-Token": "abc\r\nX-Injected: 1"}, "line breaks"),
        ({"X-Token": "abc\ndef"}, "line breaks"),
        ({"X-Token": "nul\x00"}, "control characters"),
        ({"Bad Name": "x"}, "not a valid HTTP header name"),
        ({"X-Ü": "x"}, "not a valid HTTP header name"),
        ({"Host": "elsewhere"}, "set by the router itself"),
        ({"Content-Length": "5"}, "set by the router itself"),
    ],
)
def test_provider_headers_are_checked(
    router: RouterProcess, provider: str, headers: dict[str, str], why: str
) -> None:
    with router.admin() as admin:
        made = _provider(admin, "http://127.0.0.1:9/v1", headers=headers)
        assert made.status_code == 422, made.text
        assert made.json()["error"]["param"] == "headers"
        assert why in made.json()["error"]["message"]
        # The same rule holds for a change.
        assert admin.patch(f"/providers/{provider}", json={"headers": headers}).status_code == 422


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://  a b c/v1", "spaces"),
        ("http://user:secret-pass@10.0.0.1/v1", "credentials"),
        ("https://sk-abc@api.example.com/v1", "credentials"),
        ("http://127.0.0.1:99999/v1", "port"),
        ("http:///v1", "host"),
        ("http://bad..host/v1", "host"),
        ("http://h/v1?key=1", "query"),
        ("ftp://h/v1", "http"),
    ],
)
def test_base_urls_are_checked(router: RouterProcess, provider: str, url: str, why: str) -> None:
    with router.admin() as admin:
        made = _provider(admin, url)
        assert made.status_code == 422, made.text
        error = made.json()["error"]
        assert error["param"] == "base_url" and why in error["message"]
        assert "secret-pass" not in error["message"]
        assert admin.patch(f"/providers/{provider}", json={"base_url": url}).status_code == 422


def test_good_urls_and_headers_pass(router: RouterProcess, provider: str) -> None:
    with router.admin() as admin:
        for url in ("http://ollama_server:11434", "http://[::1]:8000/v1", "https://a.example/v1"):
            made = _provider(admin, url, headers={"X-Org": "team a", "anthropic-beta": "x-1"})
            assert made.status_code == 201, made.text
            admin.delete(f"/providers/{made.json()['name']}")


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/workspaces", {"rpm_limit": 2**63}, "rpm_limit"),
        ("/workspaces", {"tpm_limit": 10**20}, "tpm_limit"),
        ("/workspaces", {"monthly_token_budget": 2**64}, "monthly_token_budget"),
        ("/workspaces", {"max_tokens": 10**9}, "max_tokens"),
        ("/workspaces", {"token_context_window": 2**63}, "token_context_window"),
        ("/workspaces", {"token_context_window": "9" * 30}, "token_context_window"),
    ],
)
def test_integer_ranges_on_workspaces(
    router: RouterProcess, path: str, body: dict[str, Any], param: str
) -> None:
    with router.admin() as admin:
        made = admin.post(path, json={"name": "ws-" + secrets.token_hex(4), **body})
        assert made.status_code == 422, made.text
        assert made.json()["error"]["param"].startswith(param)


def test_integer_ranges_on_keys_assistants_and_models(
    router: RouterProcess, tenant: Tenant
) -> None:
    keys = f"/workspaces/{tenant.name}/keys"
    with router.admin() as admin:
        for body in ({"rpm_limit": 2**63}, {"tpm_limit": -1}):
            assert admin.post(keys, json=body).status_code == 422
        assert admin.patch(f"{keys}/{tenant.key_id}", json={"rpm_limit": 2**63}).status_code == 422
        assistant = admin.post(
            f"/workspaces/{tenant.name}/assistants",
            json={"name": "big", "model": "local/echo", "max_tokens": 2**63},
        )
        assert assistant.status_code == 422
        model = _provider(
            admin, "http://127.0.0.1:9/v1", models=[{"name": "m", "context_length": 2**63}]
        )
        assert model.status_code == 422
        # The router still serves: nothing reached the database.
        tenant.assistant("ok")
        answer = tenant.client().chat.completions.create(model="ok", messages=USER)
        assert answer.choices[0].message.content


def test_a_key_retired_by_rotation_stays_retired(router: RouterProcess, tenant: Tenant) -> None:
    tenant.assistant("bot")
    keys = f"/workspaces/{tenant.name}/keys"
    with router.admin() as admin:
        rotated = admin.post(f"{keys}/{tenant.key_id}/rotate", json={"grace_seconds": 2})
        assert rotated.status_code == 201
        revived = admin.patch(f"{keys}/{tenant.key_id}", json={"expires_at": None})
        assert revived.status_code == 400
        assert "stays retired" in revived.json()["error"]["message"]
        later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
        assert admin.patch(f"{keys}/{tenant.key_id}", json={"expires_at": later}).status_code == 400
        sooner = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
        assert (
            admin.patch(f"{keys}/{tenant.key_id}", json={"expires_at": sooner}).status_code == 200
        )
    time.sleep(2.2)  # past the grace period and the earlier expiry
    with pytest.raises(openai.AuthenticationError):
        tenant.client().chat.completions.create(model="bot", messages=USER)
    router.client(rotated.json()["key"]).chat.completions.create(model="bot", messages=USER)


def test_rotation_gives_the_new_key_its_own_expiry(router: RouterProcess, tenant: Tenant) -> None:
    tenant.assistant("bot")
    keys = f"/workspaces/{tenant.name}/keys"
    with router.admin() as admin:
        soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
        short = admin.post(keys, json={"name": "short", "expires_at": soon}).json()
        time.sleep(1.3)  # the old key's expiry has passed
        new = admin.post(f"{keys}/{short['id']}/rotate", json={"grace_seconds": 0}).json()
        assert new["expires_at"] is None, "not the expiry that already passed"
        router.client(new["key"]).chat.completions.create(model="bot", messages=USER)
        until = datetime.now(UTC) + timedelta(days=7)
        chosen = admin.post(
            f"{keys}/{new['id']}/rotate", json={"grace_seconds": 0, "expires_at": until.isoformat()}
        ).json()
        assert abs(datetime.fromisoformat(chosen["expires_at"]) - until) < timedelta(seconds=1)
        past = admin.post(
            f"{keys}/{chosen['id']}/rotate", json={"expires_at": "2020-01-01T00:00:00Z"}
        )
        assert past.status_code == 400 and past.json()["error"]["param"] == "expires_at"


def test_expiry_must_be_in_the_future(router: RouterProcess, tenant: Tenant) -> None:
    keys = f"/workspaces/{tenant.name}/keys"
    with router.admin() as admin:
        past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        assert admin.post(keys, json={"expires_at": past}).status_code == 400
        changed = admin.patch(f"{keys}/{tenant.key_id}", json={"expires_at": past})
        assert changed.status_code == 400 and changed.json()["error"]["param"] == "expires_at"
        # A live key may still lose its expiry.
        assert admin.patch(f"{keys}/{tenant.key_id}", json={"expires_at": None}).status_code == 200
