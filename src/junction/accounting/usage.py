"""Usage from the rollups: requests, errors, tokens, cost and latency percentiles, grouped.

Whole UTC hours are read from ``usage_rollups`` (a few rows an hour, however busy); a ``since``
or ``until`` inside an hour adds that partial hour from the raw log rows (one indexed range of
at most an hour per edge), so the answer equals what the log itself adds up to for any range.
Pass whole hours (the dashboard and the workspace list do) and no raw row is read at all.
Once raw rows are purged (their retention is shorter) only whole hours stay exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import TextClause, TextualSelect, and_, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from junction.accounting.queries import as_utc
from junction.accounting.raw_usage import raw_counters
from junction.errors import InvalidRequest
from junction.store import rollup
from junction.store.models import RequestLog, UTCDateTime
from junction.store.usage_rollups import usage_rollups as R

HOUR = timedelta(hours=1)
GROUP_FIELD = {
    "assistant": "assistant",
    "key": "key_id",
    "model": "model",
    "endpoint": "endpoint",  # the front door: chat.completions, responses.create, messages, ...
    "day": "day",
    "hour": "hour",
}
_LAT = slice(len(rollup.SUMS), len(rollup.SUMS) + len(rollup.LATENCY_BUCKETS))
_TTFT = slice(_LAT.stop, len(rollup.COUNTERS))
_I = {name: i for i, name in enumerate(rollup.COUNTERS)}

Counters = list[float]


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def ceil_hour(moment: datetime) -> datetime:
    floor = floor_hour(moment)
    return floor if floor == moment else floor + HOUR


async def usage(
    s: AsyncSession,
    workspace_id: str,
    group_by: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(rows by group, total); ``since`` inclusive, ``until`` exclusive."""
    if group_by not in GROUP_FIELD:
        raise InvalidRequest(
            f"group_by must be one of: {', '.join(GROUP_FIELD)}.", param="group_by"
        )
    since = as_utc(since) if since else None
    until = as_utc(until) if until else None
    sums: dict[Any, Counters] = {}
    if since is not None and until is not None and until <= since:
        pass
    elif since is not None and until is not None and ceil_hour(since) >= floor_hour(until):
        for start, end in _hour_pieces(since, until):  # within an hour or two: raw rows
            await _add_raw(s, sums, workspace_id, group_by, start, end)
    else:
        whole_from = ceil_hour(since) if since is not None else None
        whole_to = floor_hour(until) if until is not None else None
        await _add_rollups(s, sums, workspace_id, group_by, whole_from, whole_to)
        if since is not None and whole_from != since:
            assert whole_from is not None
            await _add_raw(s, sums, workspace_id, group_by, since, whole_from)
        if until is not None and whole_to != until:
            assert whole_to is not None
            await _add_raw(s, sums, workspace_id, group_by, whole_to, until)
    field = GROUP_FIELD[group_by]
    rows = [
        {field: _shown(value), **report(c)}
        for value, c in sorted(sums.items(), key=lambda kv: str(kv[0]))
    ]
    total: Counters = [0] * len(rollup.COUNTERS)
    for c in sums.values():
        _add(total, c)
    return rows, report(total)


def report(c: Sequence[float]) -> dict[str, Any]:
    """The public figures of a counter vector."""
    lat, ttft = c[_LAT], c[_TTFT]
    return {
        "requests": int(c[_I["requests"]]),
        "prompt_tokens": int(c[_I["prompt_tokens"]]),
        "completion_tokens": int(c[_I["completion_tokens"]]),
        "cost": float(c[_I["cost"]]),
        "errors": int(c[_I["client_errors"]] + c[_I["server_errors"]]),
        "client_errors": int(c[_I["client_errors"]]),
        "server_errors": int(c[_I["server_errors"]]),
        "rate_limited": int(c[_I["rate_limited"]]),
        "router_counted_tokens": int(c[_I["router_counted_tokens"]]),
        "latency_p50_ms": rollup.percentile(lat, rollup.LATENCY_BOUNDS_MS, 0.5),
        "latency_p95_ms": rollup.percentile(lat, rollup.LATENCY_BOUNDS_MS, 0.95),
        "ttft_p50_ms": rollup.percentile(ttft, rollup.TTFT_BOUNDS_MS, 0.5),
        "ttft_p95_ms": rollup.percentile(ttft, rollup.TTFT_BOUNDS_MS, 0.95),
    }


def _shown(value: Any) -> Any:
    if value == rollup.NONE:
        return None
    return value.isoformat() if isinstance(value, datetime) else value


def _add(into: Counters, c: Sequence[Any]) -> None:
    for i, v in enumerate(c):
        into[i] += float(v or 0)


def _merge(sums: dict[Any, Counters], value: Any, c: Sequence[Any]) -> None:
    into = sums.get(value)
    if into is None:
        into = sums[value] = [0] * len(rollup.COUNTERS)
    _add(into, c)


def _hour_pieces(since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    pieces = []
    start = since
    while start < until:
        end = min(until, floor_hour(start) + HOUR)
        pieces.append((start, end))
        start = end
    return pieces


async def _add_rollups(
    s: AsyncSession,
    sums: dict[Any, Counters],
    workspace_id: str,
    group_by: str,
    since: datetime | None,
    until: datetime | None,
) -> None:
    params: dict[str, Any] = {"ws": workspace_id}
    if since is not None:
        params["since"] = since
    if until is not None:
        params["until"] = until
    query = _rollup_query(group_by, since is not None, until is not None)
    for value, *c in (await s.execute(query, params)).all():
        _merge(sums, as_utc(value) if isinstance(value, datetime) else value, c)


@cache
def _rollup_query(group_by: str, since: bool, until: bool) -> TextClause | TextualSelect:
    """The rollups' counters summed per group, as SQL text made once: built as an expression
    of 63 sums on every call, the statement cost more CPU than the database took to run it."""
    field = GROUP_FIELD[group_by]
    where = ["workspace_id = :ws"]
    types = []
    if since:
        where.append("hour >= :since")
        types.append(bindparam("since", type_=UTCDateTime))
    if until:
        where.append("hour < :until")
        types.append(bindparam("until", type_=UTCDateTime))
    sums = ", ".join(f"SUM({name})" for name in rollup.COUNTERS)
    query = text(
        f"SELECT {field}, {sums} FROM {R.name} WHERE {' AND '.join(where)} GROUP BY {field}"
    )
    query = query.bindparams(*types)
    return query.columns(hour=UTCDateTime) if field == "hour" else query


async def _add_raw(
    s: AsyncSession,
    sums: dict[Any, Counters],
    workspace_id: str,
    group_by: str,
    since: datetime,
    until: datetime,
) -> None:
    """The same counters from the log rows of ``[since, until)``, inside one or two hours."""
    where = and_(
        RequestLog.workspace_id == workspace_id,
        RequestLog.created_at >= since,
        RequestLog.created_at < until,
    )
    if group_by == "hour":  # the piece lies inside one hour
        for c in (await raw_counters(s, where, None)).values():
            _merge(sums, floor_hour(since), c)
        return
    column = {
        "assistant": RequestLog.assistant,
        "key": RequestLog.key_id,
        "model": RequestLog.model,
        "endpoint": RequestLog.endpoint,
        "day": RequestLog.day,
    }[group_by]
    for value, c in (await raw_counters(s, where, column)).items():
        _merge(sums, value if value is not None else rollup.NONE, c)
