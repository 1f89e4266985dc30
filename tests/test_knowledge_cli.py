"""Knowledge files from the command line: ``junction assistants files ...`` and ``apply``
with files named relative to the YAML file (uploaded by content hash, pruned on request)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import RouterProcess
from tests.knowledge_docs import pdf_bytes
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


def test_export_writes_the_files_and_apply_round_trips_them(
    fresh: RouterProcess, upstream: Upstream, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Alpha\n\nThe alpha team owns billing.")
    (docs / "b.pdf").write_bytes(pdf_bytes(["The beta team owns search."]))
    config = tmp_path / "junction.yaml"
    config.write_text(CONFIG.format(upstream=upstream.url, files="docs/a.md, docs/b.pdf"))
    junction(fresh, "apply", "-f", str(config))

    out = tmp_path / "out" / "junction.yaml"
    out.parent.mkdir()
    exported = junction(fresh, "export", "-o", str(out))
    assert "Wrote 2 knowledge file(s)" in exported.stderr
    [team] = [w for w in yaml.safe_load(out.read_text())["workspaces"] if w["name"] == "team"]
    [kb] = team["assistants"]
    assert kb["files"] == ["files/team/kb/a.md", "files/team/kb/b.pdf"]
    for name in ("a.md", "b.pdf"):
        assert (out.parent / "files/team/kb" / name).read_bytes() == (docs / name).read_bytes()

    empty = RouterProcess(tmp_path / "empty", {})
    empty.data_dir.mkdir()
    empty.start(timeout=60)
    try:
        applied = junction(empty, "apply", "-f", str(out))
        assert "create file team/kb/a.md" in applied.stdout
        assert "create file team/kb/b.pdf" in applied.stdout
        assert {n: f["sha256"] for n, f in _files(empty).items()} == {
            n: f["sha256"] for n, f in _files(fresh).items()
        }
        again = tmp_path / "again" / "junction.yaml"
        again.parent.mkdir()
        junction(empty, "export", "-o", str(again))
        assert again.read_text() == out.read_text()
        assert "No changes" in junction(empty, "apply", "-f", str(again)).stdout
        # Without files the document names none (so apply without --prune keeps them).
        bare = junction(empty, "export", "--no-files").stdout
        assert "files:" not in bare and "Wrote" not in bare
    finally:
        empty.stop()
