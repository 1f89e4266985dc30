"""The ``context_length_exceeded`` message: what fills the window, and what would make room.

A prompt that does not fit is refused with its parts counted one by one (system prompt,
knowledge, history, tools, new messages), the largest tool definitions named, and the changes
open to the caller (shorter messages, fewer tools, a smaller completion) and to the operator
(a larger ``token_context_window``, a model with a longer context, a shorter system prompt).
Only refused requests get here, so counting the parts costs nothing on the normal path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from junction.errors import ContextLengthExceeded
from junction.tokens.counter import REPLY_PRIMING, TokenCounter, lower_bound

Json = dict[str, Any]
TOOLS_NAMED = 10  # the largest tool definitions named in the message; the rest summed


@dataclass(frozen=True)
class PromptParts:
    """A prompt's token count by part. ``knowledge`` is the retrieved knowledge inside the
    system prompt (counted apart from it); ``new`` includes the reply priming."""

    system: int
    knowledge: int
    history: int
    tools: int
    new: int
    tool_sizes: tuple[tuple[str, int], ...] = ()  # (name, tokens), largest first

    @property
    def total(self) -> int:
        return self.system + self.knowledge + self.history + self.tools + self.new


def count_parts(
    counter: TokenCounter | None,
    system: Sequence[Json],
    new: Sequence[Json],
    tools: object,
    history: int = 0,
    knowledge: int = 0,
) -> PromptParts:
    """The parts counted in process (``knowledge`` tokens are taken out of ``system``'s);
    without a ``counter``, lower bounds from byte lengths (nothing is encoded). Leaves the
    counter's memo alone, so it may run in a worker thread."""

    def messages(found: Sequence[Json]) -> int:
        if counter is None:
            return lower_bound(found) - REPLY_PRIMING
        return counter.plain_prompt(found) - REPLY_PRIMING

    def tool_tokens(tool: object) -> int:
        if counter is None:
            return lower_bound((), [tool]) - REPLY_PRIMING
        return counter.plain_prompt((), [tool]) - REPLY_PRIMING

    sizes = [(_tool_name(t), tool_tokens(t)) for t in (tools if isinstance(tools, list) else ())]
    sizes.sort(key=lambda s: -s[1])
    return PromptParts(
        system=max(0, messages(system) - knowledge),
        knowledge=knowledge,
        history=history,
        tools=sum(n for _, n in sizes),
        new=messages(new) + REPLY_PRIMING,
        tool_sizes=tuple(sizes),
    )


def _tool_name(tool: object) -> str:
    if isinstance(tool, dict):
        function = tool.get("function")
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            return str(function["name"])
        if isinstance(tool.get("name"), str):
            return str(tool["name"])
    return "(unnamed)"


@dataclass(frozen=True)
class WindowSource:
    """Where the window came from, for saying what the operator can change."""

    assistant: str
    setting: str | None  # the workspace's token_context_window
    model_context: int | None  # the shortest context length of the assistant's models
    completion: int | None  # the completion the request asks for (when it sizes the window)


def exceeded(
    needed: int, window: int, parts: PromptParts, source: WindowSource, *, at_least: bool = False
) -> ContextLengthExceeded:
    """The error; ``at_least``: ``needed`` and the parts are lower bounds (a prompt so large
    that it was refused without being encoded)."""
    size, made = (f"at least {needed}", " at least") if at_least else (str(needed), "")
    lines = [
        f"This request's prompt is {size} tokens, more than the context window of "
        f"{window} tokens for assistant '{source.assistant}'.",
        f"It is made of{made}: system prompt {parts.system}, "
        f"knowledge {parts.knowledge}, "
        f"history {parts.history}, tools {parts.tools}{_tools_detail(parts)}, "
        f"new messages {parts.new} tokens"
        + ("" if parts.total == needed else " (the parts as counted by the router)")
        + ".",
        "The caller can: " + "; ".join(_caller_options(parts, source)) + ".",
        "The operator can: " + "; ".join(_operator_options(parts, source)) + ".",
    ]
    return ContextLengthExceeded(
        " ".join(lines), param="tools" if _tools_lead(parts) else "messages"
    )


def _tools_detail(parts: PromptParts) -> str:
    if not parts.tool_sizes:
        return ""
    named = ", ".join(f"{name} {n}" for name, n in parts.tool_sizes[:TOOLS_NAMED])
    rest = parts.tool_sizes[TOOLS_NAMED:]
    more = f", and {len(rest)} more: {sum(n for _, n in rest)}" if rest else ""
    return f" ({len(parts.tool_sizes)} tool definitions: {named}{more})"


def _tools_lead(parts: PromptParts) -> bool:
    return parts.tools > max(parts.system, parts.history, parts.new, parts.knowledge)


def _caller_options(parts: PromptParts, source: WindowSource) -> list[str]:
    options = []
    if parts.tools:
        options.append("send fewer or shorter tool definitions, or none")
    options.append("shorten the new messages or send fewer of them")
    if source.setting is None and source.completion:
        options.append(
            f"ask for a smaller completion (max_tokens {source.completion} is set aside "
            "from the model's context)"
        )
    return options


def _operator_options(parts: PromptParts, source: WindowSource) -> list[str]:
    options = []
    if source.setting is not None:
        context = (
            f"; the model's context is {source.model_context} tokens"
            if source.model_context
            else ""
        )
        options.append(
            f"raise the workspace's token_context_window (now {source.setting}{context})"
        )
    options.append("serve the assistant from a model with a longer context")
    if parts.system * 4 > parts.total:  # a quarter of the prompt or more
        options.append("shorten the assistant's system prompt")
    if parts.knowledge:
        options.append("raise the assistant's context_score so that less knowledge is added")
    return options
