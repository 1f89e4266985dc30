"""``monthly_token_budget``: tokens spent per workspace in the current UTC month.

The request path reads and adds to an in-memory counter (``BudgetLedger``); the counters are
seeded from the request log at start, so a restart forgets nothing that was logged. A request
is refused with 429 ``insufficient_quota`` once the month's spend has reached the budget; a
new month (a fresh counter) or a raised budget (read live from the catalog) lets it through.

Where the numbers live is a ``SpendCounter``: ``LocalSpend`` keeps them in this process (one
router); ``shared_spend.RedisSpend`` shares them between replicas when Redis is configured.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Protocol

from junction.core.call import Call
from junction.errors import QuotaExceeded
from junction.store.rollup import NONE
from junction.store.serving_db import Database, Sql

_SPENT = Sql(
    "SELECT workspace_id, SUM(prompt_tokens + completion_tokens) FROM usage_rollups "
    "WHERE hour >= $1 AND workspace_id != $2 GROUP BY workspace_id"
)


def month_of(unix_time: float) -> str:
    """``YYYY-MM`` (UTC); asked on every request, so the answer is kept per hour."""
    return _month_of_hour(int(unix_time // 3600))


@lru_cache(maxsize=4)
def _month_of_hour(hour: int) -> str:
    return datetime.fromtimestamp(hour * 3600, UTC).strftime("%Y-%m")


def month_start(month: str) -> datetime:
    year, mon = month.split("-")
    return datetime(int(year), int(mon), 1, tzinfo=UTC)


class SpendCounter(Protocol):
    def spent(self, workspace_id: str, month: str) -> int: ...

    def add(self, workspace_id: str, month: str, tokens: int) -> None: ...

    def seed(self, workspace_id: str, month: str, tokens: int) -> None:
        """This month's spend as the request log has it, at start."""


class LocalSpend:
    """Per-process counters; only the current month is kept."""

    def __init__(self) -> None:
        self._month = ""
        self._spent: dict[str, int] = {}

    def _roll(self, month: str) -> None:
        if month > self._month:  # "YYYY-MM" sorts in time order
            self._month, self._spent = month, {}

    def spent(self, workspace_id: str, month: str) -> int:
        self._roll(month)
        return self._spent.get(workspace_id, 0) if month == self._month else 0

    def add(self, workspace_id: str, month: str, tokens: int) -> None:
        self._roll(month)
        if month == self._month and tokens:
            self._spent[workspace_id] = self._spent.get(workspace_id, 0) + tokens

    def seed(self, workspace_id: str, month: str, tokens: int) -> None:
        self.add(workspace_id, month, tokens)


class BudgetLedger:
    def __init__(self, counter: SpendCounter, clock: Callable[[], float] = time.time) -> None:
        self.counter = counter
        self._clock = clock

    async def seed(self, db: Database) -> None:
        """Load this month's spend per workspace from the request log's hourly rollups (a
        month starts on a whole hour: they hold exactly the log's sums, at any log size)."""
        month = month_of(self._clock())
        for workspace_id, spent in await db.fetch(_SPENT, db.timestamp(month_start(month)), NONE):
            if workspace_id is not None:
                self.counter.seed(workspace_id, month, int(spent or 0))

    def check(self, call: Call) -> None:
        """Refuse the call when its workspace has spent its monthly budget."""
        workspace = call.workspace
        if workspace is None or workspace.monthly_token_budget is None:
            return
        spent = self.counter.spent(workspace.id, month_of(self._clock()))
        if spent >= workspace.monthly_token_budget:
            raise QuotaExceeded(
                f"Workspace '{workspace.name}' has used its monthly token budget "
                f"({spent} of {workspace.monthly_token_budget} tokens). It renews at the start "
                "of next month (UTC), or when an administrator raises the budget."
            )

    def record(self, call: Call) -> None:
        """Call observer: count the call's tokens against its workspace."""
        if call.workspace is None:
            return
        tokens = (call.prompt_tokens or 0) + (call.completion_tokens or 0)
        if tokens:
            self.counter.add(call.workspace.id, month_of(call.created_at), tokens)
