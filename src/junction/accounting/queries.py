"""Reading the request log: filtered pages, newest first, with a keyset cursor.

Usage totals are read from the rollups the log writer keeps beside these rows (``usage``).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from junction.errors import InvalidRequest
from junction.store.models import RequestLog


@dataclass(frozen=True)
class LogFilter:
    workspace_id: str | None = None
    assistant: str | None = None
    key_id: str | None = None
    model: str | None = None
    status: str | None = None  # "429", "4xx", or "error" (any status >= 400)
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        c: list[ColumnElement[bool]] = []
        if self.workspace_id is not None:
            c.append(RequestLog.workspace_id == self.workspace_id)
        if self.assistant is not None:
            c.append(RequestLog.assistant == self.assistant)
        if self.key_id is not None:
            c.append(RequestLog.key_id == self.key_id)
        if self.model is not None:
            c.append(RequestLog.model == self.model)
        if self.since is not None:
            c.append(RequestLog.created_at >= as_utc(self.since))
        if self.until is not None:
            c.append(RequestLog.created_at < as_utc(self.until))
        if self.status is not None:
            c.append(_status_condition(self.status))
        return c


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _status_condition(status: str) -> ColumnElement[bool]:
    if status == "error":
        return RequestLog.status >= 400
    if len(status) == 3 and status[0] in "12345" and status[1:] == "xx":
        low = int(status[0]) * 100
        return and_(RequestLog.status >= low, RequestLog.status < low + 100)
    if status.isdigit() and len(status) == 3:
        return RequestLog.status == int(status)
    raise InvalidRequest(
        "status must be an HTTP status (429), a class (4xx) or 'error'.", param="status"
    )


def encode_cursor(row: RequestLog) -> str:
    raw = f"{as_utc(row.created_at).isoformat()}|{row.request_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, request_id = raw.partition("|")
        created = datetime.fromisoformat(when)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidRequest("The cursor is not valid.", param="cursor") from None
    if not request_id:
        raise InvalidRequest("The cursor is not valid.", param="cursor")
    return as_utc(created), request_id


async def log_page(
    s: AsyncSession, where: LogFilter, limit: int, cursor: str | None
) -> tuple[list[RequestLog], str | None]:
    query: Select[RequestLog] = select(RequestLog).where(*where.conditions())
    if cursor:
        created, request_id = decode_cursor(cursor)
        query = query.where(
            or_(
                RequestLog.created_at < created,
                and_(RequestLog.created_at == created, RequestLog.request_id < request_id),
            )
        )
    query = query.order_by(RequestLog.created_at.desc(), RequestLog.request_id.desc())
    rows = list((await s.scalars(query.limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]) if more and rows else None
