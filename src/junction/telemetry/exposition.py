"""``GET /metrics``'s body: what ``Metrics`` counted, in Prometheus' text format.

Built at scrape time with prometheus-client's metric families and its own writer (the format
stays the library's); this module, and so the library, is imported by the first scrape.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from junction.routing.health import HealthBoard
from junction.telemetry.metrics import LogQueueStats, Metrics

SCOPE = ["workspace", "assistant", "provider"]
MEDIA_TYPE = CONTENT_TYPE_LATEST


def exposition(metrics: Metrics) -> bytes:
    return generate_latest(_Families(metrics))


class _Families(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        metrics = self._metrics
        yield from _counted(metrics)
        yield from _in_flight(metrics.in_flight)
        if metrics.health is not None:
            yield from _upstream_health(metrics.health)
        if metrics.queue is not None:
            yield from _log_queue(metrics.queue)


def _counted(metrics: Metrics) -> Iterable[Metric]:
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
    for scope, s in sorted(metrics.series.items()):
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
    return (requests, errors, latency, ttft, tokens, attempts)


def _in_flight(in_flight: dict[str, int]) -> Iterable[Metric]:
    flight = GaugeMetricFamily(
        "junction_upstream_in_flight",
        "Requests in flight to each deployment (<provider>/<model>).",
        labels=["provider", "deployment"],
    )
    for ref, count in sorted(in_flight.items()):
        flight.add_metric([ref.partition("/")[0], ref], count)
    return (flight,)


def _upstream_health(board: HealthBoard) -> Iterable[Metric]:
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
    return (cooldown, remaining, failures)


def _log_queue(queue: LogQueueStats) -> Iterable[Metric]:
    return (
        GaugeMetricFamily(
            "junction_request_log_queue_depth",
            "Request log entries waiting to be stored.",
            value=queue.depth(),
        ),
        CounterMetricFamily(
            "junction_request_log_dropped",
            "Request log entries shed because the queue was full.",
            value=queue.dropped(),
        ),
        CounterMetricFamily(
            "junction_request_log_written", "Request log entries stored.", value=queue.written()
        ),
        CounterMetricFamily(
            "junction_request_log_write_errors",
            "Failed attempts to store a batch of request log entries.",
            value=queue.write_errors(),
        ),
    )
