"""Fills in what OpenAI's schema requires and an upstream left out, so clients never trip.

Only missing or ill-typed required fields are touched; everything else passes through.
``model`` is always the assistant's name: the name the client asked for. The deployment
that served is in the ``x-junction-model`` header.
"""

from __future__ import annotations

import time
from typing import Any

from junction.errors import UpstreamError

Json = dict[str, Any]

FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})


def completion_id(request_id: str) -> str:
    return "chatcmpl-" + request_id.removeprefix("req_")


def _envelope(data: Json, obj: str, model: str, fallback_id: str) -> list[Any]:
    if not isinstance(data.get("id"), str) or not data["id"]:
        data["id"] = fallback_id
    data["object"] = obj
    created = data.get("created")
    if isinstance(created, bool) or not isinstance(created, int):
        data["created"] = int(time.time())
    data["model"] = model
    choices = data.get("choices")
    if not isinstance(choices, list):
        raise UpstreamError("The upstream answered without a 'choices' list.")
    return choices


def _finish_reason(value: object, *, nullable: bool) -> str | None:
    if value in FINISH_REASONS:
        return str(value)
    if value is None and nullable:
        return None
    return "stop"


def _usage(data: Json) -> None:
    usage = data.get("usage")
    if usage is None:
        return
    if not isinstance(usage, dict):
        del data["usage"]
        return
    for name in ("prompt_tokens", "completion_tokens"):
        value = usage.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            usage[name] = 0
    total = usage.get("total_tokens")
    if isinstance(total, bool) or not isinstance(total, int):
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]


def normalize_completion(data: object, model: str, fallback_id: str) -> Json:
    if not isinstance(data, dict):
        raise UpstreamError("The upstream answered with something other than a JSON object.")
    for index, choice in enumerate(_envelope(data, "chat.completion", model, fallback_id)):
        if not isinstance(choice, dict):
            raise UpstreamError("The upstream answered with a choice that is not an object.")
        if not isinstance(choice.get("index"), int):
            choice["index"] = index
        choice["finish_reason"] = _finish_reason(choice.get("finish_reason"), nullable=False)
        choice.setdefault("logprobs", None)
        message = choice.get("message")
        if not isinstance(message, dict):
            message = choice["message"] = {}
        message["role"] = "assistant"
        message.setdefault("content", None)
        message.setdefault("refusal", None)
    _usage(data)
    return data


def normalize_chunk(data: Json, model: str, fallback_id: str) -> Json:
    for index, choice in enumerate(_envelope(data, "chat.completion.chunk", model, fallback_id)):
        if not isinstance(choice, dict):
            raise UpstreamError("The upstream streamed a choice that is not an object.")
        if not isinstance(choice.get("index"), int):
            choice["index"] = index
        choice["finish_reason"] = _finish_reason(choice.get("finish_reason"), nullable=True)
        if not isinstance(choice.get("delta"), dict):
            choice["delta"] = {}
    _usage(data)
    return data


def normalize_embeddings(data: object, model: str) -> Json:
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise UpstreamError("The upstream answered embeddings without a 'data' list.")
    data["object"] = "list"
    data["model"] = model
    for index, item in enumerate(data["data"]):
        if not isinstance(item, dict):
            raise UpstreamError("The upstream answered an embedding that is not an object.")
        item["object"] = "embedding"
        if not isinstance(item.get("index"), int):
            item["index"] = index
    usage = data.get("usage")
    if not isinstance(usage, dict):
        usage = data["usage"] = {}
    prompt = usage.get("prompt_tokens")
    if isinstance(prompt, bool) or not isinstance(prompt, int):
        usage["prompt_tokens"] = 0
    if not isinstance(usage.get("total_tokens"), int):
        usage["total_tokens"] = usage["prompt_tokens"]
    return data


def model_entry(name: str, created: int, owned_by: str) -> Json:
    return {"id": name, "object": "model", "created": created, "owned_by": owned_by}
