"""``/admin/v1/workspaces/{ws}/logs`` and ``/usage``: the request log and what it adds up to.

``/admin/v1/logs`` lists entries across workspaces, including requests that never reached one
(unknown or missing API keys), so that authentication failures can be seen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from junction.accounting.queries import LogFilter, log_page
from junction.accounting.usage import usage
from junction.admin.deps import Admin, Session, workspace_by_name
from junction.schemas.common import ListOf
from junction.schemas.logs import LogEntryPublic, UsageReport

router = APIRouter(tags=["logs"])

Status = Annotated[str | None, Query(pattern=r"^(\d{3}|[1-5]xx|error)$")]
Limit = Annotated[int, Query(ge=1, le=1000)]
GroupBy = Literal["assistant", "key", "model", "endpoint", "day", "hour"]


async def _page(
    s: Session, where: LogFilter, limit: int, cursor: str | None
) -> ListOf[LogEntryPublic]:
    rows, next_cursor = await log_page(s, where, limit, cursor)
    return ListOf[LogEntryPublic](
        data=[LogEntryPublic.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get("/workspaces/{ws}/logs")
async def workspace_logs(
    ws: str,
    rt: Admin,
    s: Session,
    assistant: str | None = None,
    key: str | None = None,
    model: str | None = None,
    status: Status = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> ListOf[LogEntryPublic]:
    """Newest first; ``next_cursor`` fetches the next (older) page."""
    workspace = await workspace_by_name(s, ws)
    where = LogFilter(workspace.id, assistant, key, model, status, since, until)
    return await _page(s, where, limit, cursor)


@router.get("/logs")
async def all_logs(
    rt: Admin,
    s: Session,
    workspace: str | None = None,
    status: Status = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> ListOf[LogEntryPublic]:
    """Every workspace's entries and those with none (failed authentication), newest first."""
    workspace_id = (await workspace_by_name(s, workspace)).id if workspace else None
    where = LogFilter(workspace_id, status=status, since=since, until=until)
    return await _page(s, where, limit, cursor)


@router.get("/workspaces/{ws}/usage")
async def workspace_usage(
    ws: str,
    rt: Admin,
    s: Session,
    group_by: GroupBy = "assistant",
    since: datetime | None = None,
    until: datetime | None = None,
) -> UsageReport:
    """Requests, errors, tokens, cost and latency percentiles from the request log's hourly
    rollups, grouped; ``since`` inclusive, ``until`` exclusive."""
    workspace = await workspace_by_name(s, ws)
    rows, total = await usage(s, workspace.id, group_by, since, until)
    return UsageReport(group_by=group_by, since=since, until=until, data=rows, total=total)
