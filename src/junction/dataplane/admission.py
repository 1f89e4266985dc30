"""The one gate every request passes before it reaches an upstream: body shape, the monthly
budget and other admission checks, then the rate limits (which charge the request)."""

from __future__ import annotations

from typing import Any

from junction.core.call import Call
from junction.hardening.body import check_body_shape
from junction.ratelimit.estimate import estimate_prompt_tokens
from junction.runtime import Runtime


async def admit(rt: Runtime, call: Call, body: dict[str, Any]) -> None:
    """Raise the error that refuses ``call``; once it returns, the request is charged."""
    check_body_shape(body, rt.settings)
    rt.check(call)
    await rt.rate_limits.admit(call, estimate_prompt_tokens(body))
