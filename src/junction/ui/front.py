"""The router's front door: ``/`` leads to the admin UI, ``/favicon.ico``, and ``/docs``.

``/docs`` is Swagger UI over ``/openapi.json`` with its assets served by the router itself from
the ``swagger-ui-bundle-v2`` package (no CDN: the page works on a machine without internet).
The page (FastAPI's) and the assets are loaded on their first request: a router that only
serves ``/v1`` never needs them.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.staticfiles import StaticFiles

from junction.lazy_routes import LazyRoutes

STATIC = Path(__file__).parent / "static"
DOCS_ASSETS = "/docs/assets"


async def _home(_request: Request) -> Response:
    return RedirectResponse("/ui", status_code=302)


async def _favicon(_request: Request) -> Response:
    return FileResponse(
        STATIC / "favicon.ico",
        media_type="image/x-icon",
        headers={"Cache-Control": "public, max-age=86400"},
    )


async def _docs(_request: Request) -> Response:
    from fastapi.openapi.docs import get_swagger_ui_html  # /openapi.json needs FastAPI anyway

    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Junction API",
        swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url="/favicon.ico",
    )


def _docs_assets() -> Router:
    from swagger_ui_bundle import swagger_ui_path

    return Router([Mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)))])


def front_routes() -> list[BaseRoute]:
    return [
        Route("/", _home, methods=["GET", "HEAD"], include_in_schema=False),
        Route("/favicon.ico", _favicon, methods=["GET", "HEAD"], include_in_schema=False),
        Route("/docs", _docs, methods=["GET", "HEAD"], include_in_schema=False),
        LazyRoutes(DOCS_ASSETS, _docs_assets),
    ]
