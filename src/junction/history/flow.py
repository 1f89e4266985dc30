"""One chat request's part in token management and chat history.

``ChatTurn.open`` runs in the request pipeline's context step, after the assistant's settings
are applied: it finds the conversation (when chat history is on), drops what the client
re-sent of it, prepends the stored history, fits the prompt into the token context window
(trimming history oldest-first, whole turns at a time; a prompt that cannot fit is refused
with what fills it, ``tokens.explain``), and for an assistant with ``disable_think`` switches
thinking off, with or without history. ``answered`` / ``chunk`` / ``stream_ended`` strip
thinking from the answer, keep the stream's first chunk carrying ``role``, and store the turn
once the answer is complete.
"""

from __future__ import annotations

import asyncio
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
    OFFLOAD_BYTES,
    REPLY_PRIMING,
    TokenCounter,
    lower_bound,
    tools_upper_bound,
    upper_bound,
)
from junction.tokens.explain import WindowSource, count_parts, exceeded
from junction.tokens.upstream import prompt_tokens
from junction.tokens.window import context_lengths, effective_window, units_to_drop

Json = dict[str, Any]
STORING_MODES = frozenset({"on", "disable_think"})  # "disable_think": rows not yet migrated


def thinks_off(assistant: AssistantView) -> bool:
    """Thinking switched off and stripped: the assistant's own switch (or the old mode)."""
    return assistant.disable_think or assistant.chat_history == "disable_think"


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
    stored: Turn | None = None  # the turn, once stored
    # A Responses turn keeps the Response object returned and the request's input items.
    response: Json | None = None
    input_items: list[Json] | None = None
    _strippers: dict[int, thinking.StreamStripper] = field(default_factory=dict)
    _role_given: bool = False  # a chunk with choices (so with the role) was delivered

    @classmethod
    async def open(
        cls,
        store: ConversationStore,
        counter: TokenCounter,
        snapshot: Snapshot,
        call: Call,
        body: Json,
        conversation_header: str | None,
        knowledge_tokens: int = 0,
    ) -> ChatTurn:
        """A chat completion's turn: its conversation found as the assistant's mode says.
        ``knowledge_tokens``: retrieved knowledge already in the system prompt (named apart
        when the prompt does not fit)."""
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
        turn = await cls.begin(
            store, counter, snapshot, call, body, state, stored, knowledge_tokens
        )
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
        knowledge_tokens: int = 0,
    ) -> ChatTurn:
        """Prepend ``stored`` history to ``body`` (less what the client re-sent), fit the
        window, switch thinking off if asked; the answer will be stored into ``state``."""
        assert call.assistant is not None and call.workspace is not None
        assistant, workspace = call.assistant, call.workspace
        turn = cls(store, call, assistant, state, strip=thinks_off(assistant))
        messages: list[Json] = body["messages"]
        head = messages[:1] if _is_own_system_prompt(messages, assistant) else []
        instructions, sent = split_instructions(messages[len(head) :])
        history = list(stored)
        if history:
            prints = [p for t in history for p in t.prints]
            sent = sent[resent_overlap(prints, sent) :]
        if state is not None:
            turn.new = [_stored_form(m, turn.strip) for m in sent]

        asked = body.get("max_completion_tokens") or body.get("max_tokens")
        completion = asked if isinstance(asked, int) else None
        lengths = context_lengths(snapshot, assistant)
        window = effective_window(workspace.token_context_window, lengths, completion)
        if window is not None and (
            history or not _fits_unencoded(head, instructions, sent, body, window)
        ):
            prompt = _Prompt(
                [*head, *instructions],
                sent,
                body.get("tools"),
                knowledge_tokens,
                WindowSource(
                    assistant.name,
                    workspace.token_context_window,
                    min(lengths) if lengths else None,
                    completion,
                ),
            )
            history = await _fit(store, counter, snapshot, prompt, history, window, call)
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
        if self.state is None:  # nothing to store into
            return self.stored
        if choices and isinstance(choices[0], dict):
            return self._store(answer_message(choices[0].get("message")))
        return None

    def chunk(self, chunk: Json) -> bool:
        """One streamed chunk on its way to the client (changed in place); False when it is to
        be left out. The first chunk delivered with choices carries ``role``, even when the
        upstream's first chunk (which had it) carried only thinking and was left out."""
        if self.strip and not thinking.strip_chunk(chunk, self._strippers):
            return False
        if not self._role_given and chunk.get("choices"):
            self._role_given = True
            for choice in chunk["choices"]:
                if isinstance(choice, dict) and isinstance(choice.get("delta"), dict):
                    choice["delta"].setdefault("role", "assistant")
        return True

    def stream_ended(self, complete: bool, message: Json) -> None:
        """Store the streamed answer (the stream accumulator's ``message``), unless the stream
        was cut off."""
        if not complete or self.state is None:
            return
        if self.strip:
            message = copy.deepcopy(message)
            thinking.strip_message(message)
        self._store(answer_message(message))

    def keep_response(self, response: Json, input_items: list[Json]) -> None:
        """Keep ``response`` (and its input items) with the stored turn, whether it is stored
        already (an answer) or will be when the stream ends."""
        self.response, self.input_items = response, input_items
        if self.stored is not None:
            self.stored.response, self.stored.input_items = response, input_items

    def _store(self, answer: Json | None) -> Turn | None:
        if self.stored is not None:  # once only (a door may store a streamed turn early)
            return self.stored
        if self.state is None or answer is None:
            return None
        self.stored = self.store.append(
            self.state, [*self.new, answer], self.assistant.name, self.call.request_id, self.turn_id
        )
        self.stored.response, self.stored.input_items = self.response, self.input_items
        return self.stored


