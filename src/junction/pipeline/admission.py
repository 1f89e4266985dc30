"""The admission step: the workspace's budget and the key's and workspace's rate limits,
checked before any costly work (counting, history, retrieval, the upstream call).

The token cost charged here is an estimate from character counts (``ratelimit.estimate``):
linear in the body, no tokenizer. The real usage settles it when the call finishes.
"""

from __future__ import annotations

from junction.pipeline.exchange import Exchange
from junction.ratelimit.estimate import estimate_prompt_tokens


async def admit(ex: Exchange) -> None:
    """Raise the error that refuses the request; once it returns, the request is charged."""
    ex.rt.check(ex.call)
    await ex.rt.rate_limits.admit(ex.call, estimate_prompt_tokens(ex.body))
