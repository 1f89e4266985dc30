"""Each assistant's knowledge in memory: one float32 matrix of unit vectors, scanned exactly,
and for an assistant of at least ``knowledge_ann_min_chunks`` chunks an approximate index
(``ann``) that proposes the candidates instead once it is ready.

Loaded on first use and again only when the assistant's ``knowledge_version`` (part of the
configuration snapshot, which every replica follows) differs from the loaded one: the request
path reads the database once after a change, never per request. Concurrent requests of the
same assistant share one load. The approximate index is built (or updated for the files added
and deleted) by a background task after each load; until it is ready for the loaded version,
questions use the exact scan, so neither a start nor a change makes an answer wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from junction.config.snapshot import AssistantView
from junction.knowledge.ann import Ann, sync
from junction.store.orm import LazyOrm

if TYPE_CHECKING:
    import numpy as np

    from junction.knowledge.embed import Vectors

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Loaded:
    version: str
    matrix: Vectors  # n x d, rows of unit length
    texts: list[str]
    tokens: np.ndarray[Any, np.dtype[np.int32]]
    file_of: np.ndarray[Any, np.dtype[np.int32]]  # index into ``filenames``, per chunk
    filenames: list[str]
    ids: np.ndarray[Any, np.dtype[np.int64]]  # the chunks' database ids, ascending
    ann: Ann | None = None  # set once the approximate index holds exactly these chunks

    @property
    def size(self) -> int:
        return len(self.texts)


class KnowledgeIndex:
    def __init__(self, orm: LazyOrm, ann_min_chunks: int) -> None:
        self._orm = orm
        self._ann_min = ann_min_chunks  # 0: never
        self._loaded: dict[str, Loaded] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._anns: dict[str, Ann] = {}  # each assistant's index, at whichever version it holds
        self._building: dict[str, asyncio.Task[None]] = {}
        self._stop = threading.Event()
        self._builder: ThreadPoolExecutor | None = None  # one thread, made on first use

    async def get(self, assistant: AssistantView) -> Loaded | None:
        version = assistant.knowledge_version
        if not version:
            return None
        found = self._loaded.get(assistant.id)
        if found is not None and found.version == version:
            return found
        lock = self._locks.setdefault(assistant.id, asyncio.Lock())
        async with lock:
            found = self._loaded.get(assistant.id)
            if found is None or found.version != version:
                if found is not None:
                    found.ann = None  # its index is about to change under it: exact from now
                found = await self._load(assistant.id, version)
                self._loaded[assistant.id] = found
                self._index_later(assistant.id)
        return found

    def _index_later(self, assistant_id: str) -> None:
        if assistant_id in self._building or self._stop.is_set():
            return  # the running task catches up with the newest version when it is done
        self._building[assistant_id] = asyncio.create_task(
            self._index(assistant_id), name=f"knowledge-ann-{assistant_id}"
        )

    async def _index(self, assistant_id: str) -> None:
        """Bring the assistant's approximate index to its loaded chunks, in a worker thread."""
        try:
            while True:
                target = self._loaded.get(assistant_id)
                if target is None or not self._ann_min or target.size < self._ann_min:
                    self._anns.pop(assistant_id, None)
                    return
                if target.ann is not None:
                    return
                previous = self._anns.pop(assistant_id, None)
                if self._builder is None:
                    self._builder = ThreadPoolExecutor(1, "knowledge-ann", _background)
                loop = asyncio.get_running_loop()
                ann = await loop.run_in_executor(self._builder, sync, previous, target, self._stop)
                if ann is None:  # stopping
                    return
                self._anns[assistant_id] = ann
                if self._loaded.get(assistant_id) is target:
                    target.ann = ann
                    return
        except Exception:  # the exact scan serves meanwhile; the next change tries again
            log.exception("knowledge: the approximate index of %s failed", assistant_id)
        finally:
            self._building.pop(assistant_id, None)

    async def close(self) -> None:
        """Stop building (a build ends within one batch)."""
        self._stop.set()
        for task in list(self._building.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._builder is not None:
            self._builder.shutdown(wait=False)

    def current(self, assistant: AssistantView) -> bool:
        """Its vectors are loaded at its present version."""
        found = self._loaded.get(assistant.id)
        return found is not None and found.version == assistant.knowledge_version

    def prune(self, live: set[str]) -> None:
        """Forget assistants that no longer exist (deleted, or their workspace was)."""
        for gone in set(self._loaded) - live:
            self._loaded.pop(gone, None)
            self._locks.pop(gone, None)
            self._anns.pop(gone, None)

    async def _load(self, assistant_id: str, version: str) -> Loaded:
        from junction.knowledge.files import ready_chunks  # the ORM: with the first knowledge

        rows = await ready_chunks(self._orm.sessions, assistant_id)
        # Building the matrix of a large assistant takes milliseconds: off the event loop.
        return await asyncio.to_thread(
            build, version, [(r[0], r[1], r[2], r[3], r[4]) for r in rows]
        )


def _background() -> None:
    """The builder thread yields the CPU to the event loop and the requests' threads: a build
    of 100,000 chunks takes minutes of one core, and nothing waits for it."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux, or not allowed
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


def build(version: str, rows: list[tuple[str, int, bytes, str, int]]) -> Loaded:
    """The in-memory form of an assistant's chunks, ``rows`` in ascending id: (text, tokens,
    vector bytes, filename, id)."""
    import numpy as np

    names: dict[str, int] = {}
    widths = {len(r[2]) for r in rows}
    if len(widths) > 1:  # vectors of two models: keep the newest width only (a re-embed runs)
        newest = len(rows[-1][2])
        rows = [r for r in rows if len(r[2]) == newest]
    if not rows:
        empty = np.zeros(0, np.int32)
        return Loaded(
            version, np.zeros((0, 0), np.float32), [], empty, empty, [], np.zeros(0, np.int64)
        )
    dim = len(rows[0][2]) // 4
    matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype="<f4").reshape(len(rows), dim)
    file_of = np.fromiter((names.setdefault(r[3], len(names)) for r in rows), np.int32, len(rows))
    return Loaded(
        version,
        np.ascontiguousarray(matrix, dtype=np.float32),
        [r[0] for r in rows],
        np.fromiter((r[1] for r in rows), np.int32, len(rows)),
        file_of,
        list(names),
        np.fromiter((r[4] for r in rows), np.int64, len(rows)),
    )
