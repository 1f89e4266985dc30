"""Knowledge's embedding calls, each one a data-plane call of its own.

An ingestion batch and a question's embedding go through what ``/v1/embeddings`` goes through:
the router (retries, pools, health and cooldown of the embedding model's deployment), the
provider client, metering (the upstream's usage, else the router's own count), and
``Runtime.finish``, which hands the ``Call`` to the request log (with its cost and the hourly
rollups), the monthly budget, the per-minute token limits, metrics, the access log and spans.

Each is logged with ``endpoint = "knowledge"`` under the assistant's workspace and name, and
``details.knowledge`` says what it embedded: ``{"embedding": "question", "for":
<request id>}`` (carrying the caller's key) or ``{"embedding": "ingestion", "file": ...,
"file_id": ..., "batch": n, "batches": m}`` (no key: an operator's upload).

Limits: a question's embedding is part of a request already admitted, so it is not refused;
its tokens are charged to the key's and workspace's tokens-per-minute windows and the budget.
An ingestion batch is checked against the workspace's monthly budget first (a spent budget
stops ingestion; the file is tried again later, then fails with the reason), counts toward it,
and leaves the per-minute windows to the workspace's clients.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from junction.accounting.content import capture_request
from junction.accounting.metering import meter
from junction.config.snapshot import AssistantView, KeyView
from junction.core.call import Call, new_request_id, note_failed_routing
from junction.errors import JunctionError, UpstreamMalformed, UpstreamTimeout
from junction.knowledge.embed import EmbeddingFailed, stack, vectors_of
from junction.ratelimit.limiter import NOTE, Admission, rules_for
from junction.routing.resolve import Deployment
from junction.routing.router import note_fallbacks

if TYPE_CHECKING:
    from junction.core.types import Json
    from junction.knowledge.embed import Vectors
    from junction.runtime import Runtime

ENDPOINT = "knowledge"


class Embedder:
    def __init__(self, rt: Runtime) -> None:
        self._rt = rt

    async def question(self, parent: Call, text: str, seconds: float) -> Vectors:
        """The question of ``parent`` (an admitted request) as one unit vector."""
        assistant = parent.assistant
        assert assistant is not None and assistant.embedding_model
        note: Json = {"embedding": "question", "for": parent.request_id}
        call = self._call(assistant, parent.key, note)
        call.traceparent = parent.traceparent
        # Already admitted with the request: only its tokens are settled on the token limits.
        tokens = tuple(r for r in rules_for(call) if r.kind == "tokens")
        if tokens:
            call.notes[NOTE] = Admission(tokens, 0)
        return await self._send(call, assistant.embedding_model, [text], seconds)

    async def ingestion(
        self,
        assistant: AssistantView,
        ref: str,
        texts: Sequence[str],
        about: dict[str, object],
        batch: int,
        seconds: float,
    ) -> Vectors:
        """``texts`` of a file in batches of ``batch``, one logged call each; ``about`` names
        the file in each call's ``details.knowledge``."""
        rows: list[Vectors] = []
        batches = (len(texts) + batch - 1) // batch
        for n, start in enumerate(range(0, len(texts), batch), 1):
            call = self._call(
                assistant, None, {"embedding": "ingestion", **about, "batch": n, "batches": batches}
            )
            try:
                self._rt.check(call)  # the workspace's monthly budget
            except JunctionError as exc:
                self._refused(call, exc)
                raise EmbeddingFailed(exc.message) from None
            rows.append(await self._send(call, ref, texts[start : start + batch], seconds))
        return stack(rows, ref)

    def _call(self, assistant: AssistantView, key: KeyView | None, note: Json) -> Call:
        call = Call(new_request_id(), ENDPOINT)
        call.workspace = self._rt.catalog.snapshot.workspaces.get(assistant.workspace_id)
        call.assistant, call.key = assistant, key
        call.notes["knowledge"] = note
        return call

    def _refused(self, call: Call, error: JunctionError) -> None:
        call.status = error.status_code
        call.record_error(error)
        note_failed_routing(call)
        self._rt.finish(call)

    async def _send(self, call: Call, ref: str, texts: Sequence[str], seconds: float) -> Vectors:
        rt = self._rt
        snapshot = rt.catalog.snapshot
        provider_name, _, model = ref.partition("/")
        if provider_name not in snapshot.providers:
            raise EmbeddingFailed(f"the embedding model '{ref}' names no configured provider")
        body: Json = {"model": model, "input": list(texts), "encoding_format": "float"}
        if call.workspace is not None and call.workspace.log_content:
            capture_request(call, body, rt.settings.log_content_max_bytes)
        # The router serves an assistant's models: here the embedding model alone, so its
        # deployment gets the retries, health and cooldown an assistant's model gets.
        assert call.assistant is not None
        alone = dataclasses.replace(call.assistant.settings, model=(ref,), fallbacks=())
        target = call.assistant._replace(settings=alone)

        async def attempt(deployment: Deployment) -> object:
            return await deployment.provider.client.embeddings({**body, "model": deployment.model})

        try:
            async with asyncio.timeout(seconds):
                answer, outcome = await rt.router.call(snapshot, target, attempt, notes=call.notes)
        except TimeoutError:
            self._refused(call, UpstreamTimeout(f"no answer within {seconds:g} s"))
            raise EmbeddingFailed(
                f"the embedding model '{ref}' did not answer within {seconds:g} s"
            ) from None
        except JunctionError as exc:
            self._refused(call, exc)
            reason = exc.operator_message
            last = rt.router.health.state(ref).last_error  # why it is cooling down, if it is
            if last and last not in reason:
                reason = f"{reason} Last error: {last}"
            raise EmbeddingFailed(f"the embedding model '{ref}' failed: {reason}") from None
        call.deployment, call.attempts = outcome.deployment.ref, outcome.attempts
        note_fallbacks(call, outcome)
        try:
            vectors = vectors_of(answer, len(texts), ref)
        except EmbeddingFailed as exc:
            self._refused(call, UpstreamMalformed(str(exc)))
            raise
        usage = answer.get("usage") if isinstance(answer, dict) else None
        if isinstance(usage, dict):
            call.record_usage({**usage, "completion_tokens": 0})
        await meter(rt.tokens, call, "embedding", body, ())
        rt.finish(call)
        return vectors
