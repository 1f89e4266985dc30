"""Exact prompt counts from the upstream's own tokenizer, for providers set up to give them.

A provider's ``tokenizer`` setting says who counts prompts for its models:

- ``tiktoken`` (the default): ``cl100k_base`` in process (``counter.TokenCounter``);
- ``vllm``: ``POST <root>/tokenize`` with the chat messages (and tools); vLLM applies the
  model's chat template and answers the ``count``;
- ``llama.cpp``: ``POST <root>/apply-template`` with the messages, then ``POST <root>/tokenize``
  with the prompt it gives; the count is the number of tokens.

``<root>`` is the provider's base URL without a trailing ``/v1``. Asking costs one or two
upstream round trips, so it is done only when the in-process bound says the prompt might not
fit (``history.flow``), for the assistant's first model. When the upstream cannot answer (or
not within ``TIMEOUT_SECONDS``), the tiktoken count is used and a warning is logged: a request
never fails because a tokenizer endpoint does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from junction.config.snapshot import AssistantView, Snapshot
from junction.errors import JunctionError, UpstreamError
from junction.providers.base import Provider
from junction.providers.http import request_json
from junction.routing.resolve import deployment
from junction.tokens.counter import TokenCounter

log = logging.getLogger(__name__)

Json = dict[str, Any]
TIMEOUT_SECONDS = 5.0  # a tokenizer that does not answer by then is not waited for


async def prompt_tokens(
    counter: TokenCounter,
    snapshot: Snapshot,
    assistant: AssistantView,
    messages: Sequence[Json],
    tools: object,
) -> int:
    """The prompt's tokens as the assistant's first model counts them, where its provider
    can say; otherwise (or if it fails) the in-process count."""
    first = deployment(snapshot, assistant.model[0]) if assistant.model else None
    if first is not None and first.provider.config.tokenizer != "tiktoken":
        provider = first.provider.client
        try:
            count = await asyncio.wait_for(
                upstream_count(provider, first.model, list(messages), tools), TIMEOUT_SECONDS
            )
        except (JunctionError, TimeoutError) as exc:
            log.warning(  # the upstream's own text stays out of process logs
                "provider '%s': counting with its %s tokenizer failed (%s); used tiktoken",
                provider.config.name,
                provider.config.tokenizer,
                type(exc).__name__,
            )
        else:
            return count
    return await counter.prompt_off_loop(messages, tools)


async def upstream_count(
    provider: Provider, model: str, messages: list[Json], tools: object
) -> int:
    base = provider.config.base_url
    root = base.removesuffix("/v1")
    count: object = None
    if provider.config.tokenizer == "vllm":
        body: Json = {"model": model, "messages": messages, "add_generation_prompt": True}
        if tools:
            body["tools"] = tools
        answer = await request_json(provider, "POST", root + "/tokenize", body)
        count = answer.get("count") if isinstance(answer, dict) else None
    elif provider.config.tokenizer == "llama.cpp":
        template_body: Json = {"messages": messages, **({"tools": tools} if tools else {})}
        templated = await request_json(provider, "POST", root + "/apply-template", template_body)
        prompt = templated.get("prompt") if isinstance(templated, dict) else None
        if isinstance(prompt, str):
            answer = await request_json(provider, "POST", root + "/tokenize", {"content": prompt})
            tokens = answer.get("tokens") if isinstance(answer, dict) else None
            count = len(tokens) if isinstance(tokens, list) else None
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise UpstreamError(
            f"provider '{provider.config.name}' gave no token count from its "
            f"{provider.config.tokenizer} tokenizer endpoint"
        )
    return count
