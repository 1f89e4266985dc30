"""Texts to unit-length float32 vectors through the embedding model's provider: the same
provider clients (pooled sessions, timeouts, error mapping) that serve ``/v1/embeddings``."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from junction.config.snapshot import Snapshot
from junction.errors import JunctionError

if TYPE_CHECKING:  # numpy loads on first use: a router without knowledge never pays for it
    import numpy as np

    Vectors = np.ndarray[Any, np.dtype[np.float32]]


class EmbeddingFailed(Exception):
    """The embedding model could not embed; the message names the model and the reason."""


async def embed(
    snapshot: Snapshot, ref: str, texts: Sequence[str], batch: int, seconds: float
) -> Vectors:
    """One row per text, normalised so that a dot product is the cosine."""
    import numpy as np

    provider_name, _, model = ref.partition("/")
    runtime = snapshot.providers.get(provider_name)
    if runtime is None:
        raise EmbeddingFailed(f"the embedding model '{ref}' names no configured provider")
    rows: list[Vectors] = []
    for start in range(0, len(texts), batch):
        part = list(texts[start : start + batch])
        body = {"model": model, "input": part, "encoding_format": "float"}
        try:
            async with asyncio.timeout(seconds):
                answer = await runtime.client.embeddings(body)
        except JunctionError as exc:
            raise EmbeddingFailed(
                f"the embedding model '{ref}' failed: {exc.operator_message}"
            ) from None
        except TimeoutError:
            raise EmbeddingFailed(
                f"the embedding model '{ref}' did not answer within {seconds:g} s"
            ) from None
        rows.append(_vectors(answer, len(part), ref))
    if not rows:
        return np.zeros((0, 0), dtype=np.float32)
    widths = {r.shape[1] for r in rows}
    if len(widths) != 1:
        raise EmbeddingFailed(f"the embedding model '{ref}' answered vectors of varying sizes")
    return np.vstack(rows)


def _vectors(answer: object, count: int, ref: str) -> Vectors:
    import numpy as np

    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, list) or len(data) != count:
        raise EmbeddingFailed(
            f"the embedding model '{ref}' answered {len(data) if isinstance(data, list) else 0} "
            f"embeddings for {count} texts"
        )
    ordered = sorted(data, key=lambda d: d.get("index", 0) if isinstance(d, dict) else 0)
    try:
        matrix = np.asarray([d["embedding"] for d in ordered], dtype=np.float32)
    except (KeyError, TypeError, ValueError):
        raise EmbeddingFailed(f"the embedding model '{ref}' answered malformed vectors") from None
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise EmbeddingFailed(f"the embedding model '{ref}' answered malformed vectors")
    return normalize(matrix)


def normalize(matrix: Vectors) -> Vectors:
    import numpy as np

    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: Vectors = (matrix / norms).astype(np.float32, copy=False)
    return out
