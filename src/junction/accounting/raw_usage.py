"""Usage counters added up from raw log rows: the partial hours at the edges of a usage range
(``usage``), where the hourly rollups are too coarse.

The database groups the rows by the chosen column and by the latency and time-to-first-token
bucket each falls in (one ``CASE`` per row and histogram), with a dozen sums per group; the
counter vector (``rollup.COUNTERS``) is then filled from those few groups. Summing every bucket
as its own conditional expression instead costs the database fifty of them a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from junction.store import rollup
from junction.store.models import RequestLog

_LATENCY_COUNT = rollup.SUMS.index("latency_count")
_TTFT_COUNT = rollup.SUMS.index("ttft_count")


def bucket(col: Any, bounds: Sequence[float]) -> ColumnElement[Any]:
    """The histogram bucket of a value (as ``bisect_left`` on the bounds), NULL for none.
    The bounds are literals so that the same expression can be grouped by on PostgreSQL."""
    whens: list[tuple[ColumnElement[bool], Any]] = [
        (col <= literal_column(repr(float(b))), literal_column(str(i)))
        for i, b in enumerate(bounds)
    ]
    return case((col.is_(None), None), *whens, else_=literal_column(str(len(bounds))))


def sums() -> list[ColumnElement[Any]]:
    """``rollup.SUMS`` computed by SQL over log rows, in that order."""
    status, latency, ttft = RequestLog.status, RequestLog.latency_ms, RequestLog.ttft_ms
    prompt, completion = RequestLog.prompt_tokens, RequestLog.completion_tokens
    router = RequestLog.counted_by_router

    def total(expr: Any) -> ColumnElement[Any]:
        return func.coalesce(func.sum(expr), 0)

    def when(cond: ColumnElement[bool], then: Any = 1) -> ColumnElement[Any]:
        return total(case((cond, then), else_=0))

    return [
        func.count(),
        when(and_(status >= 400, status < 500)),
        when(status >= 500),
        when(status == 429),
        total(prompt),
        total(completion),
        total(RequestLog.cost),
        when(router.is_(True)),
        when(router.is_(True), prompt + completion),
        func.count(latency),
        total(latency),
        func.count(ttft),
        total(ttft),
    ]


async def raw_counters(
    s: AsyncSession, where: ColumnElement[bool], column: Any | None
) -> dict[Any, list[float]]:
    """Counter vectors of the rows matching ``where``, per value of ``column`` (or one, under
    None, when ``column`` is None)."""
    lat = bucket(RequestLog.latency_ms, rollup.LATENCY_BOUNDS_MS)
    ttft = bucket(RequestLog.ttft_ms, rollup.TTFT_BOUNDS_MS)
    keys = [lat, ttft] if column is None else [column, lat, ttft]
    query = select(*keys, *sums()).where(where).group_by(*keys)
    out: dict[Any, list[float]] = {}
    for row in (await s.execute(query)).all():
        value = None if column is None else row[0]
        lat_bucket, ttft_bucket, *figures = row[len(keys) - 2 :]
        c = out.get(value)
        if c is None:
            c = out[value] = [0.0] * len(rollup.COUNTERS)
        for i, v in enumerate(figures):
            c[i] += float(v or 0)
        if lat_bucket is not None:
            c[rollup.LATENCY_AT + int(lat_bucket)] += float(figures[_LATENCY_COUNT])
        if ttft_bucket is not None:
            c[rollup.TTFT_AT + int(ttft_bucket)] += float(figures[_TTFT_COUNT])
    return out
