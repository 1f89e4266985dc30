"""Per-deployment health: a circuit breaker, latency and the last error.

A deployment (``<provider>/<model>``) that fails ``threshold`` times in a row is put in
cooldown: the router skips it. When the cooldown is over, the first request that wants it
probes the provider first (``Provider.probe``, a cheap metadata call, bounded by
``probe_timeout``; concurrent requests share the one probe). A failed probe starts a new,
doubled cooldown (at most 8 times the base); a passed probe puts the deployment on probation,
where one more failure sends it straight back to cooldown and one success makes it healthy.

Only the deployment's own health counts (connect errors, timeouts, 5xx, 429): the router
reports one request's 4xx or a malformed answer with ``note_error``, which shows it to
operators and cools nothing down. ``last_error`` is operator text (redacted upstream words):
the admin API and UI show it, ``/readyz`` only to the admin key.

Everything here is in-process, lock-free and O(1) per request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

EWMA_WEIGHT = 0.2  # weight of the newest latency sample
MAX_COOLDOWN_FACTOR = 8


@dataclass
class DeploymentHealth:
    ref: str
    consecutive_failures: int = 0
    successes: int = 0
    failures: int = 0
    cooldown_until: float = 0.0  # monotonic time; 0 = not in cooldown
    cooldowns: int = 0  # cooldowns in a row, without a success between them
    probation: bool = False
    latency_ms: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None  # unix time
    last_success_at: float | None = None  # unix time
    probe: asyncio.Future[bool] | None = None

    def status(self, now: float) -> str:
        if self.cooldown_until:
            return "cooldown" if now < self.cooldown_until else "probe_due"
        if self.probation:
            return "probation"
        if self.consecutive_failures:
            return "degraded"
        return "healthy" if self.successes else "unknown"

    def public(self, now: float) -> dict[str, Any]:
        return {
            "deployment": self.ref,
            "status": self.status(now),
            "latency_ms": round(self.latency_ms, 1) if self.latency_ms is not None else None,
            "successes": self.successes,
            "failures": self.failures,
            "consecutive_failures": self.consecutive_failures,
            "cooldown_remaining_s": round(max(0.0, self.cooldown_until - now), 1),
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "last_success_at": self.last_success_at,
        }


class HealthBoard:
    def __init__(
        self, threshold: int = 3, cooldown: float = 30.0, probe_timeout: float = 5.0
    ) -> None:
        self.threshold = max(1, threshold)
        self.cooldown = cooldown
        self.probe_timeout = probe_timeout
        self._states: dict[str, DeploymentHealth] = {}

    def state(self, ref: str) -> DeploymentHealth:
        found = self._states.get(ref)
        if found is None:
            found = self._states[ref] = DeploymentHealth(ref)
        return found

    def deployments(self) -> list[DeploymentHealth]:
        """Every deployment seen so far (read at metrics scrape time)."""
        return list(self._states.values())

    def usable(self, ref: str, now: float) -> bool:
        """Not cooling down (a deployment whose cooldown is over is usable after a probe)."""
        found = self._states.get(ref)
        return found is None or now >= found.cooldown_until

    def probe_due(self, ref: str) -> bool:
        """Past a cooldown and not yet probed (checked before every attempt: a dict look-up)."""
        found = self._states.get(ref)
        return found is not None and found.cooldown_until != 0.0

    def cooldown_remaining(self, ref: str, now: float) -> float:
        found = self._states.get(ref)
        return max(0.0, found.cooldown_until - now) if found else 0.0

    async def ready(self, ref: str, probe: Callable[[], Awaitable[object]]) -> bool:
        """True if the deployment may take a request; runs the post-cooldown probe if due."""
        found = self._states.get(ref)
        if found is None or not found.cooldown_until:
            return True
        if time.monotonic() < found.cooldown_until:
            return False
        if found.probe is None:
            found.probe = asyncio.ensure_future(self._probe(found, probe))
        return await asyncio.shield(found.probe)

    async def _probe(self, found: DeploymentHealth, probe: Callable[[], Awaitable[object]]) -> bool:
        try:
            async with asyncio.timeout(self.probe_timeout):
                await probe()
        except Exception as exc:  # any probe failure keeps the deployment out
            self._open(found, f"probe failed: {_describe(exc)}")
            return False
        finally:
            found.probe = None
        found.cooldown_until = 0.0
        found.probation = True
        return True

    def success(self, ref: str, seconds: float) -> None:
        found = self.state(ref)
        found.successes += 1
        found.consecutive_failures = 0
        found.cooldowns = 0
        found.probation = False
        found.cooldown_until = 0.0
        found.last_success_at = time.time()
        sample = seconds * 1000
        if found.latency_ms is None:
            found.latency_ms = sample
        else:
            found.latency_ms += EWMA_WEIGHT * (sample - found.latency_ms)

    def failure(self, ref: str, message: str) -> None:
        found = self.state(ref)
        found.failures += 1
        found.consecutive_failures += 1
        found.last_error = message
        found.last_error_at = time.time()
        if found.probation or found.consecutive_failures >= self.threshold:
            self._open(found, message)

    def note_error(self, ref: str, message: str) -> None:
        """An error that is not the deployment's health (one request's 4xx, a malformed
        answer): shown to operators as the last error, never counted towards a cooldown."""
        found = self.state(ref)
        found.last_error = message
        found.last_error_at = time.time()

    def _open(self, found: DeploymentHealth, message: str) -> None:
        found.cooldowns += 1
        factor = min(MAX_COOLDOWN_FACTOR, 2 ** (found.cooldowns - 1))
        found.cooldown_until = time.monotonic() + self.cooldown * factor
        found.probation = False
        found.last_error = message
        found.last_error_at = time.time()

    def forget(self, provider: str) -> None:
        """Drop what was learnt about a provider (its settings changed, or it is gone)."""
        prefix = provider + "/"
        for ref in [r for r in self._states if r.startswith(prefix)]:
            del self._states[ref]

    def provider_health(self, provider: str) -> dict[str, Any]:
        """A provider's summary, with each deployment's own state.

        ``cooldown`` when every deployment seen is cooling down, ``healthy`` when all answered
        their last request, ``degraded`` in between; mean latency; the newest error."""
        now = time.monotonic()
        prefix = provider + "/"
        states = [s for ref, s in self._states.items() if ref.startswith(prefix)]
        if not states:
            return {"status": "unknown", "latency_ms": None, "last_error": None, "deployments": []}
        statuses = {s.status(now) for s in states}
        if statuses == {"cooldown"}:
            status = "cooldown"  # nothing of this provider can be used right now
        elif statuses <= {"healthy", "unknown"}:
            status = "healthy" if "healthy" in statuses else "unknown"
        else:
            status = "degraded"
        latencies = [s.latency_ms for s in states if s.latency_ms is not None]
        errored = [s for s in states if s.last_error_at is not None]
        newest = max(errored, key=lambda s: s.last_error_at or 0.0) if errored else None
        return {
            "status": status,
            "latency_ms": round(sum(latencies) / len(latencies), 1) if latencies else None,
            "last_error": newest.last_error if newest else None,
            "last_error_at": newest.last_error_at if newest else None,
            "deployments": [s.public(now) for s in sorted(states, key=lambda s: s.ref)],
        }


def _describe(exc: BaseException) -> str:
    message = getattr(exc, "operator_message", None)
    if isinstance(message, str):
        return message
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"
