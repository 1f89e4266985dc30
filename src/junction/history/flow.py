"""One chat request's part in token management and chat history.

``ChatTurn.open`` runs in the request pipeline's context step, after the assistant's settings
are applied: it finds the conversation, drops what the client re-sent of it, prepends the
stored history, fits the prompt into the token context window (trimming history
oldest-first, whole turns at a time), and for ``disable_think`` switches thinking off.
``answered`` / ``chunk`` / ``stream_ended`` strip thinking from the answer and store the turn
once the answer is complete.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from junction.config.snapshot import AssistantView, Snapshot
from junction.core.call import Call
from junction.errors import ContextLengthExceeded
from junction.history import identity, thinking
from junction.history.messages import (
    answer_message,
    resent_overlap,
    split_instructions,
    starts_unit,
)
from junction.history.state import ConversationState, Turn
from junction.history.store import ConversationStore
from junction.tokens.counter import (
    REPLY_PRIMING,
    TokenCounter,
    lower_bound,
    tools_upper_bound,
    upper_bound,
)
from junction.tokens.upstream import prompt_tokens
from junction.tokens.window import context_lengths, effective_window, units_to_drop

Json = dict[str, Any]
STORING_MODES = frozenset({"on", "disable_think"})


@dataclass
class ChatTurn:
    store: ConversationStore
    call: Call
    assistant: AssistantView
    state: ConversationState | None = None
    new: list[Json] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    strip: bool = False
    turn_id: str | None = None  # the stored turn's id, when the caller must know it ahead
    _strippers: dict[int, thinking.StreamStripper] = field(default_factory=dict)

    @classmethod
    async def open(
        cls,
        store: ConversationStore,
        counter: TokenCounter,
        snapshot: Snapshot,
        call: Call,
        body: Json,
        conversation_header: str | None,
    ) -> ChatTurn:
        """A chat completion's turn: its conversation found as the assistant's mode says."""
        assert call.assistant is not None and call.workspace is not None and call.key is not None
        assistant, workspace, key = call.assistant, call.workspace, call.key
        state: ConversationState | None = None
        headers: dict[str, str] = {}
        if assistant.chat_history in STORING_MODES:
            conversation = identity.conversation_id(conversation_header, body, assistant.name)
            state = await store.open(
                workspace.id, key.owner_id or key.id, conversation, assistant.name
            )
            call.notes["conversation_id"] = conversation
            headers[identity.HEADER] = identity.header_value(conversation)
        stored = state.turns if state else []
        turn = await cls.begin(store, counter, snapshot, call, body, state, stored)
        turn.headers.update(headers)
        return turn

    @classmethod
    async def begin(
        cls,
        store: ConversationStore,
        counter: TokenCounter,
        snapshot: Snapshot,
        call: Call,
        body: Json,
        state: ConversationState | None,
        stored: list[Turn],
    ) -> ChatTurn:
        """Prepend ``stored`` history to ``body`` (less what the client re-sent), fit the
        window, switch thinking off if asked; the answer will be stored into ``state``."""
        assert call.assistant is not None and call.workspace is not None
        assistant, workspace = call.assistant, call.workspace
        turn = cls(store, call, assistant, state, strip=assistant.chat_history == "disable_think")
        messages: list[Json] = body["messages"]
        head = messages[:1] if _is_own_system_prompt(messages, assistant) else []
        instructions, sent = split_instructions(messages[len(head) :])
        history = list(stored)
        if history:
            prints = [p for t in history for p in t.prints]
            sent = sent[resent_overlap(prints, sent) :]
        if state is not None:
            turn.new = [_stored_form(m, turn.strip) for m in sent]

        completion = body.get("max_completion_tokens") or body.get("max_tokens")
        window = effective_window(
            workspace.token_context_window,
            context_lengths(snapshot, assistant),
            completion if isinstance(completion, int) else None,
        )
        fixed = [*head, *instructions, *sent]
        if window is not None:
            history = await _fit(
                store, counter, snapshot, fixed, sent, body.get("tools"), history, window, call
            )
        body["messages"] = [*head, *instructions, *(m for t in history for m in t.messages), *sent]
        if turn.strip:
            thinking.switch_off(body, (*assistant.model, *assistant.fallbacks))
        return turn

    # -- the answer ----------------------------------------------------------------------------

    def answered(self, answer: Json) -> Turn | None:
        """A complete, non-streamed answer: strip it if asked, and store the turn."""
        choices = answer.get("choices") or []
        if self.strip:
            for choice in choices:
                if isinstance(choice, dict) and isinstance(choice.get("message"), dict):
                    thinking.strip_message(choice["message"])
        if choices and isinstance(choices[0], dict):
            return self._store(answer_message(choices[0].get("message")))
        return None

    def chunk(self, chunk: Json) -> bool:
        """One streamed chunk on its way to the client (changed in place); False when it is to
        be left out."""
        return thinking.strip_chunk(chunk, self._strippers) if self.strip else True

    def stream_ended(self, complete: bool, message: Json) -> None:
        """Store the streamed answer (the stream accumulator's ``message``), unless the stream
        was cut off."""
        if not complete or self.state is None:
            return
        if self.strip:
            message = copy.deepcopy(message)
            thinking.strip_message(message)
        self._store(answer_message(message))

    def _store(self, answer: Json | None) -> Turn | None:
        if self.state is None or answer is None:
            return None
        return self.store.append(
            self.state, [*self.new, answer], self.assistant.name, self.call.request_id, self.turn_id
        )


def _is_own_system_prompt(messages: list[Json], assistant: AssistantView) -> bool:
    return bool(
        assistant.system_prompt
        and messages
        and messages[0].get("role") == "system"
        and messages[0].get("content") == assistant.system_prompt
    )


def _stored_form(message: Json, strip: bool) -> Json:
    """A copy, so that later steps changing the upstream body do not change the history."""
    message = (
        copy.deepcopy(message) if strip and message.get("role") == "assistant" else dict(message)
    )
    if strip and message.get("role") == "assistant":
        thinking.strip_message(message)
    return message


async def _fit(
    store: ConversationStore,
    counter: TokenCounter,
    snapshot: Snapshot,
    fixed: list[Json],
    sent: list[Json],
    tools: object,
    history: list[Turn],
    window: int,
    call: Call,
) -> list[Turn]:
    """The newest history that fits ``window`` beside the fixed part; 400 if that alone won't."""
    bound = upper_bound(fixed) + tools_upper_bound(tools) + REPLY_PRIMING
    if bound + sum(t.bound for t in history) <= window:
        return history  # fits even counted generously: nothing to encode
    if bound + sum(store.tokens(t) for t in history) <= window:
        return history  # stored turns are counted once; the new part still needs no encoding
    assert call.assistant is not None
    least = lower_bound(fixed, tools)
    if least > window:  # refused without encoding: a huge prompt costs no tokenizer time
        raise _exceeded(least, window, "system prompt and new messages", at_least=True)
    needed = await prompt_tokens(counter, snapshot, call.assistant, fixed, tools)
    if needed > window:
        raise _exceeded(needed, window, "system prompt and new messages")
    units: list[list[Turn]] = []
    for turn in history:
        if turn.opens_unit or not units:
            units.append([turn])
        else:
            units[-1].append(turn)
    if units and not starts_unit(sent):
        # New tool results answer the calls of the latest unit: it goes whole or not at all.
        pinned = units.pop()
        needed += sum(store.tokens(t) for t in pinned)
        if needed > window:
            raise _exceeded(
                needed, window, "system prompt, new messages and the tool calls they answer"
            )
    else:
        pinned = []
    sizes = [sum(store.tokens(t) for t in unit) for unit in units]
    dropped = units_to_drop(needed, sizes, window)
    if dropped:
        call.notes["history_trimmed_turns"] = sum(len(u) for u in units[:dropped])
    return [t for unit in units[dropped:] for t in unit] + pinned


def _exceeded(
    needed: int, window: int, what: str, *, at_least: bool = False
) -> ContextLengthExceeded:
    size = f"at least {needed}" if at_least else str(needed)
    return ContextLengthExceeded(
        f"This request's prompt is {size} tokens ({what}), more than the context window "
        f"of {window} tokens for this assistant. Shorten the messages.",
        param="messages",
    )
