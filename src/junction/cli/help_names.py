"""Help that names values: ``--url URL`` rather than typer's ``--url <str>``."""

from __future__ import annotations

from typing import Any


def value_names(command: Any) -> Any:
    """Name what each option and argument takes (``--url URL``, ``WORKSPACE``) where typer
    would print the Python type (``--url <str>``), through every subcommand. ``Any``: typer
    builds its commands on a click of its own (vendored in recent versions)."""
    for param in command.params:
        if param.metavar is None and not getattr(param, "is_flag", False) and param.name:
            param.metavar = param.name.upper()
    for sub in getattr(command, "commands", {}).values():
        value_names(sub)
    return command
