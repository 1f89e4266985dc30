"""``junction apply`` and ``junction export``: configuration as code."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from junction.cli.common import EXIT_USAGE, Url, err, fail, out, run
from junction.cli.manage import DEFAULT_URL
from junction.declarative.document import Document, DocumentError, dump_document, load_document
from junction.declarative.run import Applied, apply, export


def read_document(path: Path) -> Document:
    """The file, validated whole; any error exits with code 2 before anything changes."""
    try:
        text = path.read_text()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}", EXIT_USAGE)
    try:
        return load_document(text, os.environ, str(path))
    except DocumentError as exc:
        fail(f"invalid configuration, nothing changed:\n{exc}", EXIT_USAGE)


def report(result: Applied, dry_run: bool) -> None:
    if not result.changes:
        out.print("No changes: the router already matches the file.")
        return
    verb = "Would apply" if dry_run else "Applied"
    out.print(f"{verb} {len(result.changes)} change(s):")
    for change in result.changes:
        colour = {"create": "green", "update": "yellow"}.get(change.action, "red")
        out.print(f"[{colour}]{change.describe()}[/{colour}]", highlight=False)
    for name, key in result.new_keys.items():
        err.print(f"New key {name}: [bold]{key}[/bold]  (shown once; store it now)")


def apply_command(
    file: Annotated[Path, typer.Option("-f", "--file", help="The YAML configuration.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan only.")] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Also delete what the file does not name.")
    ] = False,
    url: Url = DEFAULT_URL,
) -> None:
    """Bring a running router to what FILE describes (idempotent)."""
    doc = read_document(file)
    base_dir = file.resolve().parent
    try:
        result = run(
            url,
            lambda client: apply(client, doc, prune=prune, dry_run=dry_run, base_dir=base_dir),
        )
    except DocumentError as exc:
        fail(f"invalid configuration, nothing changed:\n{exc}", EXIT_USAGE)
    report(result, dry_run)


def export_command(
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here.")] = None,
    files_dir: Annotated[
        str,
        typer.Option(
            "--files-dir",
            help="Folder for the assistants' knowledge files, relative to the output file "
            "(or to the current folder when the YAML goes to stdout).",
        ),
    ] = "files",
    no_files: Annotated[
        bool, typer.Option("--no-files", help="Leave knowledge files out of the export.")
    ] = False,
    url: Url = DEFAULT_URL,
) -> None:
    """Write the router's configuration in the format `apply` reads (secrets as ${VAR}), and
    each assistant's knowledge files under FILES_DIR/<workspace>/<assistant>/."""
    folder = files_dir.strip("/") or "."
    exported = run(url, lambda client: export(client, None if no_files else folder))
    base = output.resolve().parent if output is not None else Path.cwd()
    for path, data in exported.files.items():
        target = base / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    if exported.files:
        err.print(f"Wrote {len(exported.files)} knowledge file(s) under {base / folder}")
    text = dump_document(exported.document)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
