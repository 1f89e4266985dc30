"""Wires token counting and chat history into a runtime (called by ``create_app``)."""

from __future__ import annotations

from junction.history.store import ConversationStore
from junction.runtime import Runtime
from junction.tokens.counter import TokenCounter


def install(rt: Runtime) -> None:
    """Load the tokenizer (once per process) and build the history store."""
    rt.tokens = TokenCounter()
    rt.history = ConversationStore(rt.settings, rt.sessions, rt.tokens)
