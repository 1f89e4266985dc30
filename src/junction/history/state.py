"""A conversation as the history store holds it in memory: its turns, oldest first."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from junction.history.messages import Fingerprint, fingerprint, starts_unit
from junction.tokens.counter import upper_bound

Json = dict[str, Any]


@dataclass
class Turn:
    id: str
    seq: int
    messages: list[Json]
    assistant: str
    request_id: str
    created_at: datetime
    tokens: int | None = None
    prints: tuple[Fingerprint, ...] = ()
    opens_unit: bool = True
    bound: int = 0  # at least ``tokens``, known without encoding
    response: Json | None = None  # the Response object, for a turn made by /v1/responses
    input_items: list[Json] | None = None  # that request's input items

    def __post_init__(self) -> None:
        self.prints = tuple(fingerprint(m) for m in self.messages)
        self.opens_unit = starts_unit(self.messages)
        self.bound = upper_bound(self.messages)


@dataclass
class ConversationState:
    id: str
    workspace_id: str
    owner_key_id: str
    external_id: str
    assistant: str
    created_at: datetime
    updated_at: datetime
    turns: list[Turn] = field(default_factory=list)
    loaded_at: float = field(default_factory=time.monotonic)
    unwritten: int = 0

    def messages(self) -> list[Json]:
        return [m for t in self.turns for m in t.messages]

    def prints(self) -> list[Fingerprint]:
        return [p for t in self.turns for p in t.prints]
