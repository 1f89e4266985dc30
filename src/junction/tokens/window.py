"""The token context window: how large a prompt the router sends for an assistant.

A workspace's ``token_context_window`` is an absolute count (``"4096"``) or a share of the
backing model's context length (``"40%"``). An assistant can be served by several models (its
pool and fallbacks): the window is the smallest that fits every one whose length is known, so
that whichever serves, the prompt fits. With no window set, the window is the model's whole
context length less the completion the request may ask for.
"""

from __future__ import annotations

from collections.abc import Sequence

from junction.config.snapshot import AssistantView, Snapshot
from junction.routing.resolve import model_info


def context_lengths(snapshot: Snapshot, assistant: AssistantView) -> list[int]:
    lengths = []
    for ref in (*assistant.model, *assistant.fallbacks):
        info = model_info(snapshot, ref)
        if info is not None and info.context_length:
            lengths.append(info.context_length)
    return lengths


def effective_window(
    setting: str | None, lengths: Sequence[int], completion: int | None
) -> int | None:
    """The largest prompt in tokens, or None when nothing limits it."""
    if setting is not None and not setting.endswith("%"):
        return int(setting)
    if not lengths:
        return None  # a percentage needs a known length (refused at configuration time)
    shortest = min(lengths)
    if setting is not None:
        return max(1, int(shortest * float(setting[:-1]) / 100))
    return max(1, shortest - (completion or 0))


def units_to_drop(fixed: int, units: Sequence[int], window: int) -> int:
    """How many of the oldest history ``units`` (their token counts, oldest first) to leave out
    so that ``fixed`` (system prompt and new messages) plus the rest fits ``window``."""
    total = fixed + sum(units)
    dropped = 0
    while total > window and dropped < len(units):
        total -= units[dropped]
        dropped += 1
    return dropped
