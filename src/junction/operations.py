"""``/healthz`` (the process is alive) and ``/readyz`` (it can serve).

Ready means: the database answers, and unless no provider is configured, at least one
provider is not entirely cooling down. Each provider's health, latency and last error (as
this process has seen them, ``routing/health.py``) are listed under ``providers``.
"""

from __future__ import annotations

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from junction.core.responses import json_response
from junction.runtime import Runtime


def operation_routes(rt: Runtime) -> list[BaseRoute]:
    async def healthz(_request: Request) -> Response:
        return json_response({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        checks: dict[str, str] = {}
        try:
            async with rt.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # any failure means "not ready", never a crash
            checks["database"] = f"error: {type(exc).__name__}"
        providers = {
            name: rt.router.health.provider_health(name) for name in rt.catalog.snapshot.providers
        }
        for view in providers.values():
            view.pop("deployments")
        if providers and all(v["status"] == "cooldown" for v in providers.values()):
            checks["providers"] = "error: every provider is cooling down"
        else:
            checks["providers"] = "ok"
        ready = all(v == "ok" for v in checks.values())
        return json_response(
            {
                "status": "ready" if ready else "unavailable",
                "checks": checks,
                "providers": providers,
                "rate_limits": rt.rate_limits.store.stats(),  # served either way: fail open
            },
            status=200 if ready else 503,
        )

    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
