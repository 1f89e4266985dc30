"""``junction admin-key rotate``: replace the admin key stored in the database.

Running routers pick the new key up within ``JUNCTION_ADMIN_KEY_REFRESH_SECONDS``; the old
one stops working then. Run it with the same ``JUNCTION_DATA_DIR`` / ``JUNCTION_DATABASE_URL``
and ``JUNCTION_SECRET_KEY`` as the routers.
"""

from __future__ import annotations

import asyncio

import typer

from junction.settings import Settings

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    help="Replace the admin key stored in the database (running routers pick it up within "
    "JUNCTION_ADMIN_KEY_REFRESH_SECONDS; run it with their JUNCTION_DATA_DIR or "
    "JUNCTION_DATABASE_URL and JUNCTION_SECRET_KEY).",
)


async def _rotate(settings: Settings) -> str:
    from junction.keys.admin_key import rotate_admin_key
    from junction.security.secrets import SecretBox, load_root_secret
    from junction.store.schema import ensure_schema
    from junction.store.serving_db import open_database

    url = settings.resolved_database_url()
    db = open_database(url)
    try:
        await ensure_schema(db, url)
        box = SecretBox(load_root_secret(settings))
        return await rotate_admin_key(db, box)
    finally:
        await db.close()


@app.command(short_help="Make a new admin key and retire the current one.")
def rotate() -> None:
    """Generate a new admin key, print it once, and retire the current one."""
    settings = Settings()
    if settings.admin_key:
        typer.echo(
            "The admin key comes from JUNCTION_ADMIN_KEY: rotate it by changing that variable "
            "on every router.",
            err=True,
        )
        raise typer.Exit(1)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = asyncio.run(_rotate(settings))
    typer.echo(
        f"New admin key (shown this once; keep it safe):\n\n    {key}\n\n"
        f"Running routers switch to it within {settings.admin_key_refresh_seconds:g} s."
    )
