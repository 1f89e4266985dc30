"""Ingestion is restart-safe: a router killed mid-file finishes it on its next start, and a
file whose embedding model keeps failing ends ``failed`` with the reason, never stays
``processing``."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from tests.conftest import RouterProcess, make_tenant
from tests.knowledge_support import upload, wait_done
from tests.upstream import Upstream

FAST = {
    "JUNCTION_KNOWLEDGE_LEASE_SECONDS": "2",
    "JUNCTION_KNOWLEDGE_POLL_SECONDS": "0.5",
    "JUNCTION_KNOWLEDGE_RETRY_SECONDS": "0.2",
    "JUNCTION_KNOWLEDGE_MAX_ATTEMPTS": "2",
}


def _attempts(router: RouterProcess, file_id: str) -> int:
    with sqlite3.connect(router.data_dir / "junction.db") as db:
        row = db.execute("SELECT attempts FROM knowledge_files WHERE id = ?", (file_id,)).fetchone()
        return int(row[0]) if row else 0


def test_killed_mid_file_finishes_on_next_start(tmp_path: Path, upstream: Upstream) -> None:
    router = RouterProcess(tmp_path, FAST).start(timeout=60)
    try:
        with router.admin() as admin:
            response = admin.post(
                "/providers", json={"name": "local", "kind": "openai", "base_url": upstream.url}
            )
            assert response.status_code == 201, response.text
        tenant = make_tenant(router)
        tenant.assistant("slow", embedding_model="local/slow-bow")
        tenant.assistant("broken", embedding_model="local/fail")
        response = upload(router, tenant.name, "slow", "notes.md", b"# Notes\n\nslow words")
        assert response.status_code == 201, response.text
        file_id = response.json()["id"]
        deadline = time.monotonic() + 20
        while _attempts(router, file_id) < 1:  # claimed: the worker waits on the 3 s embedding
            assert time.monotonic() < deadline, "the worker never claimed the file"
            time.sleep(0.05)
        assert router.proc is not None
        router.proc.kill()
        router.proc.wait(10)
        router.start(timeout=60)
        done = wait_done(router, tenant.name, "slow", file_id, timeout=30)
        assert done["status"] == "ready", done
        assert done["chunks"] == 1
        assert _attempts(router, file_id) == 2  # claimed again after the restart

        response = upload(router, tenant.name, "broken", "a.txt", b"words to embed")
        assert response.status_code == 201, response.text
        done = wait_done(router, tenant.name, "broken", response.json()["id"], timeout=30)
        assert done["status"] == "failed"
        assert "local/fail" in done["error"] and "embedder down" in done["error"]
        assert "gave up after 2 attempts" in done["error"]
    finally:
        router.stop()
