"""``junction providers|workspaces|keys|assistants|models``: manage a running router
(``junction assistants files ...``: an assistant's knowledge files)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from junction.cli.common import AsJson, Url, parse_fields, run, show
from junction.client import AdminClient

DEFAULT_URL = "http://127.0.0.1:8080"

Fields = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        metavar="FIELD=VALUE",
        help="field=value (value as JSON where it parses), repeatable.",
    ),
]

_PLAIN: dict[str, Any] = {"no_args_is_help": True, "rich_markup_mode": None}
providers = typer.Typer(help="Upstream model servers.", **_PLAIN)
workspaces = typer.Typer(help="Tenants and their settings.", **_PLAIN)
keys = typer.Typer(help="A workspace's API keys.", **_PLAIN)
assistants = typer.Typer(help="A workspace's assistants.", **_PLAIN)

PROVIDER_COLUMNS = ("name", "kind", "base_url", "has_api_key", "discovery_error")
WORKSPACE_COLUMNS = (
    "name",
    "token_context_window",
    "max_tokens",
    "rpm_limit",
    "tpm_limit",
    "monthly_token_budget",
)
KEY_COLUMNS = ("id", "name", "key_prefix", "expires_at", "revoked_at", "last_used_at")
ASSISTANT_COLUMNS = (
    "name",
    "model",
    "fallbacks",
    "chat_history",
    "disable_think",
    "temperature",
    "quality_score",
    "max_tokens",
    "embedding_model",
    "context_score",
)


def _req(url: str, method: str, path: str, body: Any = None) -> Any:
    return run(url, lambda c: c.request(method, path, body))


def _list(url: str, path: str) -> Any:
    """Every item, page after page."""
    return run(url, lambda c: c.list(path))


@providers.command("list")
def providers_list(url: Url = DEFAULT_URL, as_json: AsJson = False) -> None:
    show(_list(url, "/providers"), as_json, PROVIDER_COLUMNS)


@providers.command("add")
def providers_add(
    name: str,
    base_url: str,
    kind: Annotated[str, typer.Option(help="openai | ollama | anthropic")] = "openai",
    api_key_env: Annotated[
        str | None, typer.Option(help="Name of an environment variable holding the API key.")
    ] = None,
    fields: Fields = None,
    url: Url = DEFAULT_URL,
    as_json: AsJson = False,
) -> None:
    """Add a provider; its models are discovered unless listed with --set models=[...]."""
    import os

    body: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "base_url": base_url,
        **parse_fields(fields or []),
    }
    if api_key_env:
        body["api_key"] = os.environ.get(api_key_env, "")
    show(_req(url, "POST", "/providers", body), as_json, PROVIDER_COLUMNS)


@providers.command("update")
def providers_update(
    name: str, fields: Fields = None, url: Url = DEFAULT_URL, as_json: AsJson = False
) -> None:
    show(
        _req(url, "PATCH", f"/providers/{name}", parse_fields(fields or [])),
        as_json,
        PROVIDER_COLUMNS,
    )


@providers.command("refresh")
def providers_refresh(name: str, url: Url = DEFAULT_URL, as_json: AsJson = False) -> None:
    """Discover the provider's models again."""
    show(
        _req(url, "POST", f"/providers/{name}/refresh")["models"],
        as_json,
        ("name", "context_length", "source"),
    )


@providers.command("delete")
def providers_delete(name: str, url: Url = DEFAULT_URL) -> None:
    _req(url, "DELETE", f"/providers/{name}")


def models(url: Url = DEFAULT_URL, as_json: AsJson = False) -> None:
    """Every <provider>/<model> the router knows, with its context length."""
    show(_list(url, "/models"), as_json, ("id", "context_length", "kind"))


@workspaces.command("list")
def workspaces_list(url: Url = DEFAULT_URL, as_json: AsJson = False) -> None:
    show(_list(url, "/workspaces"), as_json, WORKSPACE_COLUMNS)


@workspaces.command("create")
def workspaces_create(
    name: str, fields: Fields = None, url: Url = DEFAULT_URL, as_json: AsJson = False
) -> None:
    body = {"name": name, **parse_fields(fields or [])}
    show(_req(url, "POST", "/workspaces", body), as_json, WORKSPACE_COLUMNS)


@workspaces.command("update")
def workspaces_update(
    name: str, fields: Fields = None, url: Url = DEFAULT_URL, as_json: AsJson = False
) -> None:
    show(
        _req(url, "PATCH", f"/workspaces/{name}", parse_fields(fields or [])),
        as_json,
        WORKSPACE_COLUMNS,
    )


@workspaces.command("delete")
def workspaces_delete(
    name: str,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
    url: Url = DEFAULT_URL,
) -> None:
    """Delete a workspace with its keys, assistants and history."""
    if not yes:
        typer.confirm(f"Delete workspace '{name}' with all its keys and assistants?", abort=True)
    _req(url, "DELETE", f"/workspaces/{name}")


