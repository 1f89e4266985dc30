"""``junction serve``, in a module of its own: starting the router imports only what serving
needs, not the management commands (their HTTP client, YAML, tables), nor typer for a plain
command line: typer checks option values with pydantic, about 9 MB and 80 ms of CPU at every
start. ``plain_options`` reads ``--host``, ``--port`` and ``--workers`` with obviously valid
values; anything else (``--help``, a mistake, ``--config``) goes to the typer command
(``serve_command.py``), so help, checks and error messages stay the CLI's.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from junction.settings import Settings
from junction.telemetry.process_log import configure_logging

if TYPE_CHECKING:
    from junction.declarative.document import Document
    from junction.declarative.run import Applied

HELP = "junction: run the router, and manage one that runs."
SHORT_HELP = "Run the router, its admin API and web UI."


def serve(
    host: str | None = None, port: int | None = None, config: Path | None = None, workers: int = 1
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
    options = plain_options(sys.argv[2:])
    if options is None:
        from junction.cli.serve_command import serve_alone

        serve_alone()
    else:
        serve(**options)


_NUMBERS = {"--port": 0, "--workers": 1}  # each number option and its least value


def plain_options(args: list[str]) -> dict[str, Any] | None:
    """``--host``, ``--port`` and ``--workers`` (``--name value`` or ``--name=value``; the last
    one counts, as with typer) when every value is one typer would take as it is; otherwise
    None: typer reads the command line."""
    options: dict[str, Any] = {}
    rest = iter(args)
    for arg in rest:
        name, equals, value = arg.partition("=")
        if not equals:
            value = next(rest, "")
        if name == "--host" and value and not value.startswith("-"):
            options["host"] = value
        elif name in _NUMBERS and value.isascii() and value.isdigit():
            if int(value) < _NUMBERS[name]:
                return None
            options[name[2:]] = int(value)
        else:
            return None
    return options
