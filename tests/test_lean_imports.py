"""A router that only serves the data plane never imports the libraries of the other planes.

The router is a plain Starlette application with plain settings: FastAPI and pydantic (the admin
API), prometheus-client (the ``/metrics`` scrape), Swagger UI's bundle (``/docs``) and
OpenTelemetry (OTLP export, off here) come in when something needs them. The probe runs in a
fresh interpreter: the app as ``serve`` builds it, one real chat completion through a loopback
upstream, a look at ``sys.modules``; then the admin API, the published API document and the
metrics, which must still work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from starlette.testclient import TestClient

from junction.app import create_app
from junction.settings import Settings
from tests.upstream import Upstream

ADMIN_KEY = "ja-lean-imports-0123456789"
LATER = ("fastapi", "pydantic", "prometheus_client", "swagger_ui_bundle", "opentelemetry")

PROBE = r"""
import json, sys
from starlette.testclient import TestClient
from junction.app import create_app
from junction.settings import Settings

data_dir, admin_key, key, later = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")
app = create_app(Settings(data_dir=data_dir, admin_key=admin_key))
out = {}
with TestClient(app) as client:
    out["built"] = sorted(p for p in later if p in sys.modules)
    body = {"model": "bot", "messages": [{"role": "user", "content": "lean"}]}
    bearer = {"Authorization": f"Bearer {key}"}
    answer = client.post("/v1/chat/completions", json=body, headers=bearer)
    out["answer"] = answer.json()["choices"][0]["message"]["content"]
    out["served"] = sorted(p for p in later if p in sys.modules)
    admin = {"Authorization": f"Bearer {admin_key}"}
    workspaces = client.get("/admin/v1/workspaces", headers=admin)
    out["workspaces"] = [w["name"] for w in workspaces.json()["data"]]
    out["invalid"] = client.post("/admin/v1/workspaces", json={"name": 5}, headers=admin).json()
    out["paths"] = sorted(client.get("/openapi.json").json()["paths"])
    out["metrics"] = client.get("/metrics", headers=admin).text
print(json.dumps(out))
"""


def _configure(data_dir: Path, upstream: Upstream) -> str:
    """A provider, a workspace, a key and an assistant; the workspace key."""
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with TestClient(create_app(Settings(data_dir=data_dir, admin_key=ADMIN_KEY))) as client:
        made = client.post(
            "/admin/v1/providers", json={"name": "up", "base_url": upstream.url}, headers=admin
        )
        assert made.status_code == 201, made.text
        assert client.post("/admin/v1/workspaces", json={"name": "w"}, headers=admin).is_success
        key: str = client.post("/admin/v1/workspaces/w/keys", json={}, headers=admin).json()["key"]
        body = {"name": "bot", "model": "up/echo"}
        assert client.post("/admin/v1/workspaces/w/assistants", json=body, headers=admin).is_success
    return key


def test_the_data_plane_imports_no_admin_metrics_or_docs_library(
    tmp_path: Path, upstream: Upstream
) -> None:
    key = _configure(tmp_path, upstream)
    args = [str(tmp_path), ADMIN_KEY, key, ",".join(LATER)]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["built"] == [], "create_app imported them"
    assert out["answer"] == "echo: lean"
    assert out["served"] == [], "a chat completion imported them"
    assert out["workspaces"] == ["w"]
    error = out["invalid"]["error"]
    assert error["code"] == "validation_error" and error["param"] == "name", error
    assert {"/admin/v1/workspaces", "/v1/chat/completions", "/v1/responses"} <= set(out["paths"])
    assert 'junction_requests_total{assistant="bot"' in out["metrics"]


def test_a_plain_serve_command_line_starts_without_typer_or_pydantic(tmp_path: Path) -> None:
    """typer checks option values with pydantic: ``junction serve --port N`` does without."""
    probe = (
        "import sys, uvicorn\n"
        "uvicorn.run = lambda app, **kw: print(type(app).__name__, kw['host'], kw['port'])\n"
        "sys.argv = ['junction', 'serve', '--port', '8123', '--host=127.0.0.2']\n"
        "from junction.cli.main import app\n"
        "app()\n"
        "print(sorted(p for p in ('typer', 'pydantic', 'fastapi') if p in sys.modules))"
    )
    env = {**os.environ, "JUNCTION_DATA_DIR": str(tmp_path), "JUNCTION_ADMIN_KEY": ADMIN_KEY}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split("\n")[-3:] == ["Starlette 127.0.0.2 8123", "[]", ""], done.stdout
