"""``/healthz`` (the process is alive) and ``/readyz`` (it can serve: the database answers)."""

from __future__ import annotations

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from junction.dataplane.http import json_response
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
        ready = all(v == "ok" for v in checks.values())
        return json_response(
            {
                "status": "ready" if ready else "unavailable",
                "checks": checks,
                "rate_limits": rt.rate_limits.store.stats(),  # served either way: fail open
            },
            status=200 if ready else 503,
        )

    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
