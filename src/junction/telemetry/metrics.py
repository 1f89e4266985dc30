"""``GET /metrics``: Prometheus series about the data plane, fed by the call observer.

Each app has its own registry (nothing global at import). Labels are workspace, assistant and
provider names, all from the admin's configuration, never from what a client sends; each label
still keeps at most ``JUNCTION_METRICS_MAX_LABEL_VALUES`` distinct values and folds the rest
into ``other``, so a large deployment cannot blow up the series count. The children of each
label set are looked up once and cached, so a request costs a few increments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from junction.dataplane.call import Call

NONE = "none"
OTHER = "other"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
TTFT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
SCOPE = ("workspace", "assistant", "provider")


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


@dataclass
class _Series:
    """The children of one (workspace, assistant, provider)."""

    latency: Histogram
    ttft: Histogram
    prompt: Counter
    completion: Counter
    attempts: Counter


@dataclass
class LogQueueStats:
    depth: Callable[[], int]
    dropped: Callable[[], int]
    written: Callable[[], int]
    write_errors: Callable[[], int]


class _LiveCollector(Collector):
    """Values read at scrape time: nothing to update on the request path."""

    def __init__(self, in_flight: dict[str, int], queue: LogQueueStats | None) -> None:
        self._in_flight = in_flight
        self._queue = queue

    def collect(self) -> Iterable[Metric]:
        flight = GaugeMetricFamily(
            "junction_upstream_in_flight",
            "Requests in flight to each deployment (<provider>/<model>).",
            labels=["provider", "deployment"],
        )
        for ref, count in sorted(self._in_flight.items()):
            flight.add_metric([ref.partition("/")[0], ref], count)
        yield flight
        if self._queue is None:
            return
        yield GaugeMetricFamily(
            "junction_request_log_queue_depth",
            "Request log entries waiting to be stored.",
            value=self._queue.depth(),
        )
        yield CounterMetricFamily(
            "junction_request_log_dropped",
            "Request log entries shed because the queue was full.",
            value=self._queue.dropped(),
        )
        yield CounterMetricFamily(
            "junction_request_log_written",
            "Request log entries stored.",
            value=self._queue.written(),
        )
        yield CounterMetricFamily(
            "junction_request_log_write_errors",
            "Failed attempts to store a batch of request log entries.",
            value=self._queue.write_errors(),
        )


class Metrics:
    def __init__(
        self, in_flight: dict[str, int], queue: LogQueueStats | None, max_label_values: int
    ) -> None:
        self.registry = CollectorRegistry()
        self._guard = LabelGuard(max_label_values)
        r = self.registry
        self._requests = Counter(
            "junction_requests",
            "Data-plane requests by endpoint and HTTP status.",
            [*SCOPE, "endpoint", "code"],
            registry=r,
        )
        self._errors = Counter(
            "junction_errors",
            "Data-plane requests that ended in an error, by error code.",
            [*SCOPE, "error"],
            registry=r,
        )
        self._latency = Histogram(
            "junction_request_duration_seconds",
            "Time from request to the end of the answer (for streams: the last event).",
            SCOPE,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self._ttft = Histogram(
            "junction_time_to_first_token_seconds",
            "Time from request to the first streamed content.",
            SCOPE,
            buckets=TTFT_BUCKETS,
            registry=r,
        )
        self._tokens = Counter(
            "junction_tokens", "Tokens accounted, by direction.", [*SCOPE, "direction"], registry=r
        )
        self._attempts = Counter(
            "junction_upstream_attempts",
            "Upstream attempts made (retries and fallbacks included).",
            SCOPE,
            registry=r,
        )
        r.register(_LiveCollector(in_flight, queue))
        self._series: dict[tuple[str, str, str], _Series] = {}
        self._counted: dict[tuple[str, ...], Counter] = {}

    def _scope(self, call: Call) -> tuple[str, str, str]:
        guard = self._guard
        return (
            guard("workspace", call.workspace.name if call.workspace else None),
            guard("assistant", call.assistant.name if call.assistant else None),
            guard("provider", call.deployment.partition("/")[0] if call.deployment else None),
        )

    def _series_for(self, scope: tuple[str, str, str]) -> _Series:
        series = self._series.get(scope)
        if series is None:
            series = self._series[scope] = _Series(
                self._latency.labels(*scope),
                self._ttft.labels(*scope),
                self._tokens.labels(*scope, "prompt"),
                self._tokens.labels(*scope, "completion"),
                self._attempts.labels(*scope),
            )
        return series

    def _counter(self, family: Counter, labels: tuple[str, ...]) -> Counter:
        key = (family._name, *labels)
        child = self._counted.get(key)
        if child is None:
            child = self._counted[key] = family.labels(*labels)
        return child

    def observe(self, call: Call) -> None:
        """Call observer."""
        scope = self._scope(call)
        series = self._series_for(scope)
        self._counter(self._requests, (*scope, call.endpoint, str(call.status))).inc()
        if call.error_code is not None:
            self._counter(self._errors, (*scope, self._guard("error", call.error_code))).inc()
        latency = call.latency_ms
        if latency is not None:
            series.latency.observe(latency / 1000)
        ttft = call.ttft_ms
        if ttft is not None:
            series.ttft.observe(ttft / 1000)
        if call.prompt_tokens:
            series.prompt.inc(call.prompt_tokens)
        if call.completion_tokens:
            series.completion.inc(call.completion_tokens)
        if call.attempts:
            series.attempts.inc(call.attempts)

    def families(self) -> Iterator[Metric]:
        yield from self.registry.collect()
