"""``disable_think``: thinking switched off upstream, and stripped from what comes back.

The switch travels on the upstream body as ``chat_template_kwargs: {"enable_thinking": false}``,
which vLLM, SGLang and llama.cpp apply to the chat template. A provider module that speaks
another wire format reads the same field and translates it (Ollama: ``think: false``). For
Qwen3 models the soft switch ``/no_think`` is also added to the system message, for servers
that do not pass template arguments.

Whatever thinking still comes back is removed: ``<think>…</think>`` blocks in the content (a
block split across stream chunks included) and the ``reasoning_content`` / ``reasoning``
fields.
"""

from __future__ import annotations

import re
from typing import Any

Json = dict[str, Any]

OPEN = "<think>"
CLOSE = "</think>"
# ``thinking_blocks`` / ``thinking_signature``: Anthropic's signed thinking, carried for the
# ``anthropic`` kind (see ``dataplane.messages_wire``).
REASONING_FIELDS = ("reasoning_content", "reasoning", "thinking_blocks", "thinking_signature")
NO_THINK = "/no_think"

_BLOCK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL)


def switch_off(body: Json, models: tuple[str, ...]) -> None:
    """Ask the upstream not to think."""
    given = body.get("chat_template_kwargs")
    kwargs = dict(given) if isinstance(given, dict) else {}
    kwargs["enable_thinking"] = False
    body["chat_template_kwargs"] = kwargs
    if any("qwen3" in ref.lower() for ref in models):
        messages = body["messages"]
        if (
            messages
            and messages[0].get("role") == "system"
            and isinstance(messages[0].get("content"), str)
        ):
            first = messages[0]
            messages[0] = {**first, "content": f"{first['content']}\n{NO_THINK}"}
        else:
            messages.insert(0, {"role": "system", "content": NO_THINK})


def strip_text(text: str) -> str:
    """``text`` without its thinking: whole blocks, an unclosed block at the end, and a
    reasoning prefix whose ``<think>`` was in the prompt (only its ``</think>`` came back)."""
    if CLOSE in text and OPEN not in text.split(CLOSE, 1)[0]:
        text = text.split(CLOSE, 1)[1].lstrip()
    if OPEN in text:
        leading = text.lstrip().startswith(OPEN)
        text = _BLOCK.sub("", text)
        if leading:
            text = text.lstrip()
    return text


def strip_message(message: Json) -> None:
    for field in REASONING_FIELDS:
        message.pop(field, None)
    content = message.get("content")
    if isinstance(content, str):
        message["content"] = strip_text(content)


class StreamStripper:
    """Removes ``<think>…</think>`` from content that arrives in pieces.

    Text that could be the start of a tag is held back until the next piece shows whether it
    is one, so a tag split across chunks is still found; everything else passes at once.
    """

    def __init__(self) -> None:
        self.inside = False
        self.pending = ""
        self.started = False  # visible text has been let through
        self.after_block = False

    def feed(self, piece: str) -> str:
        text = self.pending + piece
        self.pending = ""
        out: list[str] = []
        while text:
            tag = CLOSE if self.inside else OPEN
            at = text.find(tag)
            if at < 0:
                keep = _partial_tag_suffix(text, tag)
                if not self.inside:
                    out.append(text[: len(text) - keep])
                self.pending = text[len(text) - keep :]
                break
            if not self.inside:
                out.append(text[:at])
            text = text[at + len(tag) :]
            self.inside = not self.inside
            self.after_block = self.after_block or not self.inside
        return self._visible("".join(out))

    def _visible(self, text: str) -> str:
        if not self.started:
            if self.after_block or not text.strip():
                text = text.lstrip()
            self.started = bool(text)
        return text

    def flush(self) -> str:
        """What was held back, once the stream has ended (nothing, inside a block)."""
        rest, self.pending = ("" if self.inside else self.pending), ""
        return self._visible(rest)


def _partial_tag_suffix(text: str, tag: str) -> int:
    """Length of the longest end of ``text`` that is a proper beginning of ``tag``."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-n:]):
            return n
    return 0


def strip_chunk(chunk: Json, strippers: dict[int, StreamStripper]) -> bool:
    """Strip one stream chunk in place; False when thinking was all it carried."""
    choices = chunk.get("choices")
    if "usage" in chunk or not isinstance(choices, list) or not choices:
        return True
    emptied = 0
    for choice in choices:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict):
            continue
        had_text = any(delta.pop(f, None) is not None for f in REASONING_FIELDS)
        index = choice.get("index")
        stripper = strippers.setdefault(index if isinstance(index, int) else 0, StreamStripper())
        content = delta.get("content")
        if isinstance(content, str) and content:
            had_text = True
            delta["content"] = stripper.feed(content)
        if choice.get("finish_reason") is not None:
            rest = stripper.flush()
            if rest:
                delta["content"] = (delta.get("content") or "") + rest
            continue
        others = any(k not in ("content", "role") for k in delta)
        if had_text and not delta.get("content") and not others:
            emptied += 1
    return emptied < len(choices)
