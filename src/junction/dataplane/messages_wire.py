"""Anthropic's Messages API (``POST /v1/messages``) as a front door: its request translated into
the internal chat-completions body the providers share.

Request → chat body:
- ``system`` (a string, or text blocks) → one leading ``system`` message.
- ``messages``: ``user``/``assistant`` turns, content a string or blocks (a ``system`` message
  among them, as newer clients send, stays a system message at its place). ``text`` → text parts;
  ``image`` (``base64`` or ``url`` source) → ``image_url`` parts (base64 as a ``data:`` URL);
  an assistant's ``tool_use`` → ``tool_calls`` (``input`` as a JSON string) and its ``thinking``
  → ``reasoning_content``; a user's ``tool_result`` → a ``tool`` message (its text; images in a
  result follow as a user message; ``is_error`` prefixes ``Error:``), placed before the rest of
  that user turn, as the chat format needs tool answers right after the calls.
- ``tools`` (``name``/``description``/``input_schema``) → function tools; ``tool_choice``
  ``auto``/``any``/``tool``/``none`` → ``auto``/``required``/function/``none``, and
  ``disable_parallel_tool_use`` → ``parallel_tool_calls: false``. Anthropic's server tools
  (typed ``web_search_…``, ``bash_…``, …) run on Anthropic's side and are refused (400).
- ``max_tokens`` (required) → ``max_tokens``; ``stop_sequences`` → ``stop``;
  ``temperature``, ``top_p``, ``top_k``, ``stream`` as they are; ``metadata.user_id`` → ``user``.
- ``thinking``: ``{"type": "disabled"}`` → the router's thinking switch
  (``chat_template_kwargs.enable_thinking: false``; the front door adds Qwen3's ``/no_think``
  through ``history.thinking.switch_off``); ``{"type": "enabled", ...}`` →
  ``enable_thinking: true``, and the ``thinking`` object itself stays on the body, which the
  ``anthropic`` provider passes on (servers of kind ``openai`` receive it too; vLLM and
  llama.cpp ignore fields they do not know).
- ``output_config.format`` (``json_schema``) → ``response_format`` ``json_schema``.
- Any other field is accepted without effect: ``cache_control`` (on the request or on blocks;
  prompt caching is the upstream's business), ``output_config.effort``, ``service_tier``,
  ``container``, ``context_management``, ``speed``… Anthropic's clients add fields from one
  version to the next, and a gateway that refused them would break those clients.

An upstream of kind ``anthropic`` is reached through the same internal form (Messages → chat →
Messages): the router's steps (system prompt, knowledge, history, window, limits, quality gate)
all work on that form, so a passthrough would have to re-implement each of them for a second
format. What the round trip could lose is carried: ``thinking`` passes through; signed thinking
(``thinking`` blocks' ``signature``, ``redacted_thinking``), which Anthropic needs back
unchanged before tool results when thinking is on, travels as the assistant message's
``thinking_blocks`` (and a stream's ``thinking_signature`` delta field); the stop sequence that
ended the answer comes back as the choice's ``stop_reason`` (as vLLM reports it). Signatures
made by no model here are left out (``signature: ""`` in answers).

The answer, stream events and errors going back out: ``messages_answer``, ``messages_stream``.
"""

from __future__ import annotations

from typing import Any

import orjson

from junction.errors import InvalidRequest

Json = dict[str, Any]

_SAME = ("model", "temperature", "top_p", "top_k", "stream")


def chat_body(request: object, *, counting: bool = False) -> Json:
    """The internal chat-completions body for a Messages request (``counting``: the body of
    ``/v1/messages/count_tokens``, where ``max_tokens`` is not required)."""
    if not isinstance(request, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    if not isinstance(request.get("model"), str) or not request["model"]:
        raise InvalidRequest("model: Field required (a string).", param="model")
    body: Json = {name: request[name] for name in _SAME if request.get(name) is not None}
    limit = request.get("max_tokens")
    if limit is None and not counting:
        raise InvalidRequest("max_tokens: Field required.", param="max_tokens")
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidRequest("max_tokens must be a positive integer.", param="max_tokens")
        body["max_tokens"] = limit
    messages: list[Json] = []
    system = request.get("system")
    if system is not None:
        text = _system_text(system)
        if text:
            messages.append({"role": "system", "content": text})
    given = request.get("messages")
    if not isinstance(given, list) or not given:
        raise InvalidRequest("messages: must be a non-empty array.", param="messages")
    for i, message in enumerate(given):
        _add_message(messages, message, f"messages.{i}")
    body["messages"] = messages
    stops = request.get("stop_sequences")
    if stops is not None:
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            raise InvalidRequest(
                "stop_sequences must be an array of strings.", param="stop_sequences"
            )
        if stops:
            body["stop"] = list(stops)
    metadata = request.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("user_id"), str):
        body["user"] = metadata["user_id"]
    elif metadata is not None and not isinstance(metadata, dict):
        raise InvalidRequest("metadata must be an object.", param="metadata")
    tools = request.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise InvalidRequest("tools must be an array.", param="tools")
        if tools:
            body["tools"] = [_tool(t, f"tools.{i}") for i, t in enumerate(tools)]
    if request.get("tool_choice") is not None:
        body.update(_tool_choice(request["tool_choice"]))
    if request.get("thinking") is not None:
        _thinking(body, request["thinking"])
    output = request.get("output_config")
    if isinstance(output, dict) and output.get("format") is not None:
        body["response_format"] = _response_format(output["format"])
    return body


