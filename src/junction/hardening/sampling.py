"""Sampling parameters range-checked before anything is sent upstream (400 naming ``param``).

The ranges are OpenAI's: ``temperature`` 0-2, ``top_p`` 0-1, ``presence_penalty`` and
``frequency_penalty`` -2 to 2, ``n`` at least 1 (at most 128), ``top_logprobs`` 0-20,
``seed`` a 64-bit integer. A value out of range used to be forwarded, to be refused (or worse,
accepted) by the upstream. Absent and null fields are not checked.
"""

from __future__ import annotations

import math
from typing import Any

from junction.errors import InvalidRequest

_RANGES: tuple[tuple[str, float, float], ...] = (
    ("temperature", 0.0, 2.0),
    ("top_p", 0.0, 1.0),
    ("presence_penalty", -2.0, 2.0),
    ("frequency_penalty", -2.0, 2.0),
)
_INTEGERS: tuple[tuple[str, int, int], ...] = (
    ("n", 1, 128),
    ("top_logprobs", 0, 20),
    ("seed", -(2**63), 2**63 - 1),
)


def check_sampling(body: dict[str, Any]) -> None:
    """Raise ``InvalidRequest`` (400, with ``param``) for the first parameter out of range."""
    for name, low, high in _RANGES:
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidRequest(f"'{name}' must be a number.", param=name)
        if not math.isfinite(value) or not low <= value <= high:
            raise InvalidRequest(
                f"'{name}' must be between {low:g} and {high:g}; got {value!r}.", param=name
            )
    for name, lowest, highest in _INTEGERS:
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidRequest(f"'{name}' must be an integer.", param=name)
        if not lowest <= value <= highest:
            raise InvalidRequest(
                f"'{name}' must be between {lowest} and {highest}; got {value}.", param=name
            )
