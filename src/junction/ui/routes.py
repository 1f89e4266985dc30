"""The admin web UI's route table under ``/ui``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.staticfiles import StaticFiles

from junction.runtime import Runtime
from junction.ui.assistants import assistant_routes
from junction.ui.auth import login_routes
from junction.ui.insights import insight_routes
from junction.ui.knowledge import knowledge_routes
from junction.ui.openai_settings import settings_routes
from junction.ui.playground import playground_routes
from junction.ui.providers import provider_routes
from junction.ui.session import Sessions
from junction.ui.web import Ui
from junction.ui.workspaces import workspace_routes

STATIC = Path(__file__).parent / "static"
GET, POST, BOTH = ["GET"], ["POST"], ["GET", "POST"]


def ui_app(rt: Runtime) -> Router:
    """Everything under ``/ui``, as the app the router passes those requests to
    (``lazy_routes``)."""
    ui = Ui(rt, Sessions(rt))
    h: dict[str, Any] = {}
    for group in (
        login_routes,
        workspace_routes,
        settings_routes,
        assistant_routes,
        knowledge_routes,
        playground_routes,
        provider_routes,
        insight_routes,
    ):
        h.update(group(ui))

    async def home(_request: Request) -> Response:
        return RedirectResponse("/ui/workspaces", status_code=303)

    w = "/w/{ws}"
    routes: list[BaseRoute] = [
        Route("/", home, methods=GET),
        Route("/login", h["login"], methods=BOTH),
        Route("/logout", h["logout"], methods=POST),
        Route("/workspaces", h["workspaces"], methods=BOTH),
        Route(w + "/delete", h["workspace_delete"], methods=BOTH),
        Route(w + "/settings", h["settings"], methods=BOTH),
        Route(w + "/keys", h["key_create"], methods=POST),
        Route(w + "/keys/{key_id}/rotate", h["key_rotate"], methods=POST),
        Route(w + "/keys/{key_id}/revoke", h["key_revoke"], methods=POST),
        Route(w + "/assistants", h["assistants"], methods=BOTH),
        Route(w + "/assistants/new", h["assistant_new"], methods=GET),
        Route(w + "/assistants/{name}", h["assistant_edit"], methods=BOTH),
        Route(w + "/assistants/{name}/delete", h["assistant_delete"], methods=BOTH),
        Route(w + "/assistants/{name}/files", h["knowledge_files"], methods=BOTH),
        Route(
            w + "/assistants/{name}/files/{file_id}/delete",
            h["knowledge_file_delete"],
            methods=POST,
        ),
        Route(w + "/playground", h["playground"], methods=GET),
        Route(w + "/playground/key", h["playground_key"], methods=POST),
        Route(w + "/logs", h["logs"], methods=GET),
        Route(w + "/dashboard", h["dashboard"], methods=GET),
        Route("/providers", h["providers"], methods=BOTH),
        Route("/providers/{name}/refresh", h["provider_refresh"], methods=POST),
        Route("/providers/{name}/delete", h["provider_delete"], methods=BOTH),
        Mount("/static", StaticFiles(directory=STATIC), name="ui-static"),
    ]
    return Router([Mount("/ui", routes=routes)])
