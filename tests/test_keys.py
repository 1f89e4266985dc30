"""Key lifecycle: last use recorded without a write per request, every key path, and the
admin key rotated by the CLI while a router runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.conftest import RouterProcess, Tenant, make_tenant
from tests.upstream import Upstream

USER = [{"role": "user", "content": "hi"}]


def chat(router: RouterProcess, key: str) -> int:
    return httpx.post(
        router.url + "/v1/chat/completions",
        json={"model": "bot", "messages": USER},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    ).status_code


def key_entry(router: RouterProcess, tenant: Tenant, key_id: str) -> dict[str, object]:
    with router.admin() as admin:
        keys = admin.get(f"/workspaces/{tenant.name}/keys").json()["data"]
    found: dict[str, object] = next(k for k in keys if k["id"] == key_id)
    return found


def test_last_used_at_is_written_in_batches(tmp_path: Path, upstream: Upstream) -> None:
    router = RouterProcess(tmp_path, {"JUNCTION_KEY_USAGE_FLUSH_SECONDS": "0.5"}).start()
    try:
        with router.admin() as admin:
            admin.post("/providers", json={"name": "local", "base_url": upstream.url})
        tenant = make_tenant(router)
        tenant.assistant("bot")
        assert key_entry(router, tenant, tenant.key_id)["last_used_at"] is None
        before = datetime.now(UTC) - timedelta(seconds=1)
        for _ in range(20):
            assert chat(router, tenant.key) == 200
        deadline = time.monotonic() + 20
        used = None
        while time.monotonic() < deadline and used is None:
            time.sleep(0.2)
            used = key_entry(router, tenant, tenant.key_id)["last_used_at"]
        assert isinstance(used, str), "flushed within a few intervals"
        assert datetime.fromisoformat(used) >= before
    finally:
        router.stop()


def test_key_lifecycle_paths(router: RouterProcess, tenant: Tenant) -> None:
    tenant.assistant("bot")
    ws = f"/workspaces/{tenant.name}/keys"
    with router.admin() as admin:
        # Expiry: a key past its expires_at is refused (windows of seconds, generous for a
        # loaded machine: the key works at first, and is refused once its time has come).
        expires = datetime.now(UTC) + timedelta(seconds=4)
        expiring = admin.post(ws, json={"name": "short", "expires_at": expires.isoformat()})
        assert chat(router, expiring.json()["key"]) == 200
        refused_at = _until_refused(router, expiring.json()["key"])
        assert refused_at >= expires
        # Rotation with grace: both work, then only the new one.
        rotated = admin.post(f"{ws}/{tenant.key_id}/rotate", json={"grace_seconds": 4}).json()
        grace_end = datetime.now(UTC) + timedelta(seconds=4)
        assert rotated["key"] != tenant.key and rotated["rotated_from"] == tenant.key_id
        assert chat(router, tenant.key) == 200 and chat(router, rotated["key"]) == 200
        assert _until_refused(router, tenant.key) >= grace_end - timedelta(seconds=1)
        assert chat(router, rotated["key"]) == 200
        # Rotation without grace revokes at once.
        again = admin.post(f"{ws}/{rotated['id']}/rotate", json={"grace_seconds": 0}).json()
        assert chat(router, rotated["key"]) == 401 and chat(router, again["key"]) == 200
        # Revocation.
        assert admin.delete(f"{ws}/{again['id']}").status_code == 204
        assert chat(router, again["key"]) == 401
        # Keys are never listed after creation: only a prefix.
        listed = admin.get(ws).json()["data"]
        assert all("key" not in k and "key_hash" not in k for k in listed)
        assert all(len(str(k["key_prefix"])) <= 10 for k in listed)
    assert tenant.key not in router.log() and again["key"] not in router.log()


def test_admin_key_rotated_by_cli_while_running(tmp_path: Path) -> None:
    env = {"JUNCTION_ADMIN_KEY_REFRESH_SECONDS": "0.3"}
    router = RouterProcess(tmp_path, env)
    router.start(with_admin_key=False)
    try:
        printed = router.log().split("keep it safe:")[1].split()[0]
        assert printed.startswith("ja-")
        assert _admin_status(router, printed) == 200
        cli_env = {**os.environ, "JUNCTION_DATA_DIR": str(tmp_path)}
        cli_env.pop("JUNCTION_ADMIN_KEY", None)
        done = subprocess.run(
            [sys.executable, "-m", "junction", "admin-key", "rotate"],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        new = done.stdout.split("keep it safe):")[1].split()[0]
        assert new.startswith("ja-") and new != printed
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _admin_status(router, printed) != 401:
            time.sleep(0.1)
        assert _admin_status(router, printed) == 401
        assert _admin_status(router, new) == 200
        assert new not in router.log(), "the new key is never logged"
        # An environment-given key is not rotated behind the operator's back.
        refused = subprocess.run(
            [sys.executable, "-m", "junction", "admin-key", "rotate"],
            env={**cli_env, "JUNCTION_ADMIN_KEY": "ja-fixed"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 1 and "JUNCTION_ADMIN_KEY" in refused.stderr
    finally:
        router.stop()


def _admin_status(router: RouterProcess, key: str) -> int:
    return httpx.get(
        router.url + "/admin/v1/workspaces", headers={"Authorization": f"Bearer {key}"}
    ).status_code


def _until_refused(router: RouterProcess, key: str, ceiling: float = 30.0) -> datetime:
    """When ``key`` was first refused (401); fails if it still works after ``ceiling`` s."""
    deadline = time.monotonic() + ceiling
    while (status := chat(router, key)) == 200:
        assert time.monotonic() < deadline, f"{key[:8]}... still works"
        time.sleep(0.1)
    assert status == 401, status
    return datetime.now(UTC)
