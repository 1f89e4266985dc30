"""``GET /metrics``: Prometheus series about the data plane, fed by the call observer.

Counting happens in plain Python numbers kept per label set (the request path does a few dict
look-ups and additions, no locks); prometheus-client turns them into its exposition format at
scrape time, through a collector on a registry of this app's own (nothing global at import).
Request path and scrape both run on the event loop, so no lock is needed.

Labels are workspace, assistant and provider names from the admin's configuration, never what
a client sends; each label still keeps at most ``JUNCTION_METRICS_MAX_LABEL_VALUES`` distinct
values and folds the rest into ``other``, so the series count stays bounded.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from junction.core.call import Call
from junction.routing.health import HealthBoard

NONE = "none"
OTHER = "other"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
TTFT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
SCOPE = ["workspace", "assistant", "provider"]
Scope = tuple[str, str, str]


class LabelGuard:
    """Admits up to ``limit`` distinct values per label; later ones become ``other``."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: dict[str, set[str]] = {}

    def __call__(self, label: str, value: str | None) -> str:
        if value is None:
            return NONE
        seen = self._seen.setdefault(label, set())
        if value in seen:
            return value
        if len(seen) >= self._limit:
            return OTHER
        seen.add(value)
        return value


class Histogram:
    """Bucket counts (not cumulative) and a sum; made cumulative at scrape."""

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def cumulative(self) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            out.append(("+Inf" if bound == float("inf") else repr(float(bound)), running))
        return out


@dataclass
class Series:
    """Everything counted for one (workspace, assistant, provider)."""

    latency: Histogram = field(default_factory=lambda: Histogram(LATENCY_BUCKETS))
    ttft: Histogram = field(default_factory=lambda: Histogram(TTFT_BUCKETS))
    prompt: int = 0
    completion: int = 0
    attempts: int = 0
    requests: dict[tuple[str, str], int] = field(default_factory=dict)  # (endpoint, code)
    errors: dict[str, int] = field(default_factory=dict)  # by error code


@dataclass
class LogQueueStats:
    depth: Callable[[], int]
    dropped: Callable[[], int]
    written: Callable[[], int]
    write_errors: Callable[[], int]


class Metrics(Collector):
    def __init__(
        self,
        in_flight: dict[str, int],
        queue: LogQueueStats | None,
        max_label_values: int,
        health: HealthBoard | None = None,
    ) -> None:
        self._in_flight = in_flight
        self._health = health
        self._queue = queue
        self._guard = LabelGuard(max_label_values)
        self._series: dict[Scope, Series] = {}
        self.registry = CollectorRegistry()
        self.registry.register(self)

    def observe(self, call: Call) -> None:
        """Call observer."""
        guard = self._guard
        scope = (
            guard("workspace", call.workspace.name if call.workspace else None),
            guard("assistant", call.assistant.name if call.assistant else None),
            guard("provider", call.deployment.partition("/")[0] if call.deployment else None),
        )
        series = self._series.get(scope)
        if series is None:
            series = self._series[scope] = Series()
        key = (call.endpoint, str(call.status))
        series.requests[key] = series.requests.get(key, 0) + 1
        if call.error_code is not None:
            code = guard("error", call.error_code)
            series.errors[code] = series.errors.get(code, 0) + 1
        if call.finished_at is not None:
            series.latency.observe(call.finished_at - call.started)
        if call.first_token_at is not None:
            series.ttft.observe(call.first_token_at - call.started)
        series.prompt += call.prompt_tokens or 0
        series.completion += call.completion_tokens or 0
        series.attempts += call.attempts

    def describe(self) -> Iterable[Metric]:
        return []  # families are only known at collect time

    def collect(self) -> Iterable[Metric]:
        requests = CounterMetricFamily(
            "junction_requests",
            "Data-plane requests by endpoint and HTTP status.",
            labels=[*SCOPE, "endpoint", "code"],
        )
        errors = CounterMetricFamily(
            "junction_errors",
            "Data-plane requests that ended in an error, by error code.",
            labels=[*SCOPE, "error"],
        )
        latency = HistogramMetricFamily(
            "junction_request_duration_seconds",
            "Time from request to the end of the answer (for streams: the last event).",
            labels=SCOPE,
        )
        ttft = HistogramMetricFamily(
            "junction_time_to_first_token_seconds",
            "Time from request to the first streamed content.",
            labels=SCOPE,
        )
        tokens = CounterMetricFamily(
            "junction_tokens", "Tokens accounted, by direction.", labels=[*SCOPE, "direction"]
        )
        attempts = CounterMetricFamily(
            "junction_upstream_attempts",
            "Upstream attempts made (retries and fallbacks included).",
            labels=SCOPE,
        )
        for scope, s in sorted(self._series.items()):
            labels = list(scope)
            for (endpoint, code), n in sorted(s.requests.items()):
                requests.add_metric([*labels, endpoint, code], n)
            for code, n in sorted(s.errors.items()):
                errors.add_metric([*labels, code], n)
            latency.add_metric(labels, s.latency.cumulative(), s.latency.sum)
            if any(s.ttft.counts):
                ttft.add_metric(labels, s.ttft.cumulative(), s.ttft.sum)
            tokens.add_metric([*labels, "prompt"], s.prompt)
            tokens.add_metric([*labels, "completion"], s.completion)
            attempts.add_metric(labels, s.attempts)
        yield from (requests, errors, latency, ttft, tokens, attempts)
        yield from self._live()

    def _upstream_health(self, board: HealthBoard) -> Iterable[Metric]:
        labels = ["provider", "deployment"]
        cooldown = GaugeMetricFamily(
            "junction_upstream_cooldown",
            "1 while a deployment is in cooldown (skipped after failures), else 0.",
            labels=labels,
        )
        remaining = GaugeMetricFamily(
            "junction_upstream_cooldown_remaining_seconds",
            "Seconds until a deployment in cooldown is probed again.",
            labels=labels,
        )
        failures = GaugeMetricFamily(
            "junction_upstream_consecutive_failures",
            "Failures in a row of each deployment (a success resets it).",
            labels=labels,
        )
        now = time.monotonic()
        for state in sorted(board.deployments(), key=lambda d: d.ref):
            names = [state.ref.partition("/")[0], state.ref]
            cooling = state.status(now) == "cooldown"
            cooldown.add_metric(names, 1 if cooling else 0)
            remaining.add_metric(names, max(0.0, state.cooldown_until - now) if cooling else 0.0)
            failures.add_metric(names, state.consecutive_failures)
        yield from (cooldown, remaining, failures)

    def _live(self) -> Iterable[Metric]:
        """Values read at scrape time."""
        flight = GaugeMetricFamily(
            "junction_upstream_in_flight",
            "Requests in flight to each deployment (<provider>/<model>).",
            labels=["provider", "deployment"],
        )
        for ref, count in sorted(self._in_flight.items()):
            flight.add_metric([ref.partition("/")[0], ref], count)
        yield flight
        if self._health is not None:
            yield from self._upstream_health(self._health)
        queue = self._queue
        if queue is None:
            return
        yield GaugeMetricFamily(
            "junction_request_log_queue_depth",
            "Request log entries waiting to be stored.",
            value=queue.depth(),
        )
        yield CounterMetricFamily(
            "junction_request_log_dropped",
            "Request log entries shed because the queue was full.",
            value=queue.dropped(),
        )
        yield CounterMetricFamily(
            "junction_request_log_written", "Request log entries stored.", value=queue.written()
        )
        yield CounterMetricFamily(
            "junction_request_log_write_errors",
            "Failed attempts to store a batch of request log entries.",
            value=queue.write_errors(),
        )
