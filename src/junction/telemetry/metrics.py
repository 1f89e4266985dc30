"""The numbers behind ``GET /metrics``: Prometheus series about the data plane, fed by the
call observer.

Counting happens in plain Python numbers kept per label set (the request path does a few dict
look-ups and additions, no locks); ``telemetry/exposition.py`` turns them into Prometheus'
text format at scrape time, so prometheus-client is imported by the first scrape, not at
start. Request path and scrape both run on the event loop, so no lock is needed.

Labels are workspace, assistant and provider names from the admin's configuration, never what
a client sends; each label still keeps at most ``JUNCTION_METRICS_MAX_LABEL_VALUES`` distinct
values and folds the rest into ``other``, so the series count stays bounded.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field

from junction.core.call import Call
from junction.routing.health import HealthBoard

NONE = "none"
OTHER = "other"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
TTFT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
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


class Metrics:
    def __init__(
        self,
        in_flight: dict[str, int],
        queue: LogQueueStats | None,
        max_label_values: int,
        health: HealthBoard | None = None,
    ) -> None:
        self.in_flight = in_flight
        self.health = health
        self.queue = queue
        self._guard = LabelGuard(max_label_values)
        self.series: dict[Scope, Series] = {}

    def observe(self, call: Call) -> None:
        """Call observer."""
        guard = self._guard
        scope = (
            guard("workspace", call.workspace.name if call.workspace else None),
            guard("assistant", call.assistant.name if call.assistant else None),
            guard("provider", call.deployment.partition("/")[0] if call.deployment else None),
        )
        series = self.series.get(scope)
        if series is None:
            series = self.series[scope] = Series()
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
