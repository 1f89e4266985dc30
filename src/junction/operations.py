"""``/healthz`` (the process is alive) and ``/readyz`` (it can serve).

Ready means: the database answers, and unless no provider is configured, at least one
provider is not entirely cooling down. Anyone may ask, and learns only that: ready or not, per
component. With the admin key (``Authorization: Bearer <admin key>``) the answer also lists
each provider's health, latency and last error (as this process has seen them,
``routing/health.py``) and the rate-limit backend: upstream error text is operator data.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from junction.core.responses import json_response
from junction.runtime import Runtime
from junction.security.secrets import holds_admin_key
from junction.store.serving_db import Sql

_PING = Sql("SELECT 1")


def operation_routes(rt: Runtime) -> list[BaseRoute]:
    async def healthz(_request: Request) -> Response:
        return json_response({"status": "ok"})

    async def readyz(request: Request) -> Response:
        checks: dict[str, str] = {}
        database_error = None
        try:
            await rt.db.value(_PING)
            checks["database"] = "ok"
        except Exception as exc:  # any failure means "not ready", never a crash
            checks["database"] = "error"
            database_error = type(exc).__name__
        providers = {
            name: rt.router.health.provider_health(name) for name in rt.catalog.snapshot.providers
        }
        for view in providers.values():
            view.pop("deployments")
        if providers and all(v["status"] == "cooldown" for v in providers.values()):
            checks["providers"] = "error"
        else:
            checks["providers"] = "ok"
        ready = all(v == "ok" for v in checks.values())
        body: dict[str, Any] = {"status": "ready" if ready else "unavailable", "checks": checks}
        if holds_admin_key(rt.box, rt.admin_key_hash, request.headers.get("authorization")):
            body["details"] = {
                "database": database_error,
                "providers": "every provider is cooling down"
                if checks["providers"] == "error"
                else None,
            }
            body["providers"] = providers
            body["rate_limits"] = rt.rate_limits.store.stats()  # served either way: fail open
        return json_response(body, status=200 if ready else 503)

    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
