"""An approximate nearest-neighbour index over one large assistant's chunks (HNSW, ``usearch``).

The exact scan reads the whole float32 matrix for every question: 154 MB at 100,000 chunks of
384 dimensions, bound by memory bandwidth. The graph visits a few thousand vectors instead. It
only proposes candidates: ``retrieve.select`` re-scores them exactly on the float32 matrix, so
scores, the Context Score filter, the order and the token budget are those of the exact scan,
and a chunk is missed only when the graph fails to propose it (recall: ``bench``, tests).

Vectors are held as int8 (usearch quantises them: 384 bytes a chunk at 384 dimensions, plus
the graph) and compared with the CPU's int8 dot products. Measured at 20,000 chunks on a busy
2-core machine (load 11-15): built in 7-11 s against 40 s as float16 and 86 s as float32, with
the same recall after the exact re-score. Keys are the chunks' database ids, so files added
or deleted update the graph in place rather than rebuilding it.

Built and updated in the index's one builder thread (``index.KnowledgeIndex``), in batches (a
router that stops waits for one batch, not a whole build); usearch releases the GIL while it
works. A search that finds the index being updated gets None, and the caller scans exactly:
nothing ever waits for the index.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from junction.knowledge.embed import Vectors
    from junction.knowledge.index import Loaded

    Ids = np.ndarray[Any, np.dtype[np.int64]]

CONNECTIVITY = 16  # HNSW's M: edges per node
EXPANSION_ADD = 128  # efConstruction
# ef: candidates a search keeps while walking the graph. Measured at 100,000 chunks: 64 gave the
# exact scan's choice for 300 of 300 questions at half the time of 128; 32 missed 2.
EXPANSION_SEARCH = 64
BATCH = 4096  # vectors added between two looks at the stop flag


class Ann:
    def __init__(self, dim: int) -> None:
        import numpy as np
        from usearch.index import Index

        self.dim = dim
        self.index = Index(
            ndim=dim,
            metric="cos",
            dtype="i8",
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )
        self.keys: Ids = np.zeros(0, np.int64)  # the chunk ids held, sorted
        self.lock = threading.Lock()  # held while the graph changes

    @property
    def memory(self) -> int:
        """Bytes the index holds (vectors and graph), beside the float32 matrix."""
        return int(self.index.memory_usage)

    def search(self, query: Vectors, count: int) -> Ids | None:
        """The ids of up to ``count`` chunks nearest ``query``; None while being updated."""
        import numpy as np

        if not self.lock.acquire(blocking=False):
            return None
        try:
            found = self.index.search(query, count, threads=1)
            keys: Ids = np.asarray(found.keys, dtype=np.int64)
            return keys
        finally:
            self.lock.release()

    def _add(self, loaded: Loaded, keys: Ids, stop: threading.Event) -> bool:
        import numpy as np

        rows = np.searchsorted(loaded.ids, keys)
        for start in range(0, len(keys), BATCH):
            if stop.is_set():
                return False
            part = rows[start : start + BATCH]
            self.index.add(loaded.ids[part].astype(np.uint64), loaded.matrix[part], threads=1)
        return True


def sync(ann: Ann | None, loaded: Loaded, stop: threading.Event) -> Ann | None:
    """An index holding exactly ``loaded``'s chunks: ``ann`` updated in place when the change
    is small next to its size, else a new one. None when ``stop`` was set meanwhile."""
    import numpy as np

    dim = loaded.matrix.shape[1]
    if ann is not None and ann.dim == dim:
        removed = np.setdiff1d(ann.keys, loaded.ids, assume_unique=True)
        added = np.setdiff1d(loaded.ids, ann.keys, assume_unique=True)
        if len(removed) + len(added) <= loaded.size // 2:
            with ann.lock:
                if len(removed):
                    ann.index.remove(removed.astype(np.uint64))
                if not ann._add(loaded, added, stop):
                    return None
                ann.keys = loaded.ids
            return ann
    fresh = Ann(dim)
    if not fresh._add(loaded, loaded.ids, stop):
        return None
    fresh.keys = loaded.ids
    return fresh
