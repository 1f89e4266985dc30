"""Pages of admin lists: ``limit`` (capped) and an opaque keyset ``cursor``; the answer's
``next_cursor`` fetches the next page, and is null on the last one. No list is unbounded."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from sqlalchemy import ColumnElement, DateTime, literal, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from junction.errors import InvalidRequest

MAX_LIMIT = 1000
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Search = Annotated[str | None, Query(max_length=128)]
"""Part of the name, case-insensitive."""


def encode(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode(cursor: str, columns: Sequence[Any]) -> list[Any]:
    invalid = InvalidRequest("cursor: not a cursor this list gave out", param="cursor")
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid from None
    if not isinstance(values, list) or len(values) != len(columns):
        raise invalid
    try:
        return [
            datetime.fromisoformat(v)
            if isinstance(getattr(c.type, "impl", c.type), DateTime)
            else v
            for v, c in zip(values, columns, strict=True)
        ]
    except (TypeError, ValueError):
        raise invalid from None


async def page(
    s: AsyncSession,
    query: Any,
    order: Sequence[Any],
    limit: int,
    cursor: str | None,
    key: Callable[[Any], Sequence[Any]],
    scalars: bool = True,
) -> tuple[list[Any], str | None]:
    """The rows of ``query`` after ``cursor`` in ``order`` (ascending, unique together), at most
    ``limit``; ``key`` gives a row's values of the ``order`` columns, for the next cursor."""
    if cursor:
        after = [literal(v, c.type) for v, c in zip(decode(cursor, order), order, strict=True)]
        query = query.where(tuple_(*order) > tuple_(*after))
    result = await s.execute(query.order_by(*order).limit(limit + 1))
    rows = list(result.scalars().all() if scalars else result.all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode(key(rows[-1])) if more else None


def name_like(column: Any, search: str) -> ColumnElement[bool]:
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    condition: ColumnElement[bool] = column.ilike(f"%{escaped}%", escape="\\")
    return condition
