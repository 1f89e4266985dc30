"""A router that only serves never imports SQLAlchemy nor Alembic (on SQLite and PostgreSQL).

SQLAlchemy is what the admin API, the UI, the CLI, the migrations and stored conversations use;
a router's start-up and its data plane talk to the database through ``store.serving_db``. The
router is built by ``create_app`` and started by its own lifespan in a fresh interpreter, on a
database that an earlier router set up; every front door of the data plane is then called (the
official OpenAI client; Anthropic's wire for Messages) on the ASGI app in process, so that the
interpreter can be asked afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RouterProcess, fresh_pg_database, make_tenant
from tests.upstream import Upstream

SERVE = r"""
import asyncio, json, sys

import httpx, openai

from junction.app import create_app

async def main(key: str) -> None:
    app = create_app()
    seen = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://router") as http:
            client = openai.AsyncOpenAI(
                base_url="http://router/v1", api_key=key, http_client=http, max_retries=0
            )
            chat = await client.chat.completions.create(
                model="bot", messages=[{"role": "user", "content": "hello there"}]
            )
            seen["chat"] = chat.choices[0].message.content
            response = await client.responses.create(model="bot", input="one two", store=False)
            seen["responses"] = response.output_text
            vectors = await client.embeddings.create(model="embedder", input=["a", "bcd"])
            seen["embeddings"] = len(vectors.data)
            seen["models"] = sorted(m.id for m in (await client.models.list()).data)
            message = await http.post(
                "/v1/messages",
                headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
                json={
                    "model": "bot",
                    "max_tokens": 50,
                    "messages": [{"role": "user", "content": "hi you"}],
                },
            )
            seen["messages"] = message.json()["content"][0]["text"]
            seen["ready"] = (await http.get("/readyz")).status_code
        seen["serving"] = sorted(m for m in ("sqlalchemy", "alembic") if m in sys.modules)
    seen["stopped"] = sorted(m for m in ("sqlalchemy", "alembic") if m in sys.modules)
    print(json.dumps(seen))

asyncio.run(main(sys.argv[1]))
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def database_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """A database of its own: one shared with other tests may hold knowledge or conversations,
    whose first use rightly loads the ORM."""
    if request.param == "sqlite":
        yield {}
        return
    with fresh_pg_database() as url:
        yield {"JUNCTION_DATABASE_URL": url}


def test_the_data_plane_is_served_without_sqlalchemy(
    tmp_path: Path, upstream: Upstream, database_env: dict[str, str]
) -> None:
    env = {**database_env, "JUNCTION_SECRET_KEY": "serving-without-orm-secret"}
    setup = RouterProcess(tmp_path, env).start()
    try:
        with setup.admin() as admin:
            made = admin.post("/providers", json={"name": "local", "base_url": upstream.url})
            assert made.status_code in (201, 409), made.text
        tenant = make_tenant(setup)
        tenant.assistant("bot")
        tenant.assistant("embedder", model="local/embed")
    finally:
        setup.stop()

    run = subprocess.run(
        [sys.executable, "-c", SERVE, tenant.key],
        env={**os.environ, **env, "JUNCTION_DATA_DIR": str(tmp_path)},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr.decode(errors="replace")[-3000:]
    seen: dict[str, Any] = json.loads(run.stdout.decode().splitlines()[-1])
    assert seen["chat"] == "echo: hello there"
    assert seen["responses"] == "echo: one two"
    assert seen["embeddings"] == 2
    assert {"bot", "embedder"} <= set(seen["models"])
    assert seen["messages"] == "echo: hi you"
    assert seen["ready"] == 200
    assert seen["serving"] == [], "the data plane imported " + ", ".join(seen["serving"])
    assert seen["stopped"] == [], "the shutdown imported " + ", ".join(seen["stopped"])
