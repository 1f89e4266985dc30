"""OpenAI's rate-limit headers, so that OpenAI clients back off by themselves."""

from __future__ import annotations

import math


def duration(seconds: float) -> str:
    """How OpenAI writes a reset time: ``"20ms"``, ``"1.5s"``, ``"6m0s"``."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{math.ceil(seconds * 1000)}ms"
    minutes, rest = divmod(seconds, 60)
    text = f"{rest:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{int(minutes)}m{text}" if minutes else text


def window_headers(kind: str, limit: int, remaining: int, reset_in: float) -> dict[str, str]:
    """``kind`` is ``requests`` or ``tokens``."""
    return {
        f"x-ratelimit-limit-{kind}": str(limit),
        f"x-ratelimit-remaining-{kind}": str(max(0, remaining)),
        f"x-ratelimit-reset-{kind}": duration(reset_in),
    }


def retry_after(seconds: float) -> dict[str, str]:
    """``Retry-After`` in whole seconds (at least 1), and the ``retry-after-ms`` OpenAI's own
    clients prefer."""
    seconds = max(seconds, 0.001)
    return {
        "Retry-After": str(max(1, math.ceil(seconds))),
        "retry-after-ms": str(math.ceil(seconds * 1000)),
    }
