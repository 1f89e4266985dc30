"""Logs and Dashboard, read from the request-log and usage admin API (the dashboard's series
and percentiles come from the usage API's hourly rollups, so it costs the same at any size).

Both pages say plainly "no log data available" when this router has no such API (404), so the
UI works before and after the request log is installed.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.responses import Response

from junction.ui import charts
from junction.ui.api import path
from junction.ui.web import Page, Ui, page

LOG_FILTERS = ("assistant", "key", "status", "since", "until", "limit", "cursor")
RANGES = {"24h": (timedelta(hours=24), "hour"), "7d": (timedelta(days=7), "day")}
RANGES["30d"] = (timedelta(days=30), "day")
# The dashboard's "top" tables: usage groups, the front door being the log's ``endpoint``.
TOP_GROUPS = ("assistant", "key", "endpoint")


def _iso(value: str) -> str:
    """A ``datetime-local`` value (read as UTC) as ISO 8601 for the API; other text as given."""
    if value and "T" in value and len(value) == 16:
        return value + ":00+00:00"
    return value


def _moment(value: object) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def buckets(since: datetime, until: datetime, unit: str) -> list[datetime]:
    step = timedelta(hours=1) if unit == "hour" else timedelta(days=1)
    if unit == "hour":
        start = since.replace(minute=0, second=0, microsecond=0)
    else:
        start = since.replace(hour=0, minute=0, second=0, microsecond=0)
    out = []
    while start <= until:
        out.append(start)
        start += step
    return out


def _slot(row: dict[str, Any], unit: str) -> datetime | None:
    if unit == "hour":
        return _moment(row.get("hour"))
    moment = _moment(f"{row.get('day')}T00:00:00+00:00")
    return moment


def _number(row: dict[str, Any], name: str) -> float:
    return float(row.get(name) or 0)


def over_time(
    series: list[dict[str, Any]],
    total: dict[str, Any],
    since: datetime,
    until: datetime,
    unit: str,
) -> dict[str, Any]:
    """Requests, tokens, errors and latency p50/p95 per bucket, from the usage API's rows
    grouped by ``unit`` (``hour`` or ``day``) and its total."""
    slots = buckets(since, until, unit)
    label_fmt = "%H:00" if unit == "hour" else "%m-%d"
    index = {b: i for i, b in enumerate(slots)}
    n = len(slots)
    requests, errors = [0.0] * n, [0.0] * n
    prompt, completion = [0.0] * n, [0.0] * n
    p50: list[float | None] = [None] * n
    p95: list[float | None] = [None] * n
    for row in series:
        moment = _slot(row, unit)
        i = index.get(moment) if moment is not None else None
        if i is None:
            continue
        requests[i] += _number(row, "requests")
        errors[i] += _number(row, "errors")
        prompt[i] += _number(row, "prompt_tokens")
        completion[i] += _number(row, "completion_tokens")
        p50[i], p95[i] = row.get("latency_p50_ms"), row.get("latency_p95_ms")
    labels = [b.strftime(label_fmt) for b in slots]
    return {
        "requests": charts.stacked_bars(
            labels, {"requests": requests, "errors": errors}, "Requests and errors"
        ),
        "tokens": charts.stacked_bars(
            labels, {"prompt": prompt, "completion": completion}, "Tokens"
        ),
        "latency": charts.lines(labels, {"p50": p50, "p95": p95}, "Latency (ms)"),
        "total_requests": int(_number(total, "requests")),
        "total_errors": int(_number(total, "errors")),
        "total_tokens": int(_number(total, "prompt_tokens") + _number(total, "completion_tokens")),
        "p95": total.get("latency_p95_ms"),
    }


def insight_routes(ui: Ui) -> dict[str, object]:
    @page(ui)
    async def logs(p: Page) -> Response:
        ws = p.param("ws")
        q = p.request.query_params
        filters = {name: q.get(name, "") for name in LOG_FILTERS}
        params = {k: _iso(v) if k in ("since", "until") else v for k, v in filters.items()}
        params["limit"] = params["limit"] or "50"
        result, keys_result, assistants_result = await asyncio.gather(  # independent reads
            p.api.get(path("workspaces", ws, "logs"), **params),
            p.api.get(path("workspaces", ws, "keys")),
            p.api.get(path("workspaces", ws, "assistants")),
        )
        keys, assistants = keys_result.items(), assistants_result.items()
        rejected = result.status == 422  # a filter the log API does not accept
        available = result.ok or rejected
        return p.render(
            "logs.html",
            ws=ws,
            entries=result.items(),
            next_cursor=result.data.get("next_cursor") if result.ok else None,
            available=available,
            problem=None if available or result.status == 404 else result.message,
            filter_error=result.message if rejected else None,
            filters=filters,
            keys=keys,
            key_names={k["id"]: k["name"] for k in keys},
            assistants=[a["name"] for a in assistants],
        )

    @page(ui)
    async def dashboard(p: Page) -> Response:
        ws = p.param("ws")
        chosen = p.request.query_params.get("range", "24h")
        span, unit = RANGES.get(chosen, RANGES["24h"])
        until = datetime.now(UTC)
        # From a whole hour: the usage API answers from its hourly rollups alone.
        since = (until - span).replace(minute=0, second=0, microsecond=0)
        # The series, the top tables and the key names are independent reads: made at once,
        # the page waits for the slowest of them rather than for their sum.
        usage_path = path("workspaces", ws, "usage")
        result, keys_result, *tops = await asyncio.gather(
            p.api.get(usage_path, group_by=unit, since=since.isoformat()),
            p.api.get(path("workspaces", ws, "keys")),
            *(p.api.get(usage_path, group_by=g, since=since.isoformat()) for g in TOP_GROUPS),
        )
        available = result.ok or not (result.route_missing or result.status == 404)
        series = result.items()
        total = result.data.get("total") if result.ok else None
        names = {k["id"]: k["name"] for k in keys_result.items()}
        top: dict[str, list[dict[str, Any]]] = {}
        for group, usage in zip(TOP_GROUPS, tops, strict=True):
            rows = sorted(usage.items(), key=lambda r: -int(r.get("requests") or 0))[:10]
            for row in rows:
                value = row.get(group, row.get(f"{group}_id"))
                row["label"] = names.get(str(value), value) if group == "key" else value
            top[group] = rows
        return p.render(
            "dashboard.html",
            ws=ws,
            available=available and bool(series or top["assistant"]),
            api_present=available,
            stats=over_time(series, total or {}, since, until, unit),
            top=top,
            ranges=list(RANGES),
            chosen=chosen if chosen in RANGES else "24h",
            legend_requests=charts.legend(["requests", "errors"]),
            legend_tokens=charts.legend(["prompt", "completion"]),
            legend_latency=charts.legend(["p50", "p95"]),
        )

    return {"logs": logs, "dashboard": dashboard}
