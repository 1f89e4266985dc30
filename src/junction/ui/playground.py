"""Playground: chat with an assistant from the browser, through the real data plane.

The browser needs a workspace key to call ``/v1/chat/completions``. The UI mints one through the
admin API, named ``ui-playground`` and expiring after an hour, and hands it to the page (never
the admin key). It is reused while it has more than ten minutes left, so a session does not
litter the key list (``?fresh=1`` mints a new one, after the old one was revoked). It is an
ordinary key, so the call is authenticated, routed, limited and logged exactly like a client's,
and it shows up in the workspace's keys and logs.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from starlette.responses import JSONResponse, Response

from junction.ui.api import path
from junction.ui.web import SECURITY_HEADERS, Page, Ui, page

KEY_NAME = "ui-playground"
KEY_SECONDS = 3600
REUSE_MARGIN_SECONDS = 600


def playground_routes(ui: Ui) -> dict[str, object]:
    @page(ui)
    async def show(p: Page) -> Response:
        ws = p.param("ws")
        found = await p.api.get(path("workspaces", ws, "assistants"))
        if not found.ok:
            return p.render("error.html", found.status, message=found.message)
        return p.render(
            "playground.html",
            ws=ws,
            assistants=found.items(),
            chosen=p.request.query_params.get("assistant", ""),
            base_url=p.base_url(),
        )

    @page(ui)
    async def key(p: Page) -> Response:
        ws = p.param("ws")
        now = time.time()
        cached = None if p.request.query_params.get("fresh") else ui.playground_keys.get(ws)
        if cached is None or cached[1] - now < REUSE_MARGIN_SECONDS:
            expires = datetime.now(UTC) + timedelta(seconds=KEY_SECONDS)
            result = await p.api.post(
                path("workspaces", ws, "keys"),
                {"name": KEY_NAME, "expires_at": expires.isoformat()},
            )
            if not result.ok:
                return JSONResponse(
                    {"error": result.message}, result.status, headers=SECURITY_HEADERS
                )
            cached = (str(result.data["key"]), expires.timestamp())
            ui.playground_keys[ws] = cached
        return JSONResponse(
            {"key": cached[0], "expires_at": cached[1], "base_url": p.base_url()},
            headers=SECURITY_HEADERS,
        )

    return {"playground": show, "playground_key": key}
