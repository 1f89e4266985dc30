"""The working state of one request while the pipeline carries it.

``Call`` (``junction.core.call``) is the record: what observers log, meter and count once the
request is over. ``Exchange`` holds the rest that only the steps need: the body as the client
sent it, the internal body that goes upstream, the conversation turn, the response headers
gathered on the way, and a place for a front door's own state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from junction.config.snapshot import AssistantView, KeyView, Snapshot, WorkspaceView
from junction.core.call import Call
from junction.core.types import Json
from junction.history.flow import ChatTurn
from junction.runtime import Runtime

if TYPE_CHECKING:
    from starlette.requests import Request

    from junction.pipeline.door import FrontDoor


@dataclass
class Exchange:
    rt: Runtime
    door: FrontDoor
    call: Call
    request: Request
    snapshot: Snapshot
    wire: Json = field(default_factory=dict)  # the body in the front door's wire format
    body: Json = field(default_factory=dict)  # the internal (chat-completions) form sent upstream
    turn: ChatTurn | None = None
    headers: dict[str, str] = field(default_factory=dict)  # added to the answer
    prompt_tokens: int | None = None  # the exact prompt count, when a step made one
    state: dict[str, Any] = field(default_factory=dict)  # the front door's own

    @property
    def stream(self) -> bool:
        return self.call.stream

    @property
    def key(self) -> KeyView:
        assert self.call.key is not None
        return self.call.key

    @property
    def workspace(self) -> WorkspaceView:
        assert self.call.workspace is not None
        return self.call.workspace

    @property
    def assistant(self) -> AssistantView:
        assert self.call.assistant is not None
        return self.call.assistant
