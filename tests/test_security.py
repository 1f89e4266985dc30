"""Secrets at rest and the separation of the admin key from workspace keys."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import RouterProcess, make_tenant
from tests.upstream import Upstream


def test_secrets_are_never_stored_or_shown_in_clear(tmp_path: Path, upstream: Upstream) -> None:
    router = RouterProcess(tmp_path, {}).start()
    credential = "sk-upstream-credential-0123456789"
    try:
        with router.admin() as admin:
            created = admin.post(
                "/providers",
                json={"name": "paid", "base_url": upstream.url, "api_key": credential},
            )
            assert created.status_code == 201
            shown = admin.get("/providers/paid").json()
            assert shown["has_api_key"] is True and credential not in str(shown)
        tenant = make_tenant(router)
        # The admin key is no workspace key, and a workspace key is no admin key.
        admin_on_data_plane = httpx.get(
            router.url + "/v1/models", headers={"Authorization": f"Bearer {router.admin_key}"}
        )
        assert admin_on_data_plane.status_code == 401
        key_on_admin = httpx.get(
            router.url + "/admin/v1/providers", headers={"Authorization": f"Bearer {tenant.key}"}
        )
        assert key_on_admin.status_code == 403
    finally:
        router.stop()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("junction.db*"))
    assert stored, "the database files were read"
    assert credential.encode() not in stored, "provider credentials are encrypted at rest"
    assert tenant.key.encode() not in stored, "workspace keys are stored as hashes"
    assert router.admin_key.encode() not in stored
    log = router.log()
    assert credential not in log and tenant.key not in log and router.admin_key not in log
