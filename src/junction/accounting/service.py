"""Wires the request log, budgets, metrics and access lines into a router (``install``).

``create_app`` calls ``install`` once; its lifespan calls ``start`` after the catalog is loaded
and ``stop`` before the database is closed (the log queue is flushed there).
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from junction.accounting.budget import BudgetLedger, LocalSpend
from junction.accounting.retention import Retention
from junction.accounting.writer import LogWriter
from junction.core.responses import error_response
from junction.errors import AuthenticationFailed
from junction.security.secrets import holds_admin_key, same_secret
from junction.telemetry.access_log import AccessLog
from junction.telemetry.metrics import LogQueueStats, Metrics
from junction.telemetry.otel import SpanExport, parse_headers
from junction.telemetry.process_log import uses_json

if TYPE_CHECKING:
    from junction.accounting.shared_spend import RedisSpend
    from junction.runtime import Runtime  # holds the accounting: read for types only


class Accounting:
    def __init__(self, rt: Runtime) -> None:
        settings = rt.settings
        self._rt = rt
        self.writer: LogWriter | None = None
        if settings.request_log:
            self.writer = LogWriter(
                rt.db,
                lambda: rt.catalog.snapshot,
                settings.log_queue_size,
                settings.log_batch_size,
                settings.log_flush_interval,
            )
        self.retention = Retention(
            rt.db,
            settings.log_retention_days,
            settings.log_purge_interval,
            settings.usage_retention_days,
        )
        self.shared_spend = _redis_spend(rt) if rt.redis is not None else None
        self.budget = BudgetLedger(self.shared_spend or LocalSpend())
        self.access: AccessLog | None = None
        if settings.access_log and logging.getLevelName(settings.log_level.upper()) <= logging.INFO:
            self.access = AccessLog(sys.stdout, uses_json(settings.log_format, sys.stdout))
        self.metrics = Metrics(
            rt.router.in_flight,
            self._queue_stats(),
            settings.metrics_max_label_values,
            rt.router.health,
        )
        self.spans: SpanExport | None = None
        if settings.otel_export:
            self.spans = SpanExport(
                lambda: rt.catalog.snapshot,
                settings.otel_endpoint,
                parse_headers(settings.otel_headers),
                settings.otel_service_name,
            )

    def _queue_stats(self) -> LogQueueStats | None:
        writer = self.writer
        if writer is None:
            return None
        return LogQueueStats(
            depth=lambda: writer.depth,
            dropped=lambda: writer.dropped,
            written=lambda: writer.written,
            write_errors=lambda: writer.write_errors,
        )

    async def start(self) -> None:
        await self.budget.seed(self._rt.db)
        if self.shared_spend is not None:
            self.shared_spend.start()
        if self.writer is not None:
            self.writer.start()
        if self.access is not None:
            self.access.start()
        self.retention.start()
        if self.spans is not None:
            self.spans.start()

    async def stop(self) -> None:
        if self.shared_spend is not None:
            await self.shared_spend.stop()
        await self.retention.stop()
        if self.writer is not None:
            await self.writer.stop()
        if self.access is not None:
            self.access.stop()
        if self.spans is not None:
            await self.spans.stop()


def metrics_allowed(rt: Runtime, authorization: str | None) -> bool:
    """``/metrics`` names workspaces and assistants: it takes the metrics token or the admin
    key, unless the operator made it public (``metrics_public``)."""
    if rt.settings.metrics_public:
        return True
    token = rt.settings.metrics_token
    scheme, _, given = (authorization or "").partition(" ")
    if token and scheme.lower() == "bearer" and same_secret(given.strip(), token):
        return True
    return holds_admin_key(rt.box, rt.admin_key_hash, authorization)


def install(app: Starlette, rt: Runtime) -> Accounting:
    accounting = Accounting(rt)
    rt.call_observers.extend([accounting.budget.record, accounting.metrics.observe])
    if accounting.writer is not None:
        rt.call_observers.append(accounting.writer.submit)
    if accounting.access is not None:
        rt.call_observers.append(accounting.access.observe)
    if accounting.spans is not None:
        rt.call_observers.append(accounting.spans.observe)
    rt.call_checks.append(accounting.budget.check)
    app.state.accounting = accounting

    async def metrics(request: Request) -> Response:
        if not metrics_allowed(rt, request.headers.get("authorization")):
            return error_response(
                AuthenticationFailed(
                    "/metrics needs 'Authorization: Bearer <token>': the metrics token "
                    "(JUNCTION_METRICS_TOKEN) or the admin key, unless JUNCTION_METRICS_PUBLIC "
                    "is set."
                )
            )
        from junction.telemetry.exposition import MEDIA_TYPE, exposition  # prometheus-client

        return Response(exposition(accounting.metrics), media_type=MEDIA_TYPE)

    app.router.routes.append(Route("/metrics", metrics, methods=["GET"]))
    return accounting


def _redis_spend(rt: Runtime) -> RedisSpend:
    from junction.accounting.shared_spend import RedisSpend  # the Redis client: only with Redis

    assert rt.redis is not None
    return RedisSpend(rt.redis, rt.settings.redis_prefix)
