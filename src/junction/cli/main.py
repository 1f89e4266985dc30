"""``junction``: run the router (and, later, manage it)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from junction.cli import admin_key
from junction.settings import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(admin_key.app, name="admin-key")


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
    from junction.hardening.protocol import guarded_protocol

    settings = Settings()
    host = host or settings.host
    port = port or settings.port
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    typer.echo(f"Junction: data in {settings.data_dir}, listening on http://{host}:{port}")
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        loop="uvloop",
        http=guarded_protocol(settings),  # httptools, with header-size and read-time limits
        access_log=False,
        timeout_graceful_shutdown=int(settings.graceful_shutdown_seconds),
        log_level="info",
    )
