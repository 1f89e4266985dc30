"""Knowledge files from the command line: ``junction assistants files ...`` and ``apply``
with files named relative to the YAML file (uploaded by content hash, pruned on request)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RouterProcess
from tests.test_cli import junction
from tests.upstream import Upstream

CONFIG = """\
version: 1
providers:
  - name: local
    base_url: {upstream}
workspaces:
  - name: team
    assistants:
      - name: kb
        model: local/echo
        embedding_model: local/bow
        context_score: 30
        files: [{files}]
"""


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[RouterProcess]:
    proc = RouterProcess(tmp_path / "r", {})
    proc.data_dir.mkdir()
    proc.start(timeout=60)
    yield proc
    proc.stop()


def _files(router: RouterProcess) -> dict[str, dict[str, object]]:
    result = junction(router, "assistants", "files", "list", "team", "kb", "--json")
    return {f["filename"]: f for f in json.loads(result.stdout)}


def test_apply_uploads_changed_files_and_prunes(
    fresh: RouterProcess, upstream: Upstream, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Alpha\n\nThe alpha team owns billing.")
    (docs / "b.txt").write_text("The beta team owns search.")
    config = tmp_path / "junction.yaml"
    config.write_text(CONFIG.format(upstream=upstream.url, files="docs/a.md, docs/b.txt"))

    first = junction(fresh, "apply", "-f", str(config))
    assert "create file team/kb/a.md" in first.stdout
    assert "create file team/kb/b.txt" in first.stdout
    files = _files(fresh)
    assert set(files) == {"a.md", "b.txt"}

    again = junction(fresh, "apply", "-f", str(config))
    assert "No changes" in again.stdout

    (docs / "a.md").write_text("# Alpha\n\nThe alpha team owns billing and invoices.")
    changed = junction(fresh, "apply", "-f", str(config))
    assert "update file team/kb/a.md" in changed.stdout
    now = _files(fresh)
    assert set(now) == {"a.md", "b.txt"}
    assert now["a.md"]["id"] != files["a.md"]["id"]
    assert now["b.txt"]["id"] == files["b.txt"]["id"]

    config.write_text(CONFIG.format(upstream=upstream.url, files="docs/a.md"))
    kept = junction(fresh, "apply", "-f", str(config))
    assert "b.txt" not in kept.stdout  # without --prune, files the document omits stay
    pruned = junction(fresh, "apply", "-f", str(config), "--prune")
    assert "delete file team/kb/b.txt" in pruned.stdout
    assert set(_files(fresh)) == {"a.md"}

    config.write_text(CONFIG.format(upstream=upstream.url, files="docs/missing.md"))
    missing = junction(fresh, "apply", "-f", str(config), check=False)
    assert missing.returncode == 2
    assert "missing.md" in missing.stderr
    assert set(_files(fresh)) == {"a.md"}


def test_files_commands(fresh: RouterProcess, upstream: Upstream, tmp_path: Path) -> None:
    junction(fresh, "providers", "add", "local", upstream.url)
    junction(fresh, "workspaces", "create", "team")
    junction(
        fresh, "assistants", "create", "team", "kb", "local/echo", "-s", "embedding_model=local/bow"
    )
    path = tmp_path / "notes.md"
    path.write_text("# Notes\n\nThe office opens at nine.")
    uploaded = junction(
        fresh, "assistants", "files", "upload", "team", "kb", str(path), "--wait", "--json"
    )
    (entry,) = json.loads(uploaded.stdout)
    assert entry["status"] == "ready" and entry["chunks"] == 1
    shown = junction(fresh, "assistants", "files", "show", "team", "kb", entry["id"], "--json")
    assert json.loads(shown.stdout)["filename"] == "notes.md"
    refused = junction(
        fresh, "assistants", "files", "upload", "team", "kb", str(tmp_path), check=False
    )
    assert refused.returncode != 0
    junction(fresh, "assistants", "files", "delete", "team", "kb", entry["id"])
    assert _files(fresh) == {}
