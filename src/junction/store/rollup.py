"""Usage rollups: the request log added up per workspace, hour, assistant, key, model and
front door (the log's ``endpoint``).

The log writer keeps them in the same transaction as the rows it stores (``Reader.add``), so a
rollup always equals the rows it summarises, and a row the store skips as already stored (a
retried batch) is not counted again: only the rows the transaction really inserts are added.
Usage, the dashboard and the workspace list read the rollups, so they cost the same at a
thousand and at a hundred million logged requests.

Latency and time to first token are kept as histograms with fixed bucket bounds (like
Prometheus, a value belongs to the first bucket whose bound is >= it; the last bucket is open),
so percentiles over any set of hours come from the summed buckets (``percentile``).

Only the standard library is imported: the SQLite sink process runs this module too.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

# Bounds in milliseconds; one more bucket above the last.
LATENCY_BOUNDS_MS = (
    5, 10, 25, 50, 75, 100, 150, 250, 400, 600, 800, 1000, 1500, 2000,
    3000, 5000, 7500, 10000, 15000, 20000, 30000, 60000, 120000, 300000,
)  # fmt: skip
TTFT_BOUNDS_MS = LATENCY_BOUNDS_MS

DIMENSIONS = ("workspace_id", "hour", "assistant", "key_id", "model", "endpoint")
# A missing dimension is stored as "" (a NULL never matches in a unique index).
NONE = ""

SUMS = (
    "requests",
    "client_errors",  # 4xx
    "server_errors",  # 5xx
    "rate_limited",  # 429 (also counted in client_errors)
    "prompt_tokens",
    "completion_tokens",
    "cost",
    "router_counted_requests",  # rows whose tokens the router counted itself
    "router_counted_tokens",
    "latency_count",
    "latency_sum_ms",
    "ttft_count",
    "ttft_sum_ms",
)
LATENCY_BUCKETS = tuple(f"latency_b{i}" for i in range(len(LATENCY_BOUNDS_MS) + 1))
TTFT_BUCKETS = tuple(f"ttft_b{i}" for i in range(len(TTFT_BOUNDS_MS) + 1))
COUNTERS = SUMS + LATENCY_BUCKETS + TTFT_BUCKETS
FLOAT_COUNTERS = frozenset({"cost", "latency_sum_ms", "ttft_sum_ms"})
# Where each histogram's buckets start in a counter vector.
LATENCY_AT = len(SUMS)
TTFT_AT = LATENCY_AT + len(LATENCY_BUCKETS)

# The request-log columns the counters add up, and all those a rollup reads.
COUNTED_FIELDS = (
    "status",
    "latency_ms",
    "ttft_ms",
    "prompt_tokens",
    "completion_tokens",
    "cost",
    "counted_by_router",
)
LOG_FIELDS = ("request_id", "created_at", "workspace_id", *DIMENSIONS[2:], *COUNTED_FIELDS)

Key = tuple[Any, ...]  # the values of ``DIMENSIONS``, in that order
Totals = dict[Key, list[float]]


def hour_of(created_at: Any) -> Any:
    """The start of a row's UTC hour, in the form its ``created_at`` is stored in: SQLite keeps
    SQLAlchemy's text (``YYYY-MM-DD HH:MM:SS.ffffff``), PostgreSQL a timezone-aware datetime."""
    if isinstance(created_at, str):
        return created_at[:13] + ":00:00.000000"
    assert isinstance(created_at, datetime)
    return created_at.replace(minute=0, second=0, microsecond=0)


def day_of(hour: Any) -> str:
    return hour[:10] if isinstance(hour, str) else hour.date().isoformat()


