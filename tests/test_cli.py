"""The command line against real routers: management, apply/export round trips, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import RouterProcess, free_port
from tests.upstream import Upstream

CONFIG = """\
version: 1
providers:
  - name: local
    kind: openai
    base_url: {upstream}
    api_key: ${{LOCAL_KEY}}
  - name: byhand
    base_url: http://127.0.0.1:9/v1
    tokenizer: vllm
    max_concurrent: 4
    models:
      - name: big
        context_length: 32768
        input_price: 0.2
        output_price: 0.6
workspaces:
  - name: team
    token_context_window: 40%
    max_tokens: 512
    rpm_limit: 100
    keys:
      - name: laptop
      - name: ci
        rpm_limit: 10
    assistants:
      - name: helper
        model: local/echo
        system_prompt: Be brief.
        temperature: 0.3
        chat_history: on
      - name: thinker
        model: local/think
        chat_history: disable_think
      - name: big
        model: [byhand/big]
        fallbacks: [local/echo]
  - name: other
"""


def junction(
    router: RouterProcess | None, *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **(env or {})}
    if router is not None:
        full |= {"JUNCTION_URL": router.url, "JUNCTION_ADMIN_KEY": router.admin_key}
    result = subprocess.run(
        [sys.executable, "-m", "junction", *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture
def fresh(tmp_path: Path) -> RouterProcess:
    proc = RouterProcess(tmp_path / "r", {})
    proc.data_dir.mkdir()
    proc.start()
    yield proc  # type: ignore[misc]
    proc.stop()


@pytest.fixture(scope="module")
def untouched(tmp_path_factory: pytest.TempPathFactory) -> RouterProcess:
    """One router for the refused files: each test checks that it still holds nothing."""
    proc = RouterProcess(tmp_path_factory.mktemp("untouched") / "r", {})
    proc.data_dir.mkdir()
    proc.start()
    yield proc  # type: ignore[misc]
    proc.stop()


def test_management_commands_and_exit_codes(fresh: RouterProcess, upstream: Upstream) -> None:
    junction(fresh, "providers", "add", "up", upstream.url)
    listed = json.loads(junction(fresh, "models", "--json").stdout)
    assert "up/echo" in [m["id"] for m in listed]
    junction(fresh, "workspaces", "create", "team", "--set", "max_tokens=64")
    made = json.loads(junction(fresh, "keys", "create", "team", "--name", "app", "--json").stdout)
    assert made["key"].startswith("jk-")
    junction(fresh, "assistants", "create", "team", "bot", "up/echo", "--set", "temperature=0.5")
    shown = json.loads(junction(fresh, "assistants", "show", "team", "bot", "--json").stdout)
    assert shown["temperature"] == 0.5
    assert "bot" in junction(fresh, "assistants", "list", "team").stdout
    junction(fresh, "assistants", "update", "team", "bot", "--set", "disable_think=true")
    shown = json.loads(junction(fresh, "assistants", "show", "team", "bot", "--json").stdout)
    assert (shown["chat_history"], shown["disable_think"]) == ("off", True)
    answer = fresh.client(made["key"]).chat.completions.create(
        model="bot", messages=[{"role": "user", "content": "cli"}]
    )
    assert answer.choices[0].message.content == "echo: cli"
    rotated = json.loads(junction(fresh, "keys", "rotate", "team", made["id"], "--json").stdout)
    assert rotated["rotated_from"] == made["id"]

    refused = junction(
        fresh, "assistants", "create", "team", "x", "up/echo", "--set", "temperature=9", check=False
    )
    assert refused.returncode == 1
    assert "temperature" in refused.stderr
    bad_key = junction(
        None,
        "workspaces",
        "list",
        check=False,
        env={"JUNCTION_URL": fresh.url, "JUNCTION_ADMIN_KEY": "ja-wrong"},
    )
    assert bad_key.returncode == 4
    gone = junction(
        None,
        "workspaces",
        "list",
        check=False,
        env={"JUNCTION_URL": f"http://127.0.0.1:{free_port()}", "JUNCTION_ADMIN_KEY": "x"},
    )
    assert gone.returncode == 3
    assert "junction serve" in gone.stderr


def test_apply_is_idempotent_and_dry_run_changes_nothing(
    fresh: RouterProcess, upstream: Upstream, tmp_path: Path
) -> None:
    path = tmp_path / "junction.yaml"
    path.write_text(CONFIG.format(upstream=upstream.url))
    env = {"LOCAL_KEY": "sk-local"}
    planned = junction(fresh, "apply", "-f", str(path), "--dry-run", env=env)
    assert "+ create workspace team" in planned.stdout
    assert json.loads(junction(fresh, "workspaces", "list", "--json").stdout) == []

    first = junction(fresh, "apply", "-f", str(path), env=env)
    assert "Applied" in first.stdout
    assert first.stderr.count("New key") == 2
    second = junction(fresh, "apply", "-f", str(path), env=env)
    assert "No changes" in second.stdout

    ws = json.loads(junction(fresh, "workspaces", "list", "--json").stdout)
    assert {w["name"] for w in ws} == {"team", "other"}
    helper = json.loads(junction(fresh, "assistants", "show", "team", "helper", "--json").stdout)
    assert helper["chat_history"] == "on"
    assert helper["system_prompt"] == "Be brief."
    thinker = json.loads(junction(fresh, "assistants", "show", "team", "thinker", "--json").stdout)
    assert (thinker["chat_history"], thinker["disable_think"]) == ("on", True), (
        "the shorthand reads back as its two fields (and re-applying it changed nothing)"
    )

    path.write_text(
        CONFIG.format(upstream=upstream.url).replace("max_tokens: 512", "max_tokens: 9")
    )
    changed = junction(fresh, "apply", "-f", str(path), "--dry-run", env=env)
    assert "max_tokens: 512 -> 9" in changed.stdout

    path.write_text(
        CONFIG.format(upstream=upstream.url).replace("tokenizer: vllm", "tokenizer: llama.cpp")
    )
    changed = junction(fresh, "apply", "-f", str(path), env=env)
    assert "tokenizer: 'vllm' -> 'llama.cpp'" in changed.stdout
    listed = json.loads(junction(fresh, "providers", "list", "--json").stdout)
    [byhand] = [p for p in listed if p["name"] == "byhand"]
    assert (byhand["tokenizer"], byhand["max_concurrent"]) == ("llama.cpp", 4)


def test_export_apply_export_round_trip(
    fresh: RouterProcess, upstream: Upstream, tmp_path: Path
) -> None:
    path = tmp_path / "junction.yaml"
    path.write_text(CONFIG.format(upstream=upstream.url))
    env = {"LOCAL_KEY": "sk-local", "JUNCTION_LOCAL_API_KEY": "sk-local"}
    junction(fresh, "apply", "-f", str(path), env=env)
    exported = junction(fresh, "export").stdout
    assert "sk-local" not in exported
    assert "${JUNCTION_LOCAL_API_KEY}" in exported
    [team] = [w for w in yaml.safe_load(exported)["workspaces"] if w["name"] == "team"]
    [thinker] = [a for a in team["assistants"] if a["name"] == "thinker"]
    assert (thinker["chat_history"], thinker["disable_think"]) == ("on", True)

    empty = RouterProcess(tmp_path / "empty", {})
    empty.data_dir.mkdir()
    empty.start()
    try:
        (tmp_path / "exported.yaml").write_text(exported)
        junction(empty, "apply", "-f", str(tmp_path / "exported.yaml"), env=env)
        assert junction(empty, "export").stdout == exported
        again = junction(empty, "apply", "-f", str(tmp_path / "exported.yaml"), env=env)
        assert "No changes" in again.stdout
    finally:
        empty.stop()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("workspaces:\n  - name: ok\n  - name: Bad Name\n", ":3: workspaces.1.name"),
        ("workspaces:\n  - name: w\n    max_tokens: lots\n", ":3: workspaces.0.max_tokens"),
        (
            "providers:\n  - name: p\n    base_url: http://h:1/v1\n    api_key: ${NOPE_NOT_SET}\n",
            ":4: providers.0.api_key: environment variable NOPE_NOT_SET is not set",
        ),
        ("workspaces: [\n", "not valid YAML"),
        ("surprise: 1\n", ":1: surprise"),
    ],
)
def test_invalid_file_changes_nothing_and_names_the_line(
    untouched: RouterProcess, tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = junction(untouched, "apply", "-f", str(path), check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr, result.stderr
    assert json.loads(junction(untouched, "workspaces", "list", "--json").stdout) == []
    assert json.loads(junction(untouched, "providers", "list", "--json").stdout) == []


def test_serve_with_config_applies_it(tmp_path: Path, upstream: Upstream) -> None:
    path = tmp_path / "junction.yaml"
    path.write_text(CONFIG.format(upstream=upstream.url))
    proc = RouterProcess(tmp_path / "d", {"LOCAL_KEY": "sk-local"})
    proc.data_dir.mkdir()
    proc.extra_args = ["--config", str(path)]
    proc.start()
    try:
        assert "New key team/laptop" in proc.log()
        names = json.loads(junction(proc, "assistants", "list", "team", "--json").stdout)
        assert {a["name"] for a in names} == {"helper", "thinker", "big"}
    finally:
        proc.stop()


@pytest.mark.parametrize(
    ("args", "options"),
    [
        ([], {}),
        (["--port", "8123", "--host=0.0.0.0"], {"port": 8123, "host": "0.0.0.0"}),
        (["--workers=2", "--port=0", "--port", "9000"], {"workers": 2, "port": 9000}),
        (["--help"], None),
        (["--port", "abc"], None),
        (["--port", "-1"], None),
        (["--port"], None),
        (["--workers", "0"], None),
        (["--host", "--port"], None),
        (["--config", "junction.yaml"], None),
        (["--bogus"], None),
        (["--port", "\uff18\uff10"], None),  # full-width digits
    ],
)
def test_a_plain_serve_command_line_is_read_without_typer(
    args: list[str], options: dict[str, object] | None
) -> None:
    """What ``plain_options`` does not take (None) goes to the typer command, which answers
    as the whole CLI does."""
    from junction.cli.serve import plain_options

    assert plain_options(args) == options