def _fits_unencoded(
    head: list[Json], instructions: list[Json], sent: list[Json], body: Json, window: int
) -> bool:
    """A prompt without history that fits the window even counted generously (``_fit``'s
    first test): nothing to fit, nothing to encode."""
    tools = body.get("tools")
    bound = upper_bound(head) + upper_bound(instructions) + upper_bound(sent) + REPLY_PRIMING
    return bound + tools_upper_bound(tools) <= window


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


@dataclass(frozen=True)
class _Prompt:
    """The part of a prompt that history is fitted beside."""

    system: list[Json]  # the assistant's system prompt and the client's instructions
    sent: list[Json]  # the new messages
    tools: object
    knowledge: int  # tokens of retrieved knowledge inside ``system``
    source: WindowSource


async def _fit(
    store: ConversationStore,
    counter: TokenCounter,
    snapshot: Snapshot,
    prompt: _Prompt,
    history: list[Turn],
    window: int,
    call: Call,
) -> list[Turn]:
    """The newest history that fits ``window`` beside the fixed part; 400 if that alone won't."""
    fixed, tools = [*prompt.system, *prompt.sent], prompt.tools
    bound = upper_bound(fixed) + tools_upper_bound(tools) + REPLY_PRIMING
    if bound + sum(t.bound for t in history) <= window:
        return history  # fits even counted generously: nothing to encode
    if bound + sum(store.tokens(t) for t in history) <= window:
        return history  # stored turns are counted once; the new part still needs no encoding
    assert call.assistant is not None
    least = lower_bound(fixed, tools)
    if least > window:  # refused without encoding: a huge prompt costs no tokenizer time
        raise await _exceeded(None, prompt, least, window, 0, at_least=True)
    needed = await prompt_tokens(counter, snapshot, call.assistant, fixed, tools)
    if needed > window:
        raise await _exceeded(counter, prompt, needed, window, 0)
    units: list[list[Turn]] = []
    for turn in history:
        if turn.opens_unit or not units:
            units.append([turn])
        else:
            units[-1].append(turn)
    if units and not starts_unit(prompt.sent):
        # New tool results answer the calls of the latest unit: it goes whole or not at all.
        pinned = units.pop()
        kept = sum(store.tokens(t) for t in pinned)
        needed += kept
        if needed > window:
            raise await _exceeded(counter, prompt, needed, window, kept)
    else:
        pinned = []
    sizes = [sum(store.tokens(t) for t in unit) for unit in units]
    dropped = units_to_drop(needed, sizes, window)
    if dropped:
        call.notes["history_trimmed_turns"] = sum(len(u) for u in units[:dropped])
    return [t for unit in units[dropped:] for t in unit] + pinned


async def _exceeded(
    counter: TokenCounter | None,
    prompt: _Prompt,
    needed: int,
    window: int,
    history: int,
    *,
    at_least: bool = False,
) -> ContextLengthExceeded:
    """``history``: the stored turns that cannot be left out (the tool calls that the new
    tool results answer); all other history would have been trimmed. Without a ``counter``
    (``at_least``) the parts are lower bounds: nothing is encoded. A large prompt's parts are
    counted off the event loop, as its total was."""
    args = (counter, prompt.system, prompt.sent, prompt.tools, history, prompt.knowledge)
    size = upper_bound([*prompt.system, *prompt.sent]) + tools_upper_bound(prompt.tools)
    if counter is not None and size > OFFLOAD_BYTES:
        parts = await asyncio.to_thread(count_parts, *args)
    else:
        parts = count_parts(*args)
    return exceeded(needed, window, parts, prompt.source, at_least=at_least)