class Reader:
    """Picks the rollup's fields out of rows laid out as ``columns``.

    ``dimensions`` is the table's key (``DIMENSIONS``, or a past revision's own list when a
    migration back-fills the table as it was then): workspace, hour, then log columns."""

    def __init__(self, columns: Sequence[str], dimensions: Sequence[str] = DIMENSIONS) -> None:
        assert tuple(dimensions[:2]) == ("workspace_id", "hour")
        self.created_at, self.workspace = columns.index("created_at"), columns.index("workspace_id")
        self.rest = tuple(columns.index(name) for name in dimensions[2:])
        self.at = tuple(columns.index(name) for name in COUNTED_FIELDS)

    def add(self, totals: Totals, rows: Iterable[Sequence[Any]]) -> Totals:
        """Adds each row to its hour's counters in ``totals`` (returned)."""
        i_created, i_ws, rest = self.created_at, self.workspace, self.rest
        i_status, i_lat, i_ttft, i_prompt, i_completion, i_cost, i_router = self.at
        for row in rows:
            key = (row[i_ws] or NONE, hour_of(row[i_created]), *[row[i] or NONE for i in rest])
            c = totals.get(key)
            if c is None:
                c = totals[key] = [0] * len(COUNTERS)
            status = row[i_status] or 0
            prompt, completion = row[i_prompt] or 0, row[i_completion] or 0
            c[0] += 1
            if 400 <= status < 500:
                c[1] += 1
                if status == 429:
                    c[3] += 1
            elif status >= 500:
                c[2] += 1
            c[4] += prompt
            c[5] += completion
            c[6] += row[i_cost] or 0.0
            if row[i_router]:
                c[7] += 1
                c[8] += prompt + completion
            latency, ttft = row[i_lat], row[i_ttft]
            if latency is not None:
                c[9] += 1
                c[10] += latency
                c[LATENCY_AT + bisect_left(LATENCY_BOUNDS_MS, latency)] += 1
            if ttft is not None:
                c[11] += 1
                c[12] += ttft
                c[TTFT_AT + bisect_left(TTFT_BOUNDS_MS, ttft)] += 1
        return totals


def upsert_statement(
    paramstyle: str, table: str = "usage_rollups", dimensions: Sequence[str] = DIMENSIONS
) -> str:
    """One row of ``upsert_values``: inserted, or added to the stored counters."""
    names = (*dimensions, "day", *COUNTERS)
    if paramstyle == "qmark":
        marks = ", ".join("?" for _ in names)
    elif paramstyle == "numeric_dollar":
        marks = ", ".join(f"${i}" for i in range(1, len(names) + 1))
    else:
        raise RuntimeError(f"usage rollups: unsupported parameter style {paramstyle}")
    added = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in COUNTERS)
    return (
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks}) "
        f"ON CONFLICT ({', '.join(dimensions)}) DO UPDATE SET {added}"
    )


def upsert_values(
    totals: Totals, hour: Callable[[Any], Any] | None = None
) -> list[tuple[Any, ...]]:
    """Rows for ``upsert_statement``, in a stable order (the same lock order in every
    transaction, so two writers never deadlock on each other's rollup rows)."""
    out = []
    for key in sorted(totals, key=_sort_key):
        ws, h, *rest = key
        out.append((ws, hour(h) if hour else h, *rest, day_of(h), *totals[key]))
    return out


def _sort_key(key: Key) -> tuple[str, ...]:
    return tuple(str(part) for part in key)


def select_existing(paramstyle: str, count: int) -> str:
    """Which of ``count`` request ids are already stored (their rows are not counted again)."""
    if paramstyle == "qmark":
        marks = ", ".join("?" for _ in range(count))
    else:
        marks = ", ".join(f"${i}" for i in range(1, count + 1))
    return f"SELECT request_id FROM request_logs WHERE request_id IN ({marks})"


def percentile(buckets: Sequence[float], bounds: Sequence[float], share: float) -> float | None:
    """The ``share`` quantile from bucket counts, interpolated inside its bucket; values in
    the open last bucket are reported as its lower bound."""
    total = sum(buckets)
    if total <= 0:
        return None
    rank = share * total
    running = 0.0
    for i, count in enumerate(buckets):
        if count and running + count >= rank:
            if i >= len(bounds):
                return float(bounds[-1])
            low = float(bounds[i - 1]) if i else 0.0
            return low + (float(bounds[i]) - low) * max(0.0, rank - running) / count
        running += count
    return float(bounds[-1])


def fresh_rows(rows: Sequence[Sequence[Any]], stored: set[str]) -> list[Sequence[Any]]:
    """The rows to insert and count: not stored yet, each request id once (ids come first)."""
    seen = set(stored)
    out = []
    for row in rows:
        request_id = row[0]
        if request_id not in seen:
            seen.add(request_id)
            out.append(row)
    return out


def id_chunks(rows: Sequence[Sequence[Any]], size: int = 500) -> Iterable[list[Any]]:
    for start in range(0, len(rows), size):
        yield [row[0] for row in rows[start : start + size]]