@keys.command("list")
def keys_list(workspace: str, url: Url = DEFAULT_URL, as_json: AsJson = False) -> None:
    show(_list(url, f"/workspaces/{workspace}/keys"), as_json, KEY_COLUMNS)


@keys.command("create")
def keys_create(
    workspace: str,
    name: str = "default",
    fields: Fields = None,
    url: Url = DEFAULT_URL,
    as_json: AsJson = False,
) -> None:
    """Create a key; the key is printed only now."""
    body = {"name": name, **parse_fields(fields or [])}
    show(_req(url, "POST", f"/workspaces/{workspace}/keys", body), as_json, ("id", "name", "key"))


@keys.command("rotate")
def keys_rotate(
    workspace: str,
    key_id: str,
    grace_seconds: int = 0,
    url: Url = DEFAULT_URL,
    as_json: AsJson = False,
) -> None:
    """A new key with the same settings; the old one works for --grace-seconds more."""
    body = {"grace_seconds": grace_seconds}
    answer = _req(url, "POST", f"/workspaces/{workspace}/keys/{key_id}/rotate", body)
    show(answer, as_json, ("id", "name", "key", "rotated_from"))


@keys.command("revoke")
def keys_revoke(workspace: str, key_id: str, url: Url = DEFAULT_URL) -> None:
    _req(url, "DELETE", f"/workspaces/{workspace}/keys/{key_id}")


@assistants.command("list")
def assistants_list(workspace: str, url: Url = DEFAULT_URL, as_json: AsJson = False) -> None:
    show(_list(url, f"/workspaces/{workspace}/assistants"), as_json, ASSISTANT_COLUMNS)


@assistants.command("show")
def assistants_show(
    workspace: str, name: str, url: Url = DEFAULT_URL, as_json: AsJson = False
) -> None:
    show(_req(url, "GET", f"/workspaces/{workspace}/assistants/{name}"), as_json)


@assistants.command("create")
def assistants_create(
    workspace: str,
    name: str,
    model: str,
    fields: Fields = None,
    url: Url = DEFAULT_URL,
    as_json: AsJson = False,
) -> None:
    body = {"name": name, "model": model, **parse_fields(fields or [])}
    show(_req(url, "POST", f"/workspaces/{workspace}/assistants", body), as_json, ASSISTANT_COLUMNS)


@assistants.command("update")
def assistants_update(
    workspace: str,
    name: str,
    fields: Fields = None,
    url: Url = DEFAULT_URL,
    as_json: AsJson = False,
) -> None:
    body = parse_fields(fields or [])
    show(
        _req(url, "PATCH", f"/workspaces/{workspace}/assistants/{name}", body),
        as_json,
        ASSISTANT_COLUMNS,
    )


@assistants.command("delete")
def assistants_delete(workspace: str, name: str, url: Url = DEFAULT_URL) -> None:
    _req(url, "DELETE", f"/workspaces/{workspace}/assistants/{name}")


files = typer.Typer(help="An assistant's knowledge files.", no_args_is_help=True)
assistants.add_typer(files, name="files")
FILE_COLUMNS = ("id", "filename", "bytes", "status", "chunks", "error", "created_at")


def _files_path(workspace: str, assistant: str) -> str:
    return f"/workspaces/{workspace}/assistants/{assistant}/files"


@files.command("list")
def files_list(
    workspace: str, assistant: str, url: Url = DEFAULT_URL, as_json: AsJson = False
) -> None:
    show(_req(url, "GET", _files_path(workspace, assistant))["data"], as_json, FILE_COLUMNS)


@files.command("show")
def files_show(
    workspace: str, assistant: str, file_id: str, url: Url = DEFAULT_URL, as_json: AsJson = False
) -> None:
    show(_req(url, "GET", f"{_files_path(workspace, assistant)}/{file_id}"), as_json)


@files.command("upload")
def files_upload(
    workspace: str,
    assistant: str,
    paths: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True)],
    wait: Annotated[bool, typer.Option("--wait", help="Wait until each is ready or failed.")] = (
        False
    ),
    url: Url = DEFAULT_URL,
    as_json: AsJson = False,
) -> None:
    base = _files_path(workspace, assistant)

    async def work(client: AdminClient) -> list[dict[str, Any]]:
        done = [await client.upload(base, p.name, p.read_bytes()) for p in paths]
        if wait:
            done = [await wait_processed(client, f"{base}/{f['id']}") for f in done]
        return done

    uploaded = run(url, work)
    show(uploaded, as_json, FILE_COLUMNS)
    if any(f["status"] == "failed" for f in uploaded):
        raise typer.Exit(1)


@files.command("delete")
def files_delete(workspace: str, assistant: str, file_id: str, url: Url = DEFAULT_URL) -> None:
    _req(url, "DELETE", f"{_files_path(workspace, assistant)}/{file_id}")


async def wait_processed(client: AdminClient, path: str, seconds: float = 600.0) -> Any:
    """The file once it is no longer ``processing``."""
    deadline = time.monotonic() + seconds
    while True:
        found = await client.get(path)
        if found["status"] != "processing" or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.5)
