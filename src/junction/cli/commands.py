"""The whole ``junction`` command: serve, management, apply/export, admin key, demo."""

from __future__ import annotations

import typer

from junction.cli import admin_key, manage
from junction.cli.config import apply_command, export_command
from junction.cli.demo import demo
from junction.cli.help_names import value_names
from junction.cli.serve import HELP
from junction.cli.serve_command import add_serve

# Plain click help: typer's rich panels show every flag as "<bool>" with this click.
app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None, help=HELP)
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


add_serve(app)


def whole() -> None:
    value_names(typer.main.get_command(app))()
