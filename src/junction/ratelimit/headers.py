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


_NAMES = {
    kind: tuple(f"x-ratelimit-{part}-{kind}" for part in ("limit", "remaining", "reset"))
    for kind in ("requests", "tokens")
}


def add_window_headers(
    headers: dict[str, str], kind: str, limit: int, remaining: int, reset_in: float
) -> None:
    """The three headers of one kind (``requests`` or ``tokens``), written into ``headers``."""
    limit_name, remaining_name, reset_name = _NAMES[kind]
    headers[limit_name] = str(limit)
    headers[remaining_name] = str(remaining) if remaining > 0 else "0"
    headers[reset_name] = duration(reset_in)


def retry_after(seconds: float) -> dict[str, str]:
    """``Retry-After`` in whole seconds (at least 1), and the ``retry-after-ms`` OpenAI's own
    clients prefer."""
    seconds = max(seconds, 0.001)
    return {
        "Retry-After": str(max(1, math.ceil(seconds))),
        "retry-after-ms": str(math.ceil(seconds * 1000)),
    }
