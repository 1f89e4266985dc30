"""Credential-like text removed from what an upstream says, before anyone stores or shows it.

Upstream text (error bodies, stream error events, transport errors) is operator data: it goes
to the request log and the admin views, and — for an upstream 400/404/413/422 about the
request itself — to the caller. Either way it passes through ``redact`` first, which replaces
what looks like a credential with ``[redacted]``: bearer tokens, ``sk-``/``pk-``-style API
keys, Junction's own ``ja-``/``jk-`` keys, AWS access key ids, JWTs, GitHub and Slack tokens,
Google API keys, the password part of URLs, and the value of any ``name=value`` or
``"name": "value"`` pair whose name speaks of a key, secret, token, password or credential.
Values the router knows to be secret (the provider's own key and header values) are removed
wherever they appear.

Every pattern is anchored or bounded, so the cost is linear in the text: it runs on what a
hostile upstream chose to send.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "[redacted]"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer|basic|token)(\s+)[A-Za-z0-9._~+/=-]{6,}"), r"\1\2" + MASK),
    (
        re.compile(
            r"(?i)(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]{0,40}?(?:api[_-]?key|secret|token(?!s)"
            r"|passw(?:or)?d|pwd|credential|access[_-]?key|authorization|auth)[A-Za-z0-9_.-]{0,40}"
            r"[\"']?\s*[:=]\s*[\"']?)(?!\[redacted\])([^\s\"'&,;}<>]{3,})"
        ),
        r"\1" + MASK,
    ),
    (re.compile(r"\b(?:sk|pk|rk|ja|jk)-[A-Za-z0-9_-]{8,}"), MASK),
    (re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{16}\b"), MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"), MASK),
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|xox[abposr]-[A-Za-z0-9-]{10,})"), MASK),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{30,}"), MASK),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), r"\1" + MASK + "@"),
)


def redact(text: str, known: Iterable[str | None] = ()) -> str:
    """``text`` with every credential-like part replaced by ``[redacted]``."""
    for secret in known:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
