"""When to try an upstream again, and how long to wait first.

Backoff is exponential with "equal jitter": the n-th retry waits between half and all of
``base * 2**n`` (capped at ``max_delay``), so that clients that failed together do not come
back together. An upstream's ``Retry-After`` is honoured as a lower bound; one that asks for
longer than ``max_retry_after`` is not waited for: the router moves on to the next fallback.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from junction.errors import JunctionError, RateLimited, UpstreamError, UpstreamRejected


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 2  # further tries of one pool (or one fallback) after its first failure
    max_attempts: int = 8  # upstream requests for one client request, all candidates together
    total_timeout: float = 900.0  # seconds for all attempts of one request, waits included
    backoff_base: float = 0.25
    backoff_max: float = 8.0
    max_retry_after: float = 30.0

    def backoff(self, retry: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry number ``retry`` (0-based); None: do not retry."""
        if retry_after is not None and retry_after > self.max_retry_after:
            return None
        ceiling = min(self.backoff_max, self.backoff_base * (2**retry))
        delay = ceiling / 2 + random.uniform(0, ceiling / 2)
        return float(max(delay, retry_after or 0.0))


def retryable(error: JunctionError) -> bool:
    """Worth another attempt (the same deployment again only if ``error.retry_same``):
    connect errors, timeouts, 5xx, 429, redirects, refused credentials, malformed answers;
    an upstream 400/404/413/422 about the request is not."""
    if isinstance(error, UpstreamRejected):
        return False
    return isinstance(error, UpstreamError | RateLimited)


def retry_after_seconds(error: JunctionError) -> float | None:
    """The upstream's ``Retry-After`` (delta-seconds or an HTTP date), if it sent one."""
    value = error.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None
