"""The request pipeline's knowledge step: the question embedded, the assistant's chunks scored
(relevance = cosine x 100), those at least its ``context_score`` taken best first within a
token budget, and written as a context block that names each chunk's file."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from junction.knowledge.embed import EmbeddingFailed
from junction.knowledge.index import Loaded

if TYPE_CHECKING:
    from typing import Any

    import numpy as np

    from junction.core.call import Call
    from junction.knowledge.embed import Vectors
    from junction.runtime import Runtime

    Rows = np.ndarray[Any, np.dtype[np.intp]]
    Scores = np.ndarray[Any, np.dtype[np.float32]]

log = logging.getLogger(__name__)

# Float32 rounding: a perfect match scores 99.99999, which must pass a Context Score of 100.
TOLERANCE = 1e-3
HEADER = (
    "Context from the assistant's knowledge files, most relevant first. Use it to answer "
    "when it is relevant; each passage names the file it comes from."
)
FRAMING_TOKENS = 16  # the "[n] file: ... (relevance ...)" line and spacing of one passage
OFF_LOOP_CHUNKS = 20_000  # larger matrices are scanned in a worker thread
CANDIDATES = 64  # the fewest the approximate index is asked for (then re-scored exactly)


@dataclass(frozen=True)
class Used:
    file: str
    score: float  # relevance, 0-100
    tokens: int
    text: str


@dataclass
class Retrieved:
    block: str = ""
    used: list[Used] = field(default_factory=list)
    error: str | None = None  # why knowledge could not be used (the embedding model failed)
    embed_ms: float | None = None  # the question's embedding call
    scan_ms: float | None = None  # scoring the assistant's chunks
    scanned: int = 0  # chunks scored exactly
    search: str = ""  # "exact" (every chunk scored) or "approximate" (the index's candidates)

    def note(self) -> dict[str, object]:
        """What the request log keeps: the files and scores, not the text."""
        note: dict[str, object] = {
            "chunks": [{"file": u.file, "score": round(u.score, 2)} for u in self.used]
        }
        if self.error:
            note["error"] = self.error
        if self.embed_ms is not None:
            note["embed_ms"] = round(self.embed_ms, 2)
        if self.scan_ms is not None:
            note["scan_ms"] = round(self.scan_ms, 3)
            note["scanned"] = self.scanned
            note["search"] = self.search
        return note


async def retrieve(rt: Runtime, call: Call, question: str, budget_tokens: int) -> Retrieved:
    """Knowledge for ``question``; empty when the assistant has none or nothing is relevant.
    An embedding model that fails leaves the answer without knowledge (``error`` says why)."""
    assistant = call.assistant
    if assistant is None or not assistant.embedding_model or not question.strip():
        return Retrieved()
    loaded = await rt.knowledge.index.get(assistant)
    if loaded is None or loaded.size == 0:
        return Retrieved()
    s = rt.settings
    started = time.perf_counter()
    try:
        vector = await rt.knowledge.embedder.question(call, question, s.knowledge_query_timeout)
    except EmbeddingFailed as exc:
        log.warning("knowledge of assistant %s not used: %s", assistant.name, exc)
        return Retrieved(error=str(exc), embed_ms=(time.perf_counter() - started) * 1000)
    embedded = time.perf_counter()
    args = (loaded, vector[0], assistant.context_score, budget_tokens, s.knowledge_top_k)
    # The approximate index answers on the event loop (about a millisecond); when it has none
    # to give (not built yet, or being updated at this moment), a long exact scan goes to a
    # worker thread, so that it never holds up the other requests.
    found = select_approximate(*args) if loaded.ann is not None else None
    if found is None and loaded.size >= OFF_LOOP_CHUNKS:
        found = await asyncio.to_thread(select, *args)
    elif found is None:
        found = select(*args)
    found.embed_ms = (embedded - started) * 1000
    found.scan_ms = (time.perf_counter() - embedded) * 1000
    return found


def select(
    loaded: Loaded, query: Vectors, context_score: float, budget_tokens: int, top_k: int
) -> Retrieved:
    """The scoring step alone (no I/O): what the benchmark times. The approximate index's
    candidates when it has them to give, else the exact scan."""
    found = _select(loaded, query, context_score, budget_tokens, top_k, exact=True)
    assert found is not None  # the exact scan always answers
    return found


def select_approximate(
    loaded: Loaded, query: Vectors, context_score: float, budget_tokens: int, top_k: int
) -> Retrieved | None:
    """As ``select``, from the approximate index only: None when it has nothing to give."""
    return _select(loaded, query, context_score, budget_tokens, top_k, exact=False)


def _select(
    loaded: Loaded,
    query: Vectors,
    context_score: float,
    budget_tokens: int,
    top_k: int,
    exact: bool,
) -> Retrieved | None:
    import numpy as np

    if loaded.size == 0 or query.shape[0] != loaded.matrix.shape[1]:
        error = None if loaded.size == 0 else "the question's vector size differs from the files'"
        return Retrieved(error=error)
    threshold = context_score - TOLERANCE
    want = top_k * 4  # only the best few can be used: sort just those
    found = _approximate(loaded, query, threshold, want)
    if found is None:
        if not exact:
            return None
        found = _exact(loaded, query, threshold, want)
    used: list[Used] = []
    left = budget_tokens - FRAMING_TOKENS * 2
    for n in np.argsort(-found.scores, kind="stable"):
        i = int(found.rows[n])
        cost = int(loaded.tokens[i]) + FRAMING_TOKENS
        if cost > left:
            continue
        left -= cost
        used.append(
            Used(
                loaded.filenames[int(loaded.file_of[i])],
                min(100.0, float(found.scores[n])),
                int(loaded.tokens[i]),
                loaded.texts[i],
            )
        )
        if len(used) >= top_k:
            break
    return Retrieved(block(used), used, scanned=found.scanned, search=found.search)


@dataclass(frozen=True)
class Candidates:
    rows: Rows  # positions in the loaded matrix, at least the threshold, at most ``want``
    scores: Scores  # their exact relevance
    search: str  # "exact" | "approximate"
    scanned: int  # chunks scored exactly


def _exact(loaded: Loaded, query: Vectors, threshold: float, want: int) -> Candidates:
    import numpy as np

    # einsum: numpy's own SIMD loop, one thread, GIL released. ``matrix @ query`` goes to BLAS,
    # whose threads fight the event loop for the cores (measured 2-40x slower on a busy host).
    scores = np.einsum("ij,j->i", loaded.matrix, query)
    scores *= 100.0
    rows = np.flatnonzero(scores >= threshold)
    if rows.size > want:
        rows = rows[np.argpartition(scores[rows], -want)[-want:]]
    return Candidates(rows, scores[rows], "exact", loaded.size)


def _approximate(loaded: Loaded, query: Vectors, threshold: float, want: int) -> Candidates | None:
    """The approximate index's candidates re-scored exactly, so the scores, the threshold and
    the order are the exact scan's; None when no index is ready to ask."""
    import numpy as np

    ann = loaded.ann
    keys = ann.search(query, max(want * 2, CANDIDATES)) if ann is not None else None
    if keys is None:
        return None
    rows = np.minimum(np.searchsorted(loaded.ids, keys), loaded.size - 1)
    rows = rows[loaded.ids[rows] == keys]  # ids the index holds that these rows do not: none
    scores = np.einsum("ij,j->i", loaded.matrix[rows], query)
    scores *= 100.0
    keep = scores >= threshold
    rows, scores = rows[keep], scores[keep]
    if rows.size > want:
        best = np.argpartition(scores, -want)[-want:]
        rows, scores = rows[best], scores[best]
    return Candidates(rows, scores, "approximate", int(keys.size))


def block(used: list[Used]) -> str:
    if not used:
        return ""
    parts = [HEADER]
    for n, u in enumerate(used, 1):
        parts.append(f'[{n}] file: "{u.file}" (relevance {u.score:.1f})\n{u.text}')
    return "\n\n".join(parts)
