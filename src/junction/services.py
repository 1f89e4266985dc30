"""What runs beside the request path: rate limits, key usage, the admin-key watcher.

``install(rt)`` wires them into the runtime (observers, limiter) and returns the services
that the app's lifespan starts after the catalog is loaded and stops before the database is closed.
"""

from __future__ import annotations

import logging
from typing import Protocol

from junction.keys.admin_key import AdminKeyWatcher
from junction.keys.usage import KeyUsage
from junction.ratelimit.limiter import RateLimits
from junction.ratelimit.store import CounterStore
from junction.runtime import Runtime

log = logging.getLogger(__name__)


class Service(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class _RateLimitService:
    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.limits.close()


def install(rt: Runtime) -> list[Service]:
    s = rt.settings
    rt.rate_limits = RateLimits(
        CounterStore(
            s.redis_url,
            prefix=s.redis_prefix,
            timeout=s.redis_timeout,
            retry_seconds=s.redis_retry_seconds,
        )
    )
    rt.call_observers.append(rt.rate_limits.observe)
    usage = KeyUsage(rt.db, s.key_usage_flush_seconds)
    rt.call_observers.append(usage.observe)
    return [_RateLimitService(rt.rate_limits), usage, AdminKeyWatcher(rt)]


async def start_all(services: list[Service]) -> None:
    for service in services:
        await service.start()


async def stop_all(services: list[Service]) -> None:
    for service in reversed(services):
        try:
            await service.stop()
        except Exception:  # one service's failure must not keep the others from stopping
            log.exception("stopping %r failed", service)
