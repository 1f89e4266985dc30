"""Chooses the deployment for each attempt: the assistant's pool, then its fallbacks in order.

Candidates come in groups: the pool (``model``, one or more deployments of the same model),
then each fallback alone. Within the pool the deployment with the fewest requests in flight
goes first (ties rotate), and deployments in cooldown (``health.py``) are skipped. A failed
attempt (connect error, timeout, 429, 5xx) moves on to a pool member not tried yet, or — when
every member has failed once — retries with backoff (``retry.py``) up to ``retries`` times;
then the next group. An upstream 400/404/413/422 (about the request) ends the request at once.
An answer that breaks the protocol, a redirect or a refused credential moves on to the other
candidates without trying that deployment again. Only the deployment's own health (connect
errors, timeouts, 5xx, 429: ``JunctionError.health_fault``) counts towards its cooldown; one
request's 4xx or malformed answer never does. Attempts and total time are bounded for the
whole request. Nothing here runs on the success path but bookkeeping.

With an answer check (the quality gate), an answer that scores below the threshold moves on to
the next group too, and the best answer seen is returned when none passes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from junction.config.snapshot import AssistantView, Snapshot
from junction.errors import (
    JunctionError,
    RateLimited,
    UpstreamError,
    UpstreamMalformed,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from junction.routing.health import HealthBoard
from junction.routing.resolve import Deployment, deployment
from junction.routing.retry import RetryPolicy, retry_after_seconds, retryable
from junction.settings import Settings

T = TypeVar("T")


@dataclass
class Outcome:
    deployment: Deployment
    attempts: int
    failures: list[dict[str, Any]] = field(default_factory=list)
    score: float | None = None

    @property
    def fallback(self) -> bool:
        return bool(self.failures)


@dataclass
class _Best(Generic[T]):
    score: float
    result: T
    target: Deployment


class Router:
    def __init__(self, policy: RetryPolicy | None = None, health: HealthBoard | None = None):
        self.policy = policy or RetryPolicy()
        self.health = health or HealthBoard()
        self.in_flight: dict[str, int] = {}
        self._turn = 0
        self._resolved_in: Snapshot | None = None
        # (pool refs, fallback refs) -> (pool, fallbacks), for the snapshot ``_resolved_in``
        self._resolved: dict[
            tuple[tuple[str, ...], tuple[str, ...]], tuple[list[Deployment], list[Deployment]]
        ] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Router:
        policy = RetryPolicy(
            retries=settings.routing_retries,
            max_attempts=settings.routing_max_attempts,
            total_timeout=settings.routing_total_timeout,
            backoff_base=settings.routing_backoff_base,
            backoff_max=settings.routing_backoff_max,
            max_retry_after=settings.routing_max_retry_after,
        )
        health = HealthBoard(
            settings.health_failure_threshold,
            settings.health_cooldown_seconds,
            settings.health_probe_timeout,
        )
        return cls(policy, health)

    def groups(self, snapshot: Snapshot, assistant: AssistantView) -> list[list[Deployment]]:
        pool, fallbacks = self._deployments(snapshot, assistant)
        groups = [self._balanced(pool)] if pool else []
        groups.extend([found] for found in fallbacks)
        return groups

    def _deployments(
        self, snapshot: Snapshot, assistant: AssistantView
    ) -> tuple[list[Deployment], list[Deployment]]:
        """The assistant's pool and fallbacks as deployments, worked out once per snapshot
        (snapshots are immutable: a change comes as a new one) and per pool and fallbacks."""
        if self._resolved_in is not snapshot:
            self._resolved_in, self._resolved = snapshot, {}
        refs = (assistant.model, assistant.fallbacks)
        found = self._resolved.get(refs)
        if found is None:
            pool = [d for ref in assistant.model if (d := deployment(snapshot, ref)) is not None]
            fallbacks = [d for ref in assistant.fallbacks if (d := deployment(snapshot, ref))]
            found = self._resolved[refs] = (pool, fallbacks)
        return found

    def _balanced(self, pool: list[Deployment]) -> list[Deployment]:
        """Fewest in flight first; equal ones take turns, so that idle pools spread too."""
        if len(pool) < 2:
            return pool
        self._turn += 1
        n, turn, busy = len(pool), self._turn, self.in_flight
        ranked = sorted(enumerate(pool), key=lambda p: (busy.get(p[1].ref, 0), (p[0] - turn) % n))
        return [d for _, d in ranked]

    async def call(
        self,
        snapshot: Snapshot,
        assistant: AssistantView,
        attempt: Callable[[Deployment], Awaitable[T]],
        *,
        check: Callable[[T], Awaitable[float]] | None = None,
        threshold: float = 0.0,
        notes: dict[str, object] | None = None,
    ) -> tuple[T, Outcome]:
        """Run ``attempt`` on the candidates until one succeeds (and passes ``check``).

        ``notes`` (a ``Call``'s) gets ``routing_failures`` when every candidate failed."""
        policy, health, busy = self.policy, self.health, self.in_flight
        loop = asyncio.get_running_loop()
        deadline = loop.time() + policy.total_timeout
        attempts = 0
        failures: list[dict[str, Any]] = []
        last: JunctionError | None = None
        best: _Best[T] | None = None
        skipped: list[str] = []
        spent: set[str] = set()  # not worth another try within this request
        for group in self.groups(snapshot, assistant):
            failed: set[str] = set()
            retries = 0
            retry_after: float | None = None
            while attempts < policy.max_attempts:
                target = self._pick(group, failed, skipped, spent)
                if target is None:
                    break
                ref = target.ref
                if ref in failed:
                    if retries >= policy.retries:
                        break
                    delay = policy.backoff(retries, retry_after)
                    if delay is None or loop.time() + delay >= deadline:
                        break
                    retries += 1
                    await asyncio.sleep(delay)
                if health.probe_due(ref) and not await health.ready(
                    ref, target.provider.client.probe
                ):
                    skipped.append(ref)
                    continue
                attempts += 1
                busy[ref] = busy.get(ref, 0) + 1
                started = time.perf_counter()
                try:
                    if self._needs_deadline(target, attempts):
                        async with asyncio.timeout_at(deadline):
                            result = await attempt(target)
                    else:  # its own socket timeouts end sooner: save the timer on the hot path
                        result = await attempt(target)
                except TimeoutError:
                    error: JunctionError = UpstreamTimeout(
                        f"no answer within the routing time limit ({policy.total_timeout:g} s)"
                    )
                except JunctionError as exc:
                    if not retryable(exc):
                        raise
                    error = exc
                else:
                    health.success(ref, time.perf_counter() - started)
                    if check is None:
                        return result, Outcome(target, attempts, failures)
                    score = await check(result)
                    if score >= threshold:
                        return result, Outcome(target, attempts, failures, score)
                    failures.append(
                        {
                            "deployment": ref,
                            "reason": "quality",
                            "error": f"quality score {score:g} is below {threshold:g}",
                        }
                    )
                    if best is None or score > best.score:
                        best = _Best(score, result, target)
                    break  # the gate moves on to the next fallback, not the same pool
                finally:
                    busy[ref] -= 1
                last = error
                failed.add(ref)
                if not error.retry_same:
                    spent.add(ref)
                retry_after = retry_after_seconds(error)
                if error.health_fault:
                    health.failure(ref, error.operator_message)
                else:
                    health.note_error(ref, error.operator_message)
                failures.append(
                    {
                        "deployment": ref,
                        "reason": type(error).__name__,
                        "status": error.status_code,
                        "error": error.operator_message,
                    }
                )
                if loop.time() >= deadline:
                    break
            if loop.time() >= deadline:
                break
        if best is not None:
            return best.result, Outcome(best.target, attempts, failures, best.score)
        if notes is not None and failures:
            notes["routing_failures"] = failures
        if last is not None:
            raise _final(last, attempts)
        if skipped:
            now = time.monotonic()
            wait = min(self.health.cooldown_remaining(ref, now) for ref in skipped)
            raise UpstreamUnavailable(
                f"Every deployment of assistant '{assistant.name}' is cooling down after "
                f"repeated failures ({', '.join(dict.fromkeys(skipped))}).",
                headers={"Retry-After": str(max(1, round(wait)))},
            )
        raise UpstreamUnavailable(
            f"No provider is configured for assistant '{assistant.name}' "
            f"(models: {', '.join(assistant.model)})."
        )

    def _needs_deadline(self, target: Deployment, attempts: int) -> bool:
        """The first attempt needs no timer of its own when the provider's connect and read
        timeouts end it before the routing limit would (they bound each wait for bytes)."""
        if attempts > 1:
            return True
        config = target.provider.config
        return config.connect_timeout + config.read_timeout >= self.policy.total_timeout

    def _pick(
        self, group: list[Deployment], failed: set[str], skipped: list[str], spent: set[str]
    ) -> Deployment | None:
        """A usable member not tried yet, else a usable one to retry; None when none is."""
        health = self.health
        fallback: Deployment | None = None
        now = time.monotonic()
        for target in group:
            if target.ref in spent:
                continue
            if not health.usable(target.ref, now):
                skipped.append(target.ref)
            elif target.ref not in failed:
                return target
            elif fallback is None:
                fallback = target
        return fallback

    def enter(self, ref: str) -> None:
        self.in_flight[ref] = self.in_flight.get(ref, 0) + 1

    def leave(self, ref: str) -> None:
        self.in_flight[ref] -= 1


def note_fallbacks(call: Any, outcome: Outcome) -> None:
    """Why other deployments were tried before the one that served (``Call.notes``)."""
    if outcome.failures:
        notes = call.notes
        notes["routing_failures"] = outcome.failures
        last = outcome.failures[-1]
        notes["fallback_reason"] = f"{last['deployment']}: {last['error']}"


def _final(error: JunctionError, attempts: int) -> JunctionError:
    """The last failure, as the client sees it once retries and fallbacks are exhausted."""
    if isinstance(error, RateLimited):  # the upstream's 429 is not the client's own limit
        return UpstreamUnavailable(
            f"{error.message} (after {attempts} attempts)",
            headers=error.headers,
            detail=error.detail,
        )
    if isinstance(error, UpstreamError) and attempts > 1:
        error.message = f"{error.message} (after {attempts} attempts)"
    return error


async def prefetch(chunks: AsyncIterator[T]) -> AsyncIterator[T]:
    """Wait for a stream's first event before committing to it, so that a stream that fails
    before sending anything can still be retried; nothing has reached the client yet."""
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        raise UpstreamMalformed("the upstream ended the stream before sending anything") from None
    return Prefetched(first, chunks)


class Prefetched(Generic[T]):
    """A stream with its first event, already read, put back in front. After that event each
    step is the stream's own (no generator in between on every event); ``aclose`` closes it."""

    def __init__(self, first: T, rest: AsyncIterator[T]) -> None:
        self._first: list[T] = [first]
        self._rest = rest

    def __aiter__(self) -> Prefetched[T]:
        return self

    def __anext__(self) -> Awaitable[T]:
        if self._first:
            return _value(self._first.pop())
        return self._rest.__anext__()

    async def aclose(self) -> None:
        self._first.clear()
        aclose = getattr(self._rest, "aclose", None)
        if aclose is not None:
            await aclose()


async def _value(value: T) -> T:
    return value
