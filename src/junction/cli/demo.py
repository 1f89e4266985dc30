"""``junction demo``: a first answer without any model server.

Sets up, on a running router, the built-in ``demo`` provider (a scripted echo: no model runs),
a ``demo`` workspace with an assistant ``helper`` on ``demo/echo``, and a new API key, printed
once with a ready-to-paste request. Running it again reuses what exists and makes a new key.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

import typer

from junction.cli.common import AsJson, Url, out, run
from junction.client import AdminAPIError, AdminClient

PROVIDER = "demo"
WORKSPACE = "demo"
ASSISTANT = "helper"
MODEL = "demo/echo"


async def _exists(client: AdminClient, path: str) -> bool:
    try:
        await client.get(path)
    except AdminAPIError as exc:
        if exc.status == 404:
            return False
        raise
    return True


async def _set_up(client: AdminClient) -> dict[str, Any]:
    if not await _exists(client, f"/providers/{PROVIDER}"):
        await client.post(
            "/providers",
            # The demo kind never contacts its base_url; the field is required of every kind.
            {"name": PROVIDER, "kind": "demo", "base_url": "http://demo.invalid"},
        )
    if not await _exists(client, f"/workspaces/{WORKSPACE}"):
        await client.post("/workspaces", {"name": WORKSPACE})
    if not await _exists(client, f"/workspaces/{WORKSPACE}/assistants/{ASSISTANT}"):
        await client.post(
            f"/workspaces/{WORKSPACE}/assistants",
            {
                "name": ASSISTANT,
                "model": MODEL,
                "description": "Demo: echoes the question; no model runs.",
                "system_prompt": "You are a concise assistant.",
            },
        )
    key: dict[str, Any] = await client.post(f"/workspaces/{WORKSPACE}/keys", {"name": "demo"})
    return key


def demo(url: Url = "http://127.0.0.1:8080", as_json: AsJson = False) -> None:
    """Set up a demo (scripted echo provider, workspace, assistant, key) for a first answer."""
    key = run(url, _set_up)["key"]
    base = url.rstrip("/")
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "base_url": f"{base}/v1",
                    "key": key,
                    "workspace": WORKSPACE,
                    "assistant": ASSISTANT,
                    "model": MODEL,
                },
                indent=2,
            )
        )
        return
    body = json.dumps({"model": ASSISTANT, "messages": [{"role": "user", "content": "Hi"}]})
    curl = (
        f"curl -s {base}/v1/chat/completions -H 'Authorization: Bearer {key}' \\\n"
        f"  -H 'Content-Type: application/json' -d {shlex.quote(body)}"
    )
    out.print(
        "DEMO set up. Its provider is a scripted echo inside the router: answers repeat the "
        "question, no language model runs.\n"
        f"  workspace [bold]{WORKSPACE}[/bold], assistant [bold]{ASSISTANT}[/bold] "
        f"(model {MODEL}), base URL {base}/v1\n"
        f"  API key (shown only now): [bold]{key}[/bold]\n\n"
        "A first answer:\n",
        highlight=False,
    )
    typer.echo(curl)
