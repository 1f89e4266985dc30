"""``junction serve`` as a typer command: its help, its option checks and error messages.

The whole CLI registers it (``commands.py``); ``junction serve`` alone comes here only for what
``serve.plain_options`` leaves to typer (help, a mistake, ``--config``): typer checks option
values with pydantic, which a plain start does not need.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from junction.cli.help_names import value_names
from junction.cli.serve import HELP, SHORT_HELP, serve


def serve_command(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    config: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="A YAML configuration to apply before serving."),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Run the router, its admin API and UI, on the configured database (SQLite by default)."""
    serve(host, port, config, workers)


def add_serve(app: typer.Typer) -> None:
    app.command("serve", short_help=SHORT_HELP)(serve_command)


def serve_alone() -> None:
    """``junction serve ...`` with nothing of the other commands loaded."""
    app = typer.Typer(add_completion=False, rich_markup_mode=None, help=HELP)
    app.callback()(lambda: None)  # a group: ``serve`` stays a subcommand, as in the whole CLI
    add_serve(app)
    value_names(typer.main.get_command(app))()
