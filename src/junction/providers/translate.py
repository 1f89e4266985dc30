"""Pieces shared by the kinds that translate OpenAI's chat format to another wire format."""

from __future__ import annotations

import os
import time
from typing import Any

from junction.errors import InvalidRequest

Json = dict[str, Any]


def new_id(prefix: str) -> str:
    return f"{prefix}{os.urandom(12).hex()}"


def text_of(content: object) -> str:
    """A message's text: the string itself, or its text parts joined by newlines."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") in ("text", "input_text")
        )
    return ""


def image_urls(content: object) -> list[str]:
    if not isinstance(content, list):
        return []
    urls = []
    for part in content:
        if isinstance(part, dict) and part.get("type") == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if isinstance(url, str):
                urls.append(url)
    return urls


def split_data_url(url: str) -> tuple[str, str] | None:
    """``data:image/png;base64,AAAA`` as ``("image/png", "AAAA")``; None for other URLs."""
    if not url.startswith("data:"):
        return None
    head, sep, data = url[5:].partition(",")
    if not sep or not head.endswith(";base64"):
        raise InvalidRequest("Image data URLs must be base64-encoded.", param="messages")
    return head.removesuffix(";base64") or "application/octet-stream", data


def max_tokens_of(body: Json) -> int | None:
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def stop_list(stop: object) -> list[str] | None:
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        return list(stop)
    return None


def completion(
    model: str, message: Json, finish_reason: str, prompt: int, completion_tokens: int
) -> Json:
    return {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": usage(prompt, completion_tokens),
    }


def usage(prompt: int, completion_tokens: int) -> Json:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
    }


def chunk(chunk_id: str, model: str, delta: Json, finish_reason: str | None = None) -> Json:
    return {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }


def usage_chunk(chunk_id: str, model: str, prompt: int, completion_tokens: int) -> Json:
    return {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [],
        "usage": usage(prompt, completion_tokens),
    }


def completion_chunks(answer: Json) -> list[Json]:
    """A whole ``chat.completion`` as the stream that would have carried it: one chunk with
    each choice's message as its delta and its finish reason, then a usage chunk. For an
    upstream that answers a stream request with a plain completion."""
    chunk_id = str(answer.get("id") or new_id("chatcmpl-"))
    created = answer.get("created") if isinstance(answer.get("created"), int) else int(time.time())
    base = {"id": chunk_id, "object": "chat.completion.chunk", "created": created}
    base["model"] = str(answer.get("model") or "")
    choices = []
    for position, choice in enumerate(answer.get("choices") or []):
        if not isinstance(choice, dict):
            continue
        message = choice.get("message")
        delta = dict(message) if isinstance(message, dict) else {}
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            delta["tool_calls"] = [
                {**call, "index": i} if isinstance(call, dict) else call
                for i, call in enumerate(calls)
            ]
        choices.append(
            {
                "index": choice.get("index", position),
                "delta": delta,
                "logprobs": choice.get("logprobs"),
                "finish_reason": choice.get("finish_reason") or "stop",
            }
        )
    out: list[Json] = [{**base, "choices": choices}]
    if isinstance(answer.get("usage"), dict):
        out.append({**base, "choices": [], "usage": answer["usage"]})
    return out
