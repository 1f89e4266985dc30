"""What every management command shares: where the router is, the admin key, output, exits.

Exit codes scripts can rely on:
  0 done · 1 the router refused (its message is printed) · 2 bad usage or an invalid file
  3 the router cannot be reached · 4 the admin key was refused
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from junction.client import AdminAPIError, AdminClient

T = TypeVar("T")

EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_AUTH = 1, 2, 3, 4

Url = Annotated[
    str,
    typer.Option("--url", envvar="JUNCTION_URL", help="The router's address."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]

err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def fail(message: str, code: int) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def run(url: str, work: Callable[[AdminClient], Awaitable[T]]) -> T:
    """Run ``work`` against the router's admin API; turn its errors into messages and exits."""
    key = os.environ.get("JUNCTION_ADMIN_KEY")
    if not key:
        fail(
            "set JUNCTION_ADMIN_KEY to the admin key (printed on the router's first start)",
            EXIT_USAGE,
        )

    async def go() -> T:
        client = AdminClient.connect(url, key)
        try:
            return await work(client)
        finally:
            await client.aclose()

    try:
        return asyncio.run(go())
    except AdminAPIError as exc:
        if exc.status == 0:
            fail(
                f"{exc.message} (is `junction serve` running at {url}? set --url)", EXIT_UNREACHABLE
            )
        if exc.status in (401, 403):
            fail(f"{exc.message} (check JUNCTION_ADMIN_KEY)", EXIT_AUTH)
        field = f" [{exc.param}]" if exc.param else ""
        fail(f"{exc.message}{field}", EXIT_REFUSED)


def show(data: Any, as_json: bool, columns: Sequence[str] = ()) -> None:
    """A table for people, JSON for scripts."""
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    rows = data if isinstance(data, list) else [data]
    if not rows:
        out.print("(none)")
        return
    table = Table(*(columns or list(rows[0])))
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in (columns or list(rows[0]))))
    out.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def parse_fields(pairs: list[str]) -> dict[str, Any]:
    """``--set field=value`` pairs; values are JSON where they parse as JSON, else strings."""
    fields: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            fail(f"'{pair}' is not field=value", EXIT_USAGE)
        try:
            fields[name] = json.loads(raw)
        except json.JSONDecodeError:
            fields[name] = raw
    return fields
