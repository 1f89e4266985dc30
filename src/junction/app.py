"""``create_app(settings)``: builds the whole router. Importing this module starts nothing."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from junction import __version__, services
from junction.accounting.service import install as install_accounting
from junction.body_limit import BodySizeLimit
from junction.bootstrap import ensure_admin_key
from junction.cluster.config_sync import ConfigSync
from junction.config.catalog import Catalog
from junction.core.responses import error_response, json_response
from junction.dataplane.conversations import add_conversation_paths
from junction.dataplane.openapi import add_data_plane_paths
from junction.dataplane.routes import data_plane_routes
from junction.errors import InvalidRequest, JunctionError, NotFound, ValidationFailed
from junction.gc_tuning import serving_collector
from junction.hardening.crash import install_crash_handler
from junction.history.store import ConversationStore
from junction.knowledge.service import install as install_knowledge
from junction.lazy_routes import LazyRoutes
from junction.operations import operation_routes
from junction.routing.router import Router
from junction.runtime import Runtime
from junction.security.secrets import SecretBox, load_root_secret
from junction.security.throttle import FailureThrottle
from junction.settings import Settings
from junction.store.orm import LazyOrm
from junction.store.schema import ensure_schema
from junction.store.serving_db import open_database
from junction.tokens.counter import TokenCounter
from junction.ui.front import front_routes
from junction.validation_words import error_in_words

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("junction")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    url = settings.resolved_database_url()
    # The serving port now (no SQLAlchemy); the ORM for the admin side, made on first use.
    db, orm = open_database(url), LazyOrm(url)
    box = SecretBox(load_root_secret(settings))
    catalog = Catalog(settings, db, box)
    redis = _redis(settings.redis_url) if settings.redis_url else None
    rt = Runtime(settings, db, orm, box, catalog, redis=redis)
    rt.login_failures = FailureThrottle(settings.login_failures_per_minute)
    sync = rt.config_sync = ConfigSync(catalog, db, redis, settings.config_poll_seconds)
    rt.router = Router.from_settings(settings)
    background = services.install(rt)
    rt.tokens = TokenCounter()  # the tokenizer, loaded once per process
    rt.history = ConversationStore(settings, db, orm, rt.tokens)
    background.append(install_knowledge(rt))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await ensure_schema(db, url)
        generated = await ensure_admin_key(rt)
        if generated:
            _announce_admin_key(generated)
        await sync.start()
        rt.history.start()
        await accounting.start()
        await services.start_all(background)
        try:
            with serving_collector():
                yield
        finally:
            await services.stop_all(background)
            await accounting.stop()  # flushes the request log queue
            await rt.history.close()  # flushes stored turns
            await sync.stop()
            await rt.catalog.close()
            if redis is not None:
                await redis.aclose()
            await orm.dispose()
            await db.close()

    app = FastAPI(
        title="Junction",
        version=__version__,
        summary="OpenAI-compatible router for self-hosted language models",
        lifespan=lifespan,
        docs_url=None,  # served offline by ui/front.py
        redoc_url=None,
        # Junction has its own metrics; FastAPI's OpenTelemetry hook would otherwise look up
        # the providers (environment reads) on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        strict_content_type=False,  # curl users often leave out Content-Type: accept JSON anyway
    )
    app.state.runtime = rt
    accounting = install_accounting(app, rt)
    app.router.routes.extend(data_plane_routes(rt))
    app.router.routes.extend(operation_routes(rt))
    _add_admin_planes(app, rt)
    app.router.routes.extend(front_routes())  # /, /favicon.ico, /docs
    _install_error_handlers(app)
    install_crash_handler(app)
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    add_data_plane_paths(app)
    add_conversation_paths(app)
    return app


def _add_admin_planes(app: FastAPI, rt: Runtime) -> None:
    """The admin API at /admin/v1 and the web UI at /ui, imported on their first request
    (``lazy_routes``); the published API document imports the admin API to list it."""

    def load_admin() -> None:
        from junction.admin.router import router

        app.include_router(router)

    def load_ui() -> None:
        from junction.ui.routes import ui_mount

        app.router.routes.append(ui_mount(rt))

    admin = LazyRoutes("/admin/v1", load_admin)
    app.router.routes.extend([admin, LazyRoutes("/ui", load_ui)])
    build = app.openapi

    def openapi() -> dict[str, Any]:
        admin.ensure()
        return build()

    app.openapi = openapi  # type: ignore[method-assign]


def create_worker_app() -> FastAPI:
    """The app of one ``--workers`` process: spawned workers set up their own logging."""
    from junction.telemetry.process_log import configure_logging

    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    access = logging.getLogger("uvicorn.access")  # Junction writes its own access lines
    access.handlers, access.propagate = [], False
    return create_app(settings)


def _install_error_handlers(app: FastAPI) -> None:
    async def on_junction_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, JunctionError)
        return error_response(exc)

    async def on_validation_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_response(_validation_error(exc.errors()))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            error: JunctionError = NotFound(f"Unknown URL: {request.method} {request.url.path}")
        else:
            error = InvalidRequest(str(exc.detail))
        response = error_response(error)
        response.status_code = exc.status_code
        return response

    app.add_exception_handler(JunctionError, on_junction_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)


def _validation_error(errors: Any) -> ValidationFailed:
    """FastAPI's error list as one OpenAI-shaped 422 whose ``param`` is the first bad field,
    each error said in words (what the field allows, never a regular expression)."""
    parts = []
    first: str | None = None
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or "body"
        first = first or field
        parts.append(f"{field}: {error_in_words(error)}")
    return ValidationFailed("; ".join(parts) or "Invalid request.", param=first)


def _redis(url: str) -> Redis:
    from redis.asyncio import Redis  # the client (about 8 MB) only where Redis is configured

    return Redis.from_url(url)


def _announce_admin_key(key: str) -> None:
    bar = "=" * 72
    print(
        f"\n{bar}\nJunction created an admin key. It is shown this once; keep it safe:\n\n"
        f"    {key}\n\nNext: open /ui in a browser and log in with it to add a provider, a "
        "workspace, a key and an assistant;\nor use it as 'Authorization: Bearer <key>' on "
        "/admin/v1 (README: Quick start), or with the junction CLI as JUNCTION_ADMIN_KEY.\n"
        f"{bar}\n",
        flush=True,
    )


__all__ = ["create_app", "json_response"]