def _system_text(system: object) -> str:
    if isinstance(system, str):
        return system
    if isinstance(system, list):
        texts = []
        for i, block in enumerate(system):
            if not isinstance(block, dict) or block.get("type") != "text":
                raise InvalidRequest(
                    f"system.{i}: only text blocks are supported in system.", param=f"system.{i}"
                )
            texts.append(_string(block.get("text"), f"system.{i}.text"))
        return "\n\n".join(texts)
    raise InvalidRequest("system must be a string or an array of text blocks.", param="system")


def _string(value: object, param: str) -> str:
    if not isinstance(value, str):
        raise InvalidRequest(f"{param}: must be a string.", param=param)
    return value


def _add_message(messages: list[Json], message: object, param: str) -> None:
    if not isinstance(message, dict):
        raise InvalidRequest(f"{param}: must be an object.", param=param)
    role = message.get("role")
    if role == "system":  # instructions in the middle of a conversation (newer clients)
        messages.append({"role": "system", "content": _system_text(message.get("content"))})
        return
    if role not in ("user", "assistant"):
        raise InvalidRequest(
            f"{param}.role: Input should be 'user', 'assistant' or 'system'; got {role!r}.",
            param=f"{param}.role",
        )
    content = message.get("content")
    if isinstance(content, str):
        messages.append({"role": role, "content": content})
        return
    if not isinstance(content, list):
        raise InvalidRequest(f"{param}.content: must be a string or an array.", param=param)
    parts: list[Json] = []
    calls: list[Json] = []
    results: list[Json] = []
    reasoning: list[str] = []
    signed: list[Json] = []
    for j, block in enumerate(content):
        where = f"{param}.content.{j}"
        kind = block.get("type") if isinstance(block, dict) else None
        if not isinstance(block, dict):
            raise InvalidRequest(f"{where}: must be an object.", param=where)
        if kind == "text":
            parts.append({"type": "text", "text": _string(block.get("text"), f"{where}.text")})
        elif kind == "image":
            parts.append(_image(block.get("source"), where))
        elif kind == "tool_use" and role == "assistant":
            calls.append(_tool_call(block, where))
        elif kind == "tool_result" and role == "user":
            results.extend(_tool_result(block, where))
        elif kind == "thinking" and role == "assistant":
            reasoning.append(str(block.get("thinking") or ""))
            if block.get("signature"):
                signed.append({k: block.get(k) for k in ("type", "thinking", "signature")})
        elif kind == "redacted_thinking" and role == "assistant":
            # Encrypted for Anthropic's own servers: only an ``anthropic`` provider reads it.
            if block.get("data"):
                signed.append({"type": "redacted_thinking", "data": block["data"]})
        else:
            raise InvalidRequest(
                f"{where}: content blocks of type '{kind}' are not supported in {role} turns.",
                param=f"{where}.type",
            )
    messages.extend(results)
    if role == "assistant":
        out: Json = {"role": "assistant", "content": _joined(parts) if parts else None}
        if calls:
            out["tool_calls"] = calls
        if reasoning:
            out["reasoning_content"] = "".join(reasoning)
        if signed:
            out["thinking_blocks"] = signed
        if parts or calls:
            messages.append(out)
    elif parts or not results:
        messages.append({"role": "user", "content": _joined(parts)})


