"""The admin API: CRUD for every resource, strict validation, keys that rotate and revoke."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import openai
import pytest

from tests.conftest import RouterProcess, Tenant, make_tenant
from tests.upstream import Upstream

USER = [{"role": "user", "content": "hi"}]


def test_provider_lifecycle_and_discovery(router: RouterProcess, upstream: Upstream) -> None:
    with router.admin() as admin:
        created = admin.post(
            "/providers",
            json={"name": "disc", "base_url": upstream.url + "/", "api_key": "sk-upstream"},
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["has_api_key"] is True and "api_key" not in body
        assert "sk-upstream" not in created.text
        models = {m["name"]: m["context_length"] for m in body["models"]}
        assert models["echo"] == 8192 and models["sparse"] == 4096
        dropdown = admin.get("/models").json()["data"]
        entry = next(m for m in dropdown if m["id"] == "disc/echo")
        assert entry["context_length"] == 8192 and entry["provider"] == "disc"

        patched = admin.patch(
            "/providers/disc",
            json={"models": [{"name": "echo", "input_price": 0.5, "output_price": 1.5}]},
        )
        assert patched.status_code == 200, patched.text
        echo = next(m for m in patched.json()["models"] if m["name"] == "echo")
        assert echo["input_price"] == 0.5 and echo["source"] == "manual"
        refreshed = admin.post("/providers/disc/refresh").json()
        echo = next(m for m in refreshed["models"] if m["name"] == "echo")
        assert echo["context_length"] == 8192 and echo["input_price"] == 0.5

        assert (
            admin.post("/providers", json={"name": "disc", "base_url": upstream.url}).status_code
            == 409
        )
        assert admin.get("/providers/disc").status_code == 200
        assert admin.delete("/providers/disc").status_code == 204
        assert admin.get("/providers/disc").status_code == 404


def test_unreachable_provider_is_created_with_discovery_error(router: RouterProcess) -> None:
    with router.admin() as admin:
        created = admin.post(
            "/providers", json={"name": "offline", "base_url": "http://127.0.0.1:9/v1"}
        )
        assert created.status_code == 201
        assert created.json()["models"] == []
        assert "unreachable" in created.json()["discovery_error"]
        admin.delete("/providers/offline")


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/providers", {"name": "Bad Name", "base_url": "http://x:1/v1"}, "name"),
        ("/providers", {"name": "ok", "base_url": "ftp://x"}, "base_url"),
        ("/providers", {"name": "ok", "base_url": "http://x:1/v1", "kind": "nope"}, "kind"),
        ("/providers", {"name": "ok", "base_url": "http://x:1/v1", "colour": 1}, "colour"),
        ("/workspaces", {"name": "w", "token_context_window": "140%"}, "token_context_window"),
        ("/workspaces", {"name": "w", "token_context_window": 0}, "token_context_window"),
        ("/workspaces", {"name": "w", "max_tokens": -1}, "max_tokens"),
        ("/workspaces", {}, "name"),
    ],
)
def test_validation_errors_name_the_field(
    router: RouterProcess, path: str, body: dict[str, object], param: str
) -> None:
    with router.admin() as admin:
        response = admin.post(path, json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["param"] == param and param in error["message"]
    assert error["code"] == "validation_error"


def test_workspace_crud(router: RouterProcess) -> None:
    with router.admin() as admin:
        created = admin.post(
            "/workspaces", json={"name": "crud-ws", "token_context_window": "40%", "rpm_limit": 5}
        )
        assert created.status_code == 201, created.text
        assert created.json()["token_context_window"] == "40%"
        patched = admin.patch("/workspaces/crud-ws", json={"token_context_window": 4096})
        assert patched.json()["token_context_window"] == 4096
        assert patched.json()["rpm_limit"] == 5
        listed = admin.get("/workspaces", params={"search": "crud-ws"}).json()["data"]
        names = [w["name"] for w in listed]
        assert "crud-ws" in names
        assert admin.post("/workspaces", json={"name": "crud-ws"}).status_code == 409
        assert admin.delete("/workspaces/crud-ws").status_code == 204
        assert admin.get("/workspaces/crud-ws").status_code == 404


def test_assistant_crud_and_validation(router: RouterProcess, tenant: Tenant) -> None:
    base = f"/workspaces/{tenant.name}/assistants"
    with router.admin() as admin:
        bad = admin.post(base, json={"name": "x", "model": "nowhere/echo"})
        assert bad.status_code == 422 and bad.json()["error"]["param"] == "model"
        bad = admin.post(base, json={"name": "x", "model": "local/unknown-model"})
        assert bad.status_code == 422 and "does not serve" in bad.json()["error"]["message"]
        bad = admin.post(base, json={"name": "x", "model": "local/echo", "temperature": 3})
        assert bad.json()["error"]["param"] == "temperature"
        bad = admin.post(base, json={"name": "x", "model": "local/echo", "chat_history": "maybe"})
        assert bad.json()["error"]["param"] == "chat_history"
        bad = admin.post(base, json={"name": "x", "model": "local/echo", "quality_score": 101})
        assert bad.json()["error"]["param"] == "quality_score"
        bad = admin.post(base, json={"name": "x", "model": "local/echo", "fallbacks": ["nope"]})
        assert bad.json()["error"]["param"].startswith("fallbacks")

        made = admin.post(
            base,
            json={"name": "Helper", "model": ["local/echo", "local/sparse"], "chat_history": "on"},
        )
        assert made.status_code == 201, made.text
        assert made.json()["model"] == ["local/echo", "local/sparse"]
        assert admin.post(base, json={"name": "Helper", "model": "local/echo"}).status_code == 409
        # Names are case-sensitive: "helper" is another assistant.
        assert admin.post(base, json={"name": "helper", "model": "local/echo"}).status_code == 201
        assert admin.get(f"{base}/Helper").json()["chat_history"] == "on"
        patched = admin.patch(f"{base}/Helper", json={"system_prompt": "New.", "max_tokens": 9})
        assert patched.json()["system_prompt"] == "New." and patched.json()["max_tokens"] == 9
        assert [a["name"] for a in admin.get(base).json()["data"]] == ["Helper", "helper"]
        assert admin.delete(f"{base}/Helper").status_code == 204
        assert admin.get(f"{base}/Helper").status_code == 404
    with pytest.raises(openai.NotFoundError):
        tenant.client().chat.completions.create(model="Helper", messages=USER)


def test_percentage_window_needs_known_context_length(router: RouterProcess, provider: str) -> None:
    tenant = make_tenant(router, token_context_window="40%")
    with router.admin() as admin:
        admin.post(
            "/providers",
            json={
                "name": "handlisted",
                "base_url": "http://127.0.0.1:9/v1",
                "models": [{"name": "mystery"}],
            },
        )
        bad = admin.post(
            f"/workspaces/{tenant.name}/assistants",
            json={"name": "x", "model": "handlisted/mystery"},
        )
        assert bad.status_code == 422 and "context length" in bad.json()["error"]["message"]
        ok = admin.post(
            f"/workspaces/{tenant.name}/assistants", json={"name": "x", "model": "local/echo"}
        )
        assert ok.status_code == 201
        admin.delete("/providers/handlisted")


def test_assistant_edits_apply_at_once(tenant: Tenant, upstream: Upstream) -> None:
    tenant.assistant("bot", system_prompt="one")
    client = tenant.client()
    client.chat.completions.create(model="bot", messages=USER)
    assert upstream.last()["messages"][0]["content"] == "one"
    with tenant.router.admin() as admin:
        admin.patch(f"/workspaces/{tenant.name}/assistants/bot", json={"system_prompt": "two"})
    client.chat.completions.create(model="bot", messages=USER)
    assert upstream.last()["messages"][0]["content"] == "two"


def test_key_revoke(router: RouterProcess, tenant: Tenant) -> None:
    tenant.assistant("bot")
    tenant.client().chat.completions.create(model="bot", messages=USER)
    with router.admin() as admin:
        listed = admin.get(f"/workspaces/{tenant.name}/keys").json()["data"]
        assert [k["id"] for k in listed] == [tenant.key_id]
        assert "key" not in listed[0] and "key_hash" not in listed[0]
        assert admin.delete(f"/workspaces/{tenant.name}/keys/{tenant.key_id}").status_code == 204
    with pytest.raises(openai.AuthenticationError):
        tenant.client().chat.completions.create(model="bot", messages=USER)


def test_key_rotation_with_grace(router: RouterProcess, tenant: Tenant) -> None:
    tenant.assistant("bot")
    with router.admin() as admin:
        rotated = admin.post(
            f"/workspaces/{tenant.name}/keys/{tenant.key_id}/rotate", json={"grace_seconds": 2}
        )
        assert rotated.status_code == 201, rotated.text
        new = rotated.json()
        assert new["key"] != tenant.key and new["rotated_from"] == tenant.key_id
    old_client, new_client = tenant.client(), router.client(new["key"])
    old_client.chat.completions.create(model="bot", messages=USER)
    new_client.chat.completions.create(model="bot", messages=USER)
    time.sleep(2.2)
    with pytest.raises(openai.AuthenticationError):
        old_client.chat.completions.create(model="bot", messages=USER)
    new_client.chat.completions.create(model="bot", messages=USER)


def test_rotation_without_grace_and_expiry(router: RouterProcess, tenant: Tenant) -> None:
    tenant.assistant("bot")
    with router.admin() as admin:
        new = admin.post(f"/workspaces/{tenant.name}/keys/{tenant.key_id}/rotate").json()
        # Seconds ahead, generous for a loaded machine: it must still work when first used.
        expires = datetime.now(UTC) + timedelta(seconds=5)
        soon = expires.isoformat()
        short = admin.post(
            f"/workspaces/{tenant.name}/keys", json={"name": "short", "expires_at": soon}
        ).json()
        past = admin.post(
            f"/workspaces/{tenant.name}/keys",
            json={"name": "past", "expires_at": "2020-01-01T00:00:00Z"},
        )
        assert past.status_code == 400
    with pytest.raises(openai.AuthenticationError):
        tenant.client().chat.completions.create(model="bot", messages=USER)
    router.client(new["key"]).chat.completions.create(model="bot", messages=USER)
    router.client(short["key"]).chat.completions.create(model="bot", messages=USER)
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.2)
    with pytest.raises(openai.AuthenticationError):
        router.client(short["key"]).chat.completions.create(model="bot", messages=USER)
