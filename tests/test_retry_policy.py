"""Backoff, jitter and Retry-After parsing (pure functions: no server)."""

from __future__ import annotations

import time
from email.utils import formatdate

from junction.errors import RateLimited, UpstreamError, UpstreamRejected, UpstreamTimeout
from junction.routing.retry import RetryPolicy, retry_after_seconds, retryable


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_max=4.0)
    for retry, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (5, 4.0)]:
        delays = [policy.backoff(retry, None) for _ in range(200)]
        assert all(d is not None and ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 150, "jittered"


def test_retry_after_is_a_floor_and_too_long_means_no_retry() -> None:
    policy = RetryPolicy(backoff_base=0.1, max_retry_after=30)
    assert policy.backoff(0, 3.0) == 3.0
    assert policy.backoff(0, 31.0) is None


def test_retry_after_parsing() -> None:
    assert retry_after_seconds(RateLimited("x", headers={"Retry-After": "7"})) == 7.0
    date = formatdate(time.time() + 60, usegmt=True)
    parsed = retry_after_seconds(RateLimited("x", headers={"Retry-After": date}))
    assert parsed is not None and 55 < parsed <= 60
    assert retry_after_seconds(RateLimited("x", headers={"Retry-After": "soon"})) is None
    assert retry_after_seconds(UpstreamError("x")) is None


def test_what_is_retryable() -> None:
    assert retryable(UpstreamError("5xx"))
    assert retryable(UpstreamTimeout("slow"))
    assert retryable(RateLimited("429"))
    assert not retryable(UpstreamRejected("400", upstream_status=400))
