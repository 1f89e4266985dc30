"""Failed-login throttling per client address (the UI's login form, admin API bearer keys).

An address that failed ``limit`` times within a minute is refused (429) until the oldest of
those failures is a minute old. A success does not clear the count: a guesser who also knows
one valid key gains nothing. The address is the TCP peer's (``request.client``): forwarded-for
headers are not trusted, so behind a reverse proxy every client shares the proxy's address and
the proxy should throttle too. Counts live in this process only; the table is bounded.
"""

from __future__ import annotations

import time
from collections import deque

WINDOW_SECONDS = 60.0
MAX_ADDRESSES = 10_000


class FailureThrottle:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, address: str, now: float) -> deque[float] | None:
        found = self._failures.get(address)
        if found is None:
            return None
        while found and found[0] <= now - WINDOW_SECONDS:
            found.popleft()
        if not found:
            del self._failures[address]
            return None
        return found

    def retry_after(self, address: str) -> int | None:
        """Seconds until this address may try again; None when it may now."""
        now = time.monotonic()
        found = self._recent(address, now)
        if found is None or len(found) < self.limit:
            return None
        return max(1, int(found[0] + WINDOW_SECONDS - now + 0.999))

    def failed(self, address: str) -> None:
        now = time.monotonic()
        found = self._recent(address, now)
        if found is None:
            if len(self._failures) >= MAX_ADDRESSES:
                self._failures.clear()  # a flood of addresses: forget rather than grow
            found = self._failures[address] = deque()
        found.append(now)
