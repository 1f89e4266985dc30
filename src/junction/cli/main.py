"""``junction``: run the router (and, later, manage it)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from junction.settings import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


@app.callback()
def main() -> None:
    """Junction: an OpenAI-compatible router for self-hosted language models."""


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Run the router, its admin API and UI, on the configured database (SQLite by default)."""
    import uvicorn

    from junction.app import create_app
    from junction.telemetry.process_log import configure_logging

    settings = Settings()
    host = host or settings.host
    port = port or settings.port
    configure_logging(settings.log_format, settings.log_level)
    logging.getLogger("junction").info(
        "Junction: data in %s, listening on http://%s:%s", settings.data_dir, host, port
    )
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,  # Junction writes its own access line per data-plane request
        log_config=None,  # keep the handlers configure_logging installed
        timeout_graceful_shutdown=int(settings.graceful_shutdown_seconds),
        log_level="info",
    )
