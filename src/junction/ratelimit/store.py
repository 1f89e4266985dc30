"""Where the counters live: in this process, or in Redis so that every replica shares them.

The counting is the ``limits`` library's sliding-window counter, used at its storage level
(one read and one atomic acquire per counter, keys computed once per limit) because its
strategy layer costs about twice as much per request.

With Redis configured and unreachable, requests are still served: the counters fall back to
in-process ones (each replica then enforces the limits on its own), the failure is logged
once and counted, and Redis is tried again every ``redis_retry_seconds``; the shared limits
return as soon as it answers.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, Protocol, TypeVar

if TYPE_CHECKING:
    from limits.aio.storage import RedisStorage

log = logging.getLogger(__name__)

T = TypeVar("T")

# What a broken or unreachable Redis raises, besides the limits library's StorageError (it
# wraps the client's own errors).
_DOWN: tuple[type[Exception], ...] = (OSError, TimeoutError, ConnectionError)


WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Window:
    """One counter: its storage key and its limit per minute."""

    key: str
    limit: int


class Usage(NamedTuple):  # a tuple: made several times a request, cheaper than a dataclass
    remaining: int
    reset_in: float  # seconds until nothing counted so far counts any more
    next_in: float  # seconds until at least one more unit fits


def usage(
    window: Window, previous: int, previous_ttl: float, current: int, current_ttl: float
) -> Usage:
    """A sliding-window counter's state: the previous minute's count weighs in for the share of
    it that still overlaps the last 60 s; the current minute's counts whole."""
    weighted = previous * previous_ttl / WINDOW_SECONDS + current
    remaining = max(0, window.limit - math.floor(weighted))
    if current:
        reset_in = current_ttl
    elif previous:
        reset_in = previous_ttl
    else:
        reset_in = 0.0
    # The previous minute's weight loses one unit every 60 / previous seconds; the current
    # minute's count starts to lose weight once it becomes the previous one.
    next_in = max(0.0, current_ttl - WINDOW_SECONDS) if current else 0.0
    if previous:
        weight_wait = previous_ttl % (WINDOW_SECONDS / previous)
        next_in = min(next_in, weight_wait) if current else weight_wait
    return Usage(remaining, reset_in, next_in)


class Windows(Protocol):
    """The two operations the limiter needs, over several counters at once."""

    async def read(self, windows: Sequence[Window]) -> list[Usage]: ...

    async def take(self, windows: Sequence[Window], costs: Sequence[int]) -> list[bool]: ...


