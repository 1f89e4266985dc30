"""A cheap guess of a prompt's tokens, made before the request goes upstream.

It is charged against tokens-per-minute limits when the request starts and corrected by the
real usage when it ends, so it only has to be cheap and rarely above the truth: about four
characters of message text per token, plus a few tokens of framing per message. Swap this one
function for a real tokenizer when one is available.
"""

from __future__ import annotations

from typing import Any

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 3


def _text_length(content: object) -> int:
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):  # content parts: count the text ones
        return sum(
            len(part["text"])
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return 0


def estimate_prompt_tokens(body: dict[str, Any]) -> int:
    """Tokens a chat request's ``messages`` (or an embeddings request's ``input``) will cost."""
    messages = body.get("messages")
    if isinstance(messages, list):
        chars = sum(_text_length(m.get("content")) for m in messages if isinstance(m, dict))
        return chars // CHARS_PER_TOKEN + TOKENS_PER_MESSAGE * len(messages)
    given = body.get("input")
    if isinstance(given, str):
        return len(given) // CHARS_PER_TOKEN
    if isinstance(given, list):
        return sum(len(x) // CHARS_PER_TOKEN if isinstance(x, str) else 1 for x in given)
    return 0
