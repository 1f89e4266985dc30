"""Chooses the deployment for each attempt: the assistant's pool, then its fallbacks.

Within a pool the deployment with the fewest requests in flight goes first. An attempt that
fails before anything reached the client (connect error, timeout, 5xx) moves on to the next
candidate; an error the client caused (4xx) ends the request at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from junction.errors import UpstreamError, UpstreamRejected, UpstreamUnavailable
from junction.routing.catalog import AssistantView, Snapshot
from junction.routing.resolve import Deployment, deployment

T = TypeVar("T")


@dataclass
class Outcome:
    deployment: Deployment
    attempts: int


@dataclass
class Router:
    in_flight: dict[str, int] = field(default_factory=dict)

    def candidates(self, snapshot: Snapshot, assistant: AssistantView) -> Iterator[Deployment]:
        pool = sorted(assistant.model, key=lambda ref: self.in_flight.get(ref, 0))
        for ref in (*pool, *assistant.fallbacks):
            found = deployment(snapshot, ref)
            if found is not None:
                yield found

    async def call(
        self,
        snapshot: Snapshot,
        assistant: AssistantView,
        attempt: Callable[[Deployment], Awaitable[T]],
    ) -> tuple[T, Outcome]:
        """Run ``attempt`` on each candidate in turn until one succeeds."""
        last: UpstreamError | None = None
        attempts = 0
        for target in self.candidates(snapshot, assistant):
            attempts += 1  # noqa: SIM113
            self.in_flight[target.ref] = self.in_flight.get(target.ref, 0) + 1
            try:
                return await attempt(target), Outcome(target, attempts)
            except UpstreamRejected:
                raise
            except UpstreamError as exc:
                last = exc
            finally:
                self.in_flight[target.ref] -= 1
        if last is not None:
            raise last
        raise UpstreamUnavailable(
            f"No provider is configured for assistant '{assistant.name}' "
            f"(models: {', '.join(assistant.model)})."
        )

    def enter(self, ref: str) -> None:
        self.in_flight[ref] = self.in_flight.get(ref, 0) + 1

    def leave(self, ref: str) -> None:
        self.in_flight[ref] -= 1