class LocalWindows:
    """In-process counters: the sliding-window arithmetic of the ``limits`` library's storages
    (a minute's count, plus the previous minute's weighted by the share of it still inside
    the last 60 s), kept in one dict. No lock, task or await per counter: the event loop runs
    each operation whole, and the request path pays a few dict reads instead of the library's
    coroutines."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        # key -> (minute number, count in that minute, count in the minute before it)
        self._counts: dict[str, tuple[int, int, int]] = {}
        self._swept = 0  # the minute of the last sweep of counters no window needs any more

    def _counted(self, key: str, minute: int) -> tuple[int, int]:
        """(previous minute's count, this minute's count)."""
        entry = self._counts.get(key)
        if entry is None:
            return 0, 0
        at, count, before = entry
        if at == minute:
            return before, count
        return (count, 0) if at == minute - 1 else (0, 0)

    async def read(self, windows: Sequence[Window]) -> list[Usage]:
        return self.read_now(windows)

    async def take(self, windows: Sequence[Window], costs: Sequence[int]) -> list[bool]:
        return self.take_now(windows, costs)

    def read_now(self, windows: Sequence[Window]) -> list[Usage]:
        now = self._clock()
        minute, into = divmod(now, WINDOW_SECONDS)
        out = []
        for w in windows:
            previous, current = self._counted(w.key, int(minute))
            previous_ttl = WINDOW_SECONDS - into if previous else 0.0
            out.append(usage(w, previous, previous_ttl, current, 2 * WINDOW_SECONDS - into))
        return out

    def take_now(self, windows: Sequence[Window], costs: Sequence[int]) -> list[bool]:
        now = self._clock()
        minute_f, into = divmod(now, WINDOW_SECONDS)
        minute = int(minute_f)
        if minute != self._swept:
            self._sweep(minute)
        out = []
        for w, cost in zip(windows, costs, strict=True):
            previous, current = self._counted(w.key, minute)
            weighted = previous * (WINDOW_SECONDS - into) / WINDOW_SECONDS + current
            if cost > w.limit or math.floor(weighted) + cost > w.limit:
                out.append(False)
                continue
            self._counts[w.key] = (minute, current + cost, previous)
            out.append(True)
        return out

    def charge_now(
        self, windows: Sequence[Window], costs: Sequence[int]
    ) -> tuple[list[Usage], bool]:
        """``read`` then ``take`` in one pass at one clock reading: every window's usage
        before the charge, and whether all had room (then all are charged; else none is)."""
        now = self._clock()
        minute_f, into = divmod(now, WINDOW_SECONDS)
        minute = int(minute_f)
        if minute != self._swept:
            self._sweep(minute)
        counts = self._counts
        previous_ttl = WINDOW_SECONDS - into
        current_ttl = 2 * WINDOW_SECONDS - into
        stats = []
        room = True
        for w, cost in zip(windows, costs, strict=True):
            previous, current = self._counted(w.key, minute)
            stat = usage(w, previous, previous_ttl if previous else 0.0, current, current_ttl)
            stats.append(stat)
            if stat.remaining < cost:
                room = False
        if room:
            for w, cost in zip(windows, costs, strict=True):
                previous, current = self._counted(w.key, minute)
                counts[w.key] = (minute, current + cost, previous)
        return stats, room

    def top_up_now(self, windows: Sequence[Window], extra: int) -> None:
        """Charge ``extra`` to each window, or as much of it as the window has room for."""
        now = self._clock()
        minute_f, into = divmod(now, WINDOW_SECONDS)
        minute = int(minute_f)
        if minute != self._swept:
            self._sweep(minute)
        previous_ttl = WINDOW_SECONDS - into
        for w in windows:
            previous, current = self._counted(w.key, minute)
            room = w.limit - math.floor(previous * previous_ttl / WINDOW_SECONDS + current)
            cost = min(extra, room)
            if cost > 0:
                self._counts[w.key] = (minute, current + cost, previous)

    def _sweep(self, minute: int) -> None:
        """Drop the counters of keys idle for two minutes (once a minute: the dict stays the
        size of the keys in use)."""
        self._swept = minute
        stale = [k for k, (at, _, _) in self._counts.items() if at < minute - 1]
        for key in stale:
            del self._counts[key]


class RedisWindows:
    """Counters in Redis; the counters of one request are asked for concurrently."""

    def __init__(self, storage: RedisStorage) -> None:
        self.storage = storage

    async def read(self, windows: Sequence[Window]) -> list[Usage]:
        states = await asyncio.gather(
            *(self.storage.get_sliding_window(w.key, WINDOW_SECONDS) for w in windows)
        )
        return [usage(w, *state) for w, state in zip(windows, states, strict=True)]

    async def take(self, windows: Sequence[Window], costs: Sequence[int]) -> list[bool]:
        return list(
            await asyncio.gather(
                *(
                    self.storage.acquire_sliding_window_entry(w.key, w.limit, WINDOW_SECONDS, cost)
                    for w, cost in zip(windows, costs, strict=True)
                )
            )
        )


class CounterStore:
    """Runs each limiter operation on Redis when it is up, else in-process."""

    def __init__(
        self,
        redis_url: str | None = None,
        *,
        prefix: str = "junction",
        timeout: float = 0.5,
        retry_seconds: float = 5.0,
    ) -> None:
        self.local = LocalWindows()
        self.shared: Windows | None = None
        self._redis: RedisStorage | None = None
        self._down = _DOWN
        if redis_url:
            # The limits library (about 16 MB with what it loads) and the Redis client: only
            # with Redis. The in-process counters need neither.
            from limits.aio.storage import RedisStorage
            from limits.errors import StorageError
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            self._down = (StorageError, *_DOWN)

            self._redis = RedisStorage(
                "async+" + redis_url,
                wrap_exceptions=True,
                implementation="redispy",
                key_prefix=f"{prefix}:ratelimit",
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                # No retries with back-off: a request must not wait on a dead Redis.
                retry=Retry(NoBackoff(), 0),  # type: ignore[arg-type]
            )
            self.shared = RedisWindows(self._redis)
        self.retry_seconds = retry_seconds
        self.retry_at = 0.0
        self.degraded = False
        self.failures = 0  # Redis operations that failed
        self.fallbacks = 0  # operations served in-process because Redis was down

    @property
    def backend(self) -> str:
        if self.shared is None:
            return "memory"
        return "memory (redis unreachable)" if self.degraded else "redis"

    async def run(self, op: Callable[[Windows], Awaitable[T]]) -> T:
        if self.shared is not None and time.monotonic() >= self.retry_at:
            try:
                result = await op(self.shared)
            except self._down as exc:
                self.failures += 1
                self.retry_at = time.monotonic() + self.retry_seconds
                if not self.degraded:
                    self.degraded = True
                    log.warning(
                        "rate limits: Redis is unreachable (%s: %s); serving with in-process "
                        "limits and retrying every %.0f s",
                        type(exc).__name__,
                        exc,
                        self.retry_seconds,
                    )
            else:
                if self.degraded:
                    self.degraded = False
                    log.warning("rate limits: Redis answers again; shared limits restored")
                return result
        if self.shared is not None:
            self.fallbacks += 1
        return await op(self.local)

    def stats(self) -> dict[str, object]:
        return {
            "backend": self.backend,
            "redis_failures": self.failures,
            "in_process_fallbacks": self.fallbacks,
        }

    async def close(self) -> None:
        if self._redis is not None:
            client = self._redis.bridge.get_connection()  # type: ignore[attr-defined]
            try:
                await client.aclose()
            except Exception:  # closing a dead connection must not fail the shutdown
                log.debug("closing the Redis client failed", exc_info=True)
