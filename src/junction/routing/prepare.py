"""Applies an assistant's and its workspace's settings to a chat request body, in place.

Each step touches only the fields it owns; everything else the client sent goes upstream as is.
"""

from __future__ import annotations

from typing import Any

from junction.config.snapshot import AssistantView, WorkspaceView

Json = dict[str, Any]

_LENGTH_FIELDS = ("max_tokens", "max_completion_tokens")


def apply_system_prompt(body: Json, assistant: AssistantView) -> None:
    """The assistant's system prompt goes first; a client's own system message stays after it."""
    if assistant.system_prompt:
        body["messages"] = [
            {"role": "system", "content": assistant.system_prompt},
            *body["messages"],
        ]


def apply_temperature(body: Json, assistant: AssistantView) -> None:
    if assistant.temperature is not None and body.get("temperature") is None:
        body["temperature"] = assistant.temperature


def completion_cap(assistant: AssistantView, workspace: WorkspaceView) -> int | None:
    return assistant.max_tokens or workspace.max_tokens


def clamp_max_tokens(body: Json, cap: int | None) -> None:
    """Requests may ask for at most ``cap`` tokens; those that do not ask get ``cap``."""
    if cap is None:
        return
    asked = False
    for name in _LENGTH_FIELDS:
        value = body.get(name)
        if value is not None:
            asked = True
            if value > cap:
                body[name] = cap
    if not asked:
        body["max_tokens"] = cap


def prepare_chat(body: Json, assistant: AssistantView, workspace: WorkspaceView) -> None:
    apply_system_prompt(body, assistant)
    apply_temperature(body, assistant)
    clamp_max_tokens(body, completion_cap(assistant, workspace))
