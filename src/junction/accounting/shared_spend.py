"""Monthly spend shared by every replica through Redis (``JUNCTION_REDIS_URL``).

The request path never waits for Redis: ``spent`` answers from a local copy and ``add`` only
notes the tokens. A background task sends the noted tokens (``INCRBY``, one pipeline) and reads
back every workspace's total every ``interval`` seconds, so each replica sees the others'
spend within about that long. The first replica of a month seeds a workspace's counter from the
request log (``SET NX``); later ones find it there. If Redis is away, noted tokens stay queued
and the local copy keeps counting, so budgets still hold for this replica's own traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

KEY_TTL_SECONDS = 40 * 86400  # past the end of any month


class RedisSpend:
    def __init__(self, redis: Redis, prefix: str, interval: float = 0.5) -> None:
        self._redis = redis
        self._prefix = prefix
        self._interval = interval
        self._known: dict[tuple[str, str], int] = {}  # last total read from Redis
        self._pending: dict[tuple[str, str], int] = {}  # noted here, not yet sent
        self._sending: dict[tuple[str, str], int] = {}  # in the pipeline being sent
        self._seeds: dict[tuple[str, str], int] = {}
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    def _key(self, workspace_id: str, month: str) -> str:
        return f"{self._prefix}:spend:{workspace_id}:{month}"

    def spent(self, workspace_id: str, month: str) -> int:
        at = (workspace_id, month)
        return self._known.get(at, 0) + self._sending.get(at, 0) + self._pending.get(at, 0)

    def add(self, workspace_id: str, month: str, tokens: int) -> None:
        if tokens:
            at = (workspace_id, month)
            self._pending[at] = self._pending.get(at, 0) + tokens

    def seed(self, workspace_id: str, month: str, tokens: int) -> None:
        self._seeds[(workspace_id, month)] = tokens
        self._known.setdefault((workspace_id, month), tokens)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="budget-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            await self.sync()  # send what is still noted

    async def _run(self) -> None:
        while True:
            try:
                await self.sync()
                if self._failing:
                    log.info("budget counters: Redis is back")
                self._failing = False
            except (RedisError, OSError, TimeoutError) as exc:
                if not self._failing:
                    log.warning("budget counters: Redis unreachable (%s); counting locally", exc)
                self._failing = True
            await asyncio.sleep(self._interval)

    async def sync(self) -> None:
        """Send noted tokens, then read every known workspace's total."""
        if self._seeds:
            seeds, self._seeds = self._seeds, {}
            async with self._redis.pipeline(transaction=False) as pipe:
                for (ws, month), tokens in seeds.items():
                    pipe.set(self._key(ws, month), tokens, nx=True, ex=KEY_TTL_SECONDS)
                await pipe.execute()
        self._sending, self._pending = self._pending, {}
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for (ws, month), tokens in self._sending.items():
                    pipe.incrby(self._key(ws, month), tokens)
                    pipe.expire(self._key(ws, month), KEY_TTL_SECONDS)
                await pipe.execute()
        except BaseException:
            for at, tokens in self._sending.items():  # keep them for the next try
                self._pending[at] = self._pending.get(at, 0) + tokens
            self._sending = {}
            raise
        places = list({*self._known, *self._sending})
        try:
            if places:
                values = await self._redis.mget([self._key(ws, month) for ws, month in places])
                for at, value in zip(places, values, strict=True):
                    self._known[at] = int(value) if value is not None else 0
        finally:
            self._sending = {}  # now in the totals read back (or, on failure, in Redis)