def _joined(parts: list[Json]) -> str | list[Json]:
    """Text-only content as one string (what every server takes), else the parts."""
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _image(source: object, where: str) -> Json:
    kind = source.get("type") if isinstance(source, dict) else None
    if kind == "base64" and isinstance(source, dict):
        media = _string(source.get("media_type"), f"{where}.source.media_type")
        data = _string(source.get("data"), f"{where}.source.data")
        url = f"data:{media};base64,{data}"
    elif kind == "url" and isinstance(source, dict):
        url = _string(source.get("url"), f"{where}.source.url")
    else:
        raise InvalidRequest(
            f"{where}.source: image sources must be of type 'base64' or 'url'.",
            param=f"{where}.source",
        )
    return {"type": "image_url", "image_url": {"url": url}}


def _tool_call(block: Json, where: str) -> Json:
    arguments = block.get("input", {})
    if not isinstance(arguments, dict):
        raise InvalidRequest(f"{where}.input: must be an object.", param=f"{where}.input")
    return {
        "id": _string(block.get("id"), f"{where}.id"),
        "type": "function",
        "function": {
            "name": _string(block.get("name"), f"{where}.name"),
            "arguments": orjson.dumps(arguments).decode(),
        },
    }


def _tool_result(block: Json, where: str) -> list[Json]:
    """A ``tool`` message, and a user message with the result's images if it has any."""
    content = block.get("content", "")
    images: list[Json] = []
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        texts = []
        for k, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part, dict):
                texts.append(_string(part.get("text"), f"{where}.content.{k}.text"))
            elif kind == "image" and isinstance(part, dict):
                images.append(_image(part.get("source"), f"{where}.content.{k}"))
            else:
                raise InvalidRequest(
                    f"{where}.content.{k}: tool results may hold text and image blocks.",
                    param=f"{where}.content.{k}",
                )
        text = "\n".join(texts)
    else:
        raise InvalidRequest(f"{where}.content: must be a string or an array.", param=where)
    if block.get("is_error") is True:
        text = f"Error: {text}"
    out: list[Json] = [
        {
            "role": "tool",
            "tool_call_id": _string(block.get("tool_use_id"), f"{where}.tool_use_id"),
            "content": text,
        }
    ]
    if images:
        out.append({"role": "user", "content": images})
    return out


def _tool(tool: object, where: str) -> Json:
    if not isinstance(tool, dict):
        raise InvalidRequest(f"{where}: must be an object.", param=where)
    kind = tool.get("type")
    if kind not in (None, "custom"):
        raise InvalidRequest(
            f"{where}: tools of type '{kind}' run on Anthropic's servers and are not "
            "supported here; declare custom tools (name, description, input_schema).",
            param=f"{where}.type",
        )
    schema = tool.get("input_schema")
    if not isinstance(schema, dict):
        raise InvalidRequest(f"{where}.input_schema: Field required.", param=f"{where}")
    function: Json = {"name": _string(tool.get("name"), f"{where}.name"), "parameters": schema}
    if isinstance(tool.get("description"), str):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _tool_choice(choice: object) -> Json:
    kind = choice.get("type") if isinstance(choice, dict) else None
    out: Json
    if kind == "auto":
        out = {"tool_choice": "auto"}
    elif kind == "any":
        out = {"tool_choice": "required"}
    elif kind == "none":
        out = {"tool_choice": "none"}
    elif kind == "tool" and isinstance(choice, dict):
        name = _string(choice.get("name"), "tool_choice.name")
        out = {"tool_choice": {"type": "function", "function": {"name": name}}}
    else:
        raise InvalidRequest(
            "tool_choice.type must be 'auto', 'any', 'tool' or 'none'.", param="tool_choice"
        )
    if isinstance(choice, dict) and choice.get("disable_parallel_tool_use") is True:
        out["parallel_tool_calls"] = False
    return out


def _thinking(body: Json, thinking: object) -> None:
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind == "disabled":
        body["chat_template_kwargs"] = {"enable_thinking": False}
    elif kind in ("enabled", "adaptive"):
        body["chat_template_kwargs"] = {"enable_thinking": True}
        body["thinking"] = thinking
    else:
        raise InvalidRequest(
            "thinking.type must be 'enabled' or 'disabled'.", param="thinking.type"
        )


def _response_format(fmt: object) -> Json:
    schema = fmt.get("schema") if isinstance(fmt, dict) else None
    if (
        not isinstance(fmt, dict)
        or fmt.get("type") != "json_schema"
        or not isinstance(schema, dict)
    ):
        raise InvalidRequest(
            "output_config.format must be {'type': 'json_schema', 'schema': {...}}.",
            param="output_config.format",
        )
    return {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}


def thinking_off(body: Json) -> bool:
    """Whether the translated request asked for no thinking."""
    kwargs = body.get("chat_template_kwargs")
    return isinstance(kwargs, dict) and kwargs.get("enable_thinking") is False
