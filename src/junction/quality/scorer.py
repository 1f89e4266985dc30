"""Deterministic answer checks and how they make a score. Pure functions: replace this module
(keeping ``score_answer``'s signature) to change how answers are graded.

Each failed check sets a ceiling on the score; the score is 100, lowered to the lowest
ceiling among the checks that failed. Only the first choice is checked.

    check                    ceiling  fails when
    empty                    0        no content (or only whitespace) and no tool calls
    invalid_json             10       ``response_format`` asks for JSON (json_object or
                                      json_schema) and the content does not parse, or does
                                      not fit the json_schema (``schema.py``'s subset)
    invalid_tool_arguments   10       a tool call names a function the request did not offer,
                                      or its arguments are not a JSON object fitting that
                                      function's ``parameters``
    repetition               20       degenerate looping: of 40+ words, one word 4-gram makes
                                      up at least 25 % of all 4-grams; or 300+ characters
                                      that zlib compresses to under 10 % of their size
    refusal                  30       ``message.refusal`` is set, or the first 200 characters
                                      contain a stock refusal phrase (list below)
    cut_off                  40       ``finish_reason`` is ``length``
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson

from junction.quality.schema import problem

Json = dict[str, Any]

CEILINGS = {
    "empty": 0,
    "invalid_json": 10,
    "invalid_tool_arguments": 10,
    "repetition": 20,
    "refusal": 30,
    "cut_off": 40,
}

REFUSAL_PHRASES = (
    "i can't help with",
    "i cannot help with",
    "i can't assist with",
    "i cannot assist with",
    "i'm sorry, but i can't",
    "i'm sorry, but i cannot",
    "i am sorry, but i cannot",
    "i'm unable to help",
    "i am unable to help",
    "i won't be able to help",
    "i can't comply",
    "i cannot comply",
    "i must decline",
    "as an ai language model",
)


@dataclass(frozen=True)
class Verdict:
    score: int
    failed: tuple[str, ...] = ()
    detail: str = ""


def score_answer(answer: Json, request: Json) -> Verdict:
    """Score a ``chat.completion`` dict given the request body that produced it."""
    choices = answer.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices else {}
    choice = choice if isinstance(choice, dict) else {}
    message = choice.get("message")
    message = message if isinstance(message, dict) else {}
    content = message.get("content")
    text = content if isinstance(content, str) else ""
    tool_calls = message.get("tool_calls")
    tool_calls = tool_calls if isinstance(tool_calls, list) else []

    failed: dict[str, str] = {}
    if not text.strip() and not tool_calls:
        failed["empty"] = "the answer has no content"
    if choice.get("finish_reason") == "length":
        failed["cut_off"] = "the answer was cut off by the length limit"
    if text.strip() and (why := _json_problem(text, request.get("response_format"))):
        failed["invalid_json"] = why
    if tool_calls and (why := _tool_problem(tool_calls, request.get("tools"))):
        failed["invalid_tool_arguments"] = why
    if _repetitive(text):
        failed["repetition"] = "the answer repeats itself"
    if message.get("refusal") or _refuses(text):
        failed["refusal"] = "the answer is a refusal"
    if not failed:
        return Verdict(100)
    worst = min(failed, key=CEILINGS.__getitem__)
    return Verdict(CEILINGS[worst], tuple(failed), failed[worst])


def _json_problem(text: str, response_format: object) -> str | None:
    if not isinstance(response_format, dict):
        return None
    kind = response_format.get("type")
    if kind not in ("json_object", "json_schema"):
        return None
    try:
        value = orjson.loads(text.strip())
    except orjson.JSONDecodeError:
        return "the answer is not valid JSON"
    if kind == "json_object" and not isinstance(value, dict):
        return "the answer is not a JSON object"
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if kind == "json_schema" and (why := problem(value, schema)):
        return f"the answer does not fit the schema: {why}"
    return None


def _tool_problem(tool_calls: list[Any], tools: object) -> str | None:
    offered: dict[str, Any] = {}
    for tool in tools if isinstance(tools, list) else []:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            offered[function["name"]] = function.get("parameters")
    for call in tool_calls:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            return "a tool call has no function"
        name = function.get("name")
        if name not in offered:
            return f"the tool call names '{name}', which the request did not offer"
        arguments = function.get("arguments")
        try:
            value = orjson.loads(arguments) if isinstance(arguments, str) else arguments
        except orjson.JSONDecodeError:
            return f"the arguments of '{name}' are not valid JSON"
        if not isinstance(value, dict):
            return f"the arguments of '{name}' are not a JSON object"
        if why := problem(value, offered[name]):
            return f"the arguments of '{name}' do not fit its parameters: {why}"
    return None


def _repetitive(text: str) -> bool:
    words = text.split()
    if len(words) >= 40:
        grams = Counter(zip(words, words[1:], words[2:], words[3:], strict=False))
        if grams.most_common(1)[0][1] * 4 >= len(words) - 3:
            return True
    raw = text.encode()
    return len(raw) >= 300 and len(zlib.compress(raw)) * 10 < len(raw)


def _refuses(text: str) -> bool:
    head = text[:200].lower().replace("\u2019", "'")
    return any(phrase in head for phrase in REFUSAL_PHRASES)
