"""junction: run the router, and manage one that runs."""

from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path
from typing import Annotated

import typer

from junction.cli import admin_key, manage
from junction.cli.config import apply_command, export_command, read_document, report
from junction.cli.demo import demo
from junction.client import AdminClient
from junction.declarative.document import Document
from junction.declarative.run import Applied, apply
from junction.settings import Settings
from junction.telemetry.process_log import configure_logging

# Plain click help: typer's rich panels show every flag as "<bool>" with this click.
app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None, help=__doc__)
app.add_typer(manage.providers, name="providers")
app.add_typer(manage.workspaces, name="workspaces")
app.add_typer(manage.keys, name="keys")
app.add_typer(manage.assistants, name="assistants")
app.command("models", short_help="Every <provider>/<model> the router knows.")(manage.models)
app.command("apply")(apply_command)
app.command("export", short_help="Write the configuration in the format apply reads.")(
    export_command
)
app.add_typer(admin_key.app, name="admin-key", short_help="Replace the stored admin key.")
app.command("demo", short_help="A first answer without a model server (a demo).")(demo)


@app.callback()
def main() -> None:
    """Junction: an OpenAI-compatible router for self-hosted language models."""


@app.command(short_help="Run the router, its admin API and web UI.")
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    config: Annotated[
        Path | None, typer.Option(help="A YAML configuration to apply before serving.")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Run the router, its admin API and UI, on the configured database (SQLite by default)."""
    import uvicorn

    from junction.hardening.protocol import WORKER_PROTOCOL, guarded_protocol

    settings = Settings()
    host = host or settings.host
    port = port or settings.port
    configure_logging(settings.log_format, settings.log_level)
    if config is not None:
        doc = read_document(config)
        report(asyncio.run(_apply_at_start(settings, doc)), dry_run=False)
    logging.getLogger("junction").info(
        "Junction: data in %s, listening on http://%s:%s", settings.data_dir, host, port
    )
    common = {
        "host": host,
        "port": port,
        "loop": "uvloop",
        # httptools with header-size and request-read limits (slow loris)
        "http": guarded_protocol(settings) if workers == 1 else WORKER_PROTOCOL,
        "access_log": False,  # Junction writes its own access line per data-plane request
        "log_config": None,  # keep the handlers configure_logging installed
        "timeout_graceful_shutdown": int(settings.graceful_shutdown_seconds),
        "log_level": "info",
    }
    if workers > 1:
        # Each worker builds its own app from the environment; caches follow changes made
        # through any worker by the config version poll (and Redis when configured).
        uvicorn.run("junction.app:create_worker_app", factory=True, workers=workers, **common)  # type: ignore[arg-type]
    else:
        from junction.app import create_app

        uvicorn.run(create_app(settings), **common)  # type: ignore[arg-type]


async def _apply_at_start(settings: Settings, doc: Document) -> Applied:
    """Apply the document in-process, through the admin API's own handlers."""
    import httpx

    from junction.app import create_app

    app_ = create_app(settings)
    async with app_.router.lifespan_context(app_):
        token = secrets.token_urlsafe(32)
        runtime = app_.state.runtime
        runtime.admin_key_hash = runtime.box.hash_key(token)  # this process only applies
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app_),
            base_url="http://junction/admin/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        client = AdminClient(http)
        try:
            return await apply(client, doc)
        finally:
            await client.aclose()
