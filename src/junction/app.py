"""``create_app(settings)``: builds the whole router. Importing this module starts nothing."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.routing import Router as StarletteRouter

from junction import services
from junction.accounting.service import install as install_accounting
from junction.api_document import api_document_route
from junction.body_limit import BodySizeLimit
from junction.bootstrap import ensure_admin_key
from junction.cluster.config_sync import ConfigSync
from junction.config.catalog import Catalog
from junction.core.responses import json_response
from junction.dataplane.routes import data_plane_routes
from junction.error_handlers import install_error_handlers
from junction.gc_tuning import serving_collector
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

if TYPE_CHECKING:
    from fastapi import FastAPI
    from redis.asyncio import Redis

log = logging.getLogger("junction")


def create_app(settings: Settings | None = None) -> Starlette:
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
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
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

    # A plain Starlette application: the data plane's routes are Starlette routes, and FastAPI
    # (with pydantic's schemas) is imported only by the admin API, on its first request.
    app = Starlette(lifespan=lifespan)
    app.state.runtime = rt
    accounting = install_accounting(app, rt)
    app.router.routes.extend(data_plane_routes(rt))
    app.router.routes.extend(operation_routes(rt))
    app.router.routes.extend(_admin_planes(rt))
    app.router.routes.extend(front_routes())  # /, /favicon.ico, /docs
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    return app


def _admin_planes(rt: Runtime) -> list[BaseRoute]:
    """The admin API at /admin/v1 and the web UI at /ui, built on their first request
    (``lazy_routes``), and the published API document, which lists the admin API."""

    def load_admin() -> FastAPI:
        from junction.admin.app import admin_app

        return admin_app(rt)

    def load_ui() -> StarletteRouter:
        from junction.ui.routes import ui_app

        return ui_app(rt)

    admin = LazyRoutes("/admin/v1", load_admin)
    return [admin, LazyRoutes("/ui", load_ui), api_document_route(admin.ensure)]


def create_worker_app() -> Starlette:
    """The app of one ``--workers`` process: spawned workers set up their own logging."""
    from junction.telemetry.process_log import configure_logging

    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    access = logging.getLogger("uvicorn.access")  # Junction writes its own access lines
    access.handlers, access.propagate = [], False
    return create_app(settings)


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
