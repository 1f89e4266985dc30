"""An embeddings answer to unit-length float32 vectors (the calls themselves: ``calls``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy loads on first use: a router without knowledge never pays for it
    import numpy as np

    Vectors = np.ndarray[Any, np.dtype[np.float32]]


class EmbeddingFailed(Exception):
    """The embedding model could not embed; the message names the model and the reason."""


def stack(rows: list[Vectors], ref: str) -> Vectors:
    """The batches' rows as one matrix."""
    import numpy as np

    if not rows:
        return np.zeros((0, 0), dtype=np.float32)
    widths = {r.shape[1] for r in rows}
    if len(widths) != 1:
        raise EmbeddingFailed(f"the embedding model '{ref}' answered vectors of varying sizes")
    return np.vstack(rows)


def vectors_of(answer: object, count: int, ref: str) -> Vectors:
    """One normalised row per input, in input order; ``EmbeddingFailed`` if malformed."""
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
