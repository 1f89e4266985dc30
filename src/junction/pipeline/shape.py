"""The shape step: the body is checked before anything else reads it.

``check_object`` runs first for every door: a JSON object, nested at most ``max_json_depth``
levels (orjson allows 1024; nothing downstream — counting, history, logging, translation —
should have to walk a pathological document). Then the door checks its own fields with the
functions below: types, message roles, counts and sizes, each refusal a 400 naming the
``param``. The walks visit containers only, so a normal chat body costs a few microseconds.
"""

from __future__ import annotations

from typing import Any

from junction.core.types import Json
from junction.errors import InvalidRequest
from junction.hardening.sampling import check_sampling
from junction.settings import Settings

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_LENGTH_FIELDS = ("max_tokens", "max_completion_tokens")
_CONTENT_TYPES = (str, list, type(None))


def too_deep(value: object, limit: int) -> bool:
    """Whether ``value`` nests objects/arrays more than ``limit`` levels (the top is level 1)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False


def check_object(raw: object, settings: Settings) -> Json:
    if not isinstance(raw, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    limit = settings.max_json_depth
    for name, value in raw.items():
        if isinstance(value, dict | list) and too_deep(value, limit - 1):
            raise InvalidRequest(
                f"'{name}' nests objects and arrays more than {limit} levels deep.", param=name
            )
    return raw


def check_model(body: Json) -> None:
    if "model" not in body:
        raise InvalidRequest("Missing required parameter: 'model'.", param="model")
    if not isinstance(body["model"], str):
        raise InvalidRequest("'model' must be a string.", param="model")


def check_stream_flag(body: Json) -> bool:
    if "stream" in body and not isinstance(body["stream"], bool):
        raise InvalidRequest("'stream' must be a boolean.", param="stream")
    return body.get("stream") is True


def check_chat(body: Json, settings: Settings, param: str = "messages") -> None:
    """A chat-completions body as the router relies on it. ``param`` names the client's field
    in messages (``input`` for Responses)."""
    check_model(body)
    messages = body.get("messages")
    if messages is None:
        raise InvalidRequest(f"Missing required parameter: '{param}'.", param=param)
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest(f"'{param}' must be a non-empty array.", param=param)
    if len(messages) > settings.max_messages:
        raise InvalidRequest(
            f"'{param}' has {len(messages)} items; at most {settings.max_messages} are allowed.",
            param=param,
        )
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidRequest(f"{param}[{i}] must be an object.", param=f"{param}[{i}]")
        role = message.get("role")
        if role not in ROLES:
            raise InvalidRequest(
                f"{param}[{i}].role must be one of {', '.join(sorted(ROLES))}; got {role!r}.",
                param=f"{param}[{i}].role",
            )
        if not isinstance(message.get("content"), _CONTENT_TYPES):
            raise InvalidRequest(
                f"{param}[{i}].content must be a string, an array of parts or null.",
                param=f"{param}[{i}].content",
            )
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        raise InvalidRequest("'tools' must be an array.", param="tools")
    check_stream_flag(body)
    check_lengths(body)
    check_sampling(body)


def check_lengths(body: Json) -> None:
    for name in _LENGTH_FIELDS:
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidRequest(f"'{name}' must be an integer.", param=name)
        if isinstance(value, int) and value < 1:
            raise InvalidRequest(f"'{name}' must be at least 1.", param=name)


def check_completion(body: Json) -> None:
    check_model(body)
    prompt = body.get("prompt")
    if prompt is None:
        raise InvalidRequest("Missing required parameter: 'prompt'.", param="prompt")
    if not isinstance(prompt, str | list):
        raise InvalidRequest("'prompt' must be a string or an array.", param="prompt")
    check_stream_flag(body)
    check_lengths(body)
    check_sampling(body)


def check_embedding(body: Json) -> None:
    check_model(body)
    given = body.get("input")
    if given is None:
        raise InvalidRequest("Missing required parameter: 'input'.", param="input")
    if not isinstance(given, str | list):
        raise InvalidRequest("'input' must be a string or an array.", param="input")
