"""Wires the request log, budgets, metrics and access lines into a router (``install``).

``create_app`` calls ``install`` once; its lifespan calls ``start`` after the catalog is loaded
and ``stop`` before the engine is disposed (the log queue is flushed there).
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from junction.accounting.budget import BudgetLedger, LocalSpend
from junction.accounting.entry import log_row
from junction.accounting.retention import Retention
from junction.accounting.writer import LogWriter
from junction.dataplane.call import Call
from junction.runtime import Runtime
from junction.telemetry.metrics import LogQueueStats, Metrics
from junction.telemetry.process_log import access_logger


class Accounting:
    def __init__(self, rt: Runtime) -> None:
        settings = rt.settings
        self._rt = rt
        self.writer: LogWriter | None = None
        if settings.request_log:
            self.writer = LogWriter(
                rt.engine,
                settings.log_queue_size,
                settings.log_batch_size,
                settings.log_flush_interval,
            )
        self.retention = Retention(
            rt.engine, settings.log_retention_days, settings.log_purge_interval
        )
        self.budget = BudgetLedger(LocalSpend())
        self.metrics = Metrics(
            rt.router.in_flight, self._queue_stats(), settings.metrics_max_label_values
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

    def record(self, call: Call) -> None:
        """Call observer: queue the log entry (no I/O here)."""
        if self.writer is not None:
            self.writer.submit(log_row(call, self._rt.catalog.snapshot))

    async def start(self) -> None:
        await self.budget.seed(self._rt.engine)
        if self.writer is not None:
            self.writer.start()
        self.retention.start()

    async def stop(self) -> None:
        await self.retention.stop()
        if self.writer is not None:
            await self.writer.stop()


def install(app: Starlette, rt: Runtime) -> Accounting:
    accounting = Accounting(rt)
    rt.call_observers.extend(
        [accounting.budget.record, accounting.metrics.observe, accounting.record]
    )
    if rt.settings.access_log:
        rt.call_observers.append(access_logger())
    rt.call_checks.append(accounting.budget.check)
    app.state.accounting = accounting

    async def metrics(_request: Request) -> Response:
        return Response(
            generate_latest(accounting.metrics.registry), media_type=CONTENT_TYPE_LATEST
        )

    app.router.routes.append(Route("/metrics", metrics, methods=["GET"]))
    return accounting
