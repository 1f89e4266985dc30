"""Workspaces: list with the last day's traffic, create, delete after a confirmation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.responses import Response

from junction.ui.api import AdminApi, path
from junction.ui.paging import list_page, tally
from junction.ui.web import Page, Ui, page, see_other


async def traffic(api: AdminApi, ws: str, hours: int = 24) -> dict[str, Any] | None:
    """Requests and tokens since the start of the hour ``hours`` ago (whole hours: the usage
    API answers from its hourly rollups alone), or None when the usage API is not there."""
    since = (datetime.now(UTC) - timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
    result = await api.get(path("workspaces", ws, "usage"), group_by="day", since=since.isoformat())
    if not result.ok:
        return None
    total = result.data.get("total") or {}
    return {
        "requests": int(total.get("requests") or 0),
        "tokens": int(total.get("prompt_tokens") or 0) + int(total.get("completion_tokens") or 0),
    }


def workspace_routes(ui: Ui) -> dict[str, object]:
    async def listing(p: Page, status: int = 200, **extra: Any) -> Response:
        """One page of workspaces, with the last day's traffic of the page's workspaces only."""
        found = await list_page(p, path("workspaces"))
        # One usage read per workspace of the page, made at once (a page holds at most
        # UI_PAGE): the page waits for the slowest, not for their sum.
        figures = await asyncio.gather(*(traffic(p.api, ws["name"]) for ws in found.items))
        rows = [{**ws, "traffic": t} for ws, t in zip(found.items, figures, strict=True)]
        return p.render(
            "workspaces.html",
            status,
            workspaces=rows,
            listing=found,
            load_error=None if found.result.ok else found.result,
            **extra,
        )

    @page(ui)
    async def index(p: Page) -> Response:
        if not p.writing:
            return await listing(p)
        name = p.form.get("name")
        result = await p.api.post(path("workspaces"), {"name": name})
        if not result.ok:
            return await listing(p, 422, error=result, values={"name": name})
        return see_other(f"/ui/w/{name}/settings?created=1")

    @page(ui)
    async def delete(p: Page) -> Response:
        ws = p.param("ws")
        found = await p.api.get(path("workspaces", ws))
        if not found.ok:
            return p.render("error.html", found.status, message=found.message)
        keys, assistants = await asyncio.gather(
            tally(p.api, path("workspaces", ws, "keys"), revoked="false"),
            tally(p.api, path("workspaces", ws, "assistants")),
        )
        context = {"ws": found.data, "keys": keys, "assistants": assistants, "mismatch": False}
        if not p.writing:
            return p.render("workspace_delete.html", **context)
        if p.form.get("confirm_name") != ws:
            return p.render("workspace_delete.html", 422, **{**context, "mismatch": True})
        result = await p.api.delete(path("workspaces", ws))
        if not result.ok:
            return p.render("error.html", result.status, message=result.message)
        ui.playground_keys.pop(ws, None)
        return see_other("/ui/workspaces?deleted=" + ws)

    return {"workspaces": index, "workspace_delete": delete}
