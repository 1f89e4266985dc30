"""OpenAI's Responses format, translated to and from a chat completion.

Input items become chat messages (``input_text``/``output_text`` parts become text, images
become ``image_url`` parts, ``function_call``/``function_call_output`` become tool calls and
tool messages); ``instructions`` is a system message; function tools are rewrapped. The chat
answer becomes a Response object with ``message`` and ``function_call`` output items.
"""

from __future__ import annotations

import os
import time
from typing import Any

from junction.errors import InvalidRequest

Json = dict[str, Any]

# Request fields that mean the same in both formats, passed to the chat body as they are.
_SAME = ("temperature", "top_p", "parallel_tool_calls", "user", "metadata", "tool_choice")


def chat_body(request: Json) -> Json:
    """The chat-completion body for a Responses request (without history)."""
    if not isinstance(request.get("model"), str):
        raise InvalidRequest("Missing required parameter: 'model'.", param="model")
    messages: list[Json] = []
    instructions = request.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    elif instructions is not None and not isinstance(instructions, str):
        raise InvalidRequest("'instructions' must be a string.", param="instructions")
    given = request.get("input")
    if isinstance(given, str):
        messages.append({"role": "user", "content": given})
    elif isinstance(given, list) and given:
        for i, item in enumerate(given):
            _add_item(messages, item, f"input[{i}]")
    else:
        raise InvalidRequest("'input' must be a string or a non-empty array.", param="input")
    body: Json = {"model": request["model"], "messages": messages}
    for name in _SAME:
        if request.get(name) is not None:
            body[name] = request[name]
    if isinstance(body.get("tool_choice"), dict) and body["tool_choice"].get("type") == "function":
        body["tool_choice"] = {
            "type": "function",
            "function": {"name": body["tool_choice"].get("name")},
        }
    limit = request.get("max_output_tokens")
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidRequest(
                "'max_output_tokens' must be a positive integer.", param="max_output_tokens"
            )
        body["max_tokens"] = limit
    tools = request.get("tools")
    if tools:
        body["tools"] = [_chat_tool(t, i) for i, t in enumerate(tools)]
    text = request.get("text")
    if isinstance(text, dict) and isinstance(text.get("format"), dict):
        body["response_format"] = _response_format(text["format"])
    return body


def _add_item(messages: list[Json], item: object, param: str) -> None:
    if not isinstance(item, dict):
        raise InvalidRequest(f"{param} must be an object.", param=param)
    kind = item.get("type", "message")
    if kind == "message":
        role = item.get("role")
        if role not in ("user", "assistant", "system", "developer"):
            raise InvalidRequest(
                f"{param}.role must be user, assistant, system or developer.", param=f"{param}.role"
            )
        messages.append({"role": role, "content": _content(item.get("content"), param)})
    elif kind == "function_call":
        call = {
            "id": item.get("call_id"),
            "type": "function",
            "function": {"name": item.get("name"), "arguments": item.get("arguments", "")},
        }
        last = messages[-1] if messages else None
        if last is not None and last["role"] == "assistant" and last.get("tool_calls"):
            last["tool_calls"].append(call)
        else:
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
    elif kind == "function_call_output":
        output = item.get("output")
        messages.append(
            {
                "role": "tool",
                "tool_call_id": item.get("call_id"),
                "content": output if isinstance(output, str) else _content(output, param),
            }
        )
    else:
        raise InvalidRequest(
            f"{param}: input items of type '{kind}' are not supported.", param=f"{param}.type"
        )


def _content(content: object, param: str) -> str | list[Json]:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise InvalidRequest(f"{param}.content must be a string or an array.", param=param)
    parts: list[Json] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text", "text"):
            parts.append({"type": "text", "text": part.get("text", "")})
        elif kind == "input_image" and isinstance(part, dict):
            url = part.get("image_url")
            parts.append(
                {
                    "type": "image_url",
                    "image_url": {"url": url, "detail": part.get("detail", "auto")},
                }
            )
        elif kind == "refusal" and isinstance(part, dict):
            parts.append({"type": "text", "text": part.get("refusal", "")})
        else:
            raise InvalidRequest(
                f"{param}: content parts of type '{kind}' are not supported.",
                param=f"{param}.content",
            )
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _chat_tool(tool: object, i: int) -> Json:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        raise InvalidRequest(f"tools[{i}]: only function tools are supported.", param=f"tools[{i}]")
    function = {k: tool[k] for k in ("name", "description", "parameters", "strict") if k in tool}
    return {"type": "function", "function": function}


def _response_format(fmt: Json) -> Json:
    if fmt.get("type") == "json_schema":
        schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        return {"type": "json_schema", "json_schema": schema}
    return {"type": fmt.get("type", "text")}


def response_object(
    answer: Json, response_id: str, request: Json, stored: bool, created_at: int | None = None
) -> Json:
    """The chat ``answer`` (normalized) as a Response; ``created_at`` is the router's clock
    when the request came (the upstream's ``created`` is not used)."""
    choice = answer["choices"][0] if answer.get("choices") else {}
    message = choice.get("message") or {}
    output: list[Json] = []
    text = message.get("content")
    if isinstance(text, str) and text:
        output.append(
            {
                "type": "message",
                "id": "msg_" + os.urandom(12).hex(),
                "status": "completed",
                "role": "assistant",
                "content": [
                    {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
                ],
            }
        )
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        output.append(
            {
                "type": "function_call",
                "id": "fc_" + os.urandom(12).hex(),
                "call_id": call.get("id") or "call_" + os.urandom(8).hex(),
                "name": function.get("name", ""),
                "arguments": function.get("arguments", ""),
                "status": "completed",
            }
        )
    cut = choice.get("finish_reason") == "length"
    usage = answer.get("usage") or {}
    prompt, completion = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
    now = int(time.time())
    return {
        "id": response_id,
        "object": "response",
        "created_at": now if created_at is None else created_at,
        "completed_at": None if cut else now,
        "status": "incomplete" if cut else "completed",
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if cut else None,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "model": answer.get("model"),
        "output": output,
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": request.get("previous_response_id"),
        "store": stored,
        "temperature": request.get("temperature"),
        "top_p": request.get("top_p"),
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": request.get("tools") or [],
        "text": request.get("text") or {"format": {"type": "text"}},
        "truncation": "disabled",
        "metadata": request.get("metadata") or {},
        "usage": {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion,
        },
    }
