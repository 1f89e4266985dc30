"""Where the counters live: in this process, or in Redis so that every replica shares them.

With Redis configured and unreachable, requests are still served: the counters fall back to
in-process ones (each replica then enforces the limits on its own), the failure is logged
once and counted, and Redis is tried again every ``redis_retry_seconds``; the shared limits
return as soon as it answers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

log = logging.getLogger(__name__)

T = TypeVar("T")

# What a broken or unreachable Redis raises (limits wraps the client's own errors).
_DOWN = (StorageError, OSError, TimeoutError, ConnectionError)


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
        self.local = SlidingWindowCounterRateLimiter(MemoryStorage())
        self.shared: SlidingWindowCounterRateLimiter | None = None
        self._redis: RedisStorage | None = None
        if redis_url:
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
            self.shared = SlidingWindowCounterRateLimiter(self._redis)
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

    async def run(self, op: Callable[[SlidingWindowCounterRateLimiter], Awaitable[T]]) -> T:
        if self.shared is not None and time.monotonic() >= self.retry_at:
            try:
                result = await op(self.shared)
            except _DOWN as exc:
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
