"""``junction serve``, in a module of its own: starting the router imports only what serving
needs, not the management commands (their HTTP client, YAML, tables)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from junction.cli.help_names import value_names
from junction.settings import Settings
from junction.telemetry.process_log import configure_logging

if TYPE_CHECKING:
    from junction.declarative.document import Document
    from junction.declarative.run import Applied

HELP = "junction: run the router, and manage one that runs."
SHORT_HELP = "Run the router, its admin API and web UI."


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    config: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="A YAML configuration to apply before serving."),
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
        from junction.cli.config import read_document, report

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
    from junction.client import AdminClient
    from junction.declarative.run import apply

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


def serve_only() -> None:
    """``junction serve ...`` with nothing of the other commands loaded."""
    app = typer.Typer(add_completion=False, rich_markup_mode=None, help=HELP)
    app.callback()(lambda: None)  # a group: ``serve`` stays a subcommand, as in the whole CLI
    app.command(short_help=SHORT_HELP)(serve)
    value_names(typer.main.get_command(app))()
