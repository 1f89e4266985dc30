"""Validation errors in words: what a field allows, said for people instead of as a regular
expression or a parser's jargon. Used where request validation becomes the API's 422 (and so
the UI's messages next to its fields)."""

from __future__ import annotations

import re
from typing import Any

# Patterns that are not a simple "first character, then the rest" shape.
_KNOWN = {
    r"^(\d{3}|[1-5]xx|error)$": "a status code such as 404, a class such as 5xx, or 'error'",
}
_SHAPE = re.compile(r"^\^\[([^\]]+)\]\[([^\]]+)\]\{(\d+),(\d+)\}\$$")
_RANGES = {
    "a-z": ("lower-case letters", "a lower-case letter"),
    "A-Z": ("upper-case letters", "an upper-case letter"),
    "0-9": ("digits", "a digit"),
}


def _class_words(chars: str, plural: bool) -> str:
    """``A-Za-z0-9._-`` as "letters, digits, '.', '_' and '-'"."""
    parts: list[str] = []
    rest = chars
    lower, upper = "a-z" in rest, "A-Z" in rest
    if lower and upper:
        parts.append("letters" if plural else "a letter")
        rest = rest.replace("a-z", "").replace("A-Z", "")
    for span, (many, one) in _RANGES.items():
        if span in rest:
            parts.append(many if plural else one)
            rest = rest.replace(span, "")
    if not plural and len(parts) > 1:  # "a letter or a digit" reads as "a letter or digit"
        parts = [parts[0], *(p.removeprefix("a ").removeprefix("an ") for p in parts[1:])]
    parts += [f"'{c}'" for c in rest.replace("\\", "")]
    joiner = " and " if plural else " or "
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + joiner + parts[-1]


def describe_pattern(pattern: str) -> str:
    """What a string matching ``pattern`` looks like, in words."""
    if pattern in _KNOWN:
        return _KNOWN[pattern]
    shape = _SHAPE.match(pattern)
    if not shape:
        return "in the expected form (see the API documentation at /docs)"
    first, rest, low, high = shape.groups()
    return (
        f"{int(low) + 1} to {int(high) + 1} characters: {_class_words(rest, plural=True)}, "
        f"starting with {_class_words(first, plural=False)}"
    )


def error_in_words(error: dict[str, Any]) -> str:
    """One pydantic error's message, for people."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    message = str(error.get("msg", "invalid"))
    if kind == "string_pattern_mismatch" and "pattern" in ctx:
        return f"must be {describe_pattern(str(ctx['pattern']))}"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field this accepts (check its spelling)"
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    return message
