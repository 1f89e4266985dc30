"""The approximate index of large assistants: it agrees with the exact scan on a seeded
dataset, honours deleted and added chunks, steps aside while it is being updated, and serves
real answers through the router once built (the exact scan answers until then)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from junction.knowledge.ann import Ann, sync
from junction.knowledge.index import Loaded, build
from junction.knowledge.retrieve import select, select_approximate
from tests.conftest import RouterProcess, make_tenant
from tests.knowledge_support import add_file
from tests.upstream import Upstream

DIM = 384
Row = tuple[str, int, bytes, str, int]


def _dataset(n: int, seed: int) -> tuple[list[Row], np.ndarray[Any, np.dtype[np.float32]]]:
    """Chunks around topics, as embeddings of real documents are; questions near topics."""
    rng = np.random.default_rng(seed)
    topics = rng.standard_normal((n // 50, DIM), dtype=np.float32)
    vectors = topics[rng.integers(0, len(topics), n)]
    vectors += 0.9 * rng.standard_normal((n, DIM), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    questions = topics[rng.integers(0, len(topics), 200)]
    questions += 0.9 * rng.standard_normal((200, DIM), dtype=np.float32)
    questions /= np.linalg.norm(questions, axis=1, keepdims=True)
    rows = [
        (f"chunk {i}", 100, vectors[i].tobytes(), f"file{i % 40}.md", 10 + 3 * i) for i in range(n)
    ]
    return rows, questions


def _used(loaded: Loaded, question: np.ndarray[Any, np.dtype[np.float32]], score: int) -> list[str]:
    return [u.text for u in select(loaded, question, score, 3000, 8).used]


def _indexed(rows: list[Row], previous: Ann | None = None) -> Loaded:
    loaded = build("v", rows)
    loaded.ann = sync(previous, loaded, threading.Event())
    return loaded


@pytest.fixture(scope="module")
def seeded() -> tuple[list[Row], np.ndarray[Any, np.dtype[np.float32]], Loaded, Loaded]:
    rows, questions = _dataset(6000, seed=7)
    return rows, questions, build("v", rows), _indexed(rows)


def test_the_index_agrees_with_the_exact_scan(
    seeded: tuple[list[Row], np.ndarray[Any, np.dtype[np.float32]], Loaded, Loaded],
) -> None:
    _, questions, exact, approximate = seeded
    assert approximate.ann is not None and approximate.ann.memory > 0
    for score in (0, 30):
        same = 0
        for q in questions:
            want, got = select(exact, q, score, 3000, 8), select(approximate, q, score, 3000, 8)
            assert (want.search, got.search) == ("exact", "approximate")
            assert got.scanned < approximate.size // 10  # it did not score everything
            # What it returns is scored exactly and passes the threshold, best first.
            assert all(u.score >= score for u in got.used)
            assert [u.score for u in got.used] == sorted((u.score for u in got.used), reverse=True)
            same += [u.text for u in got.used] == [u.text for u in want.used]
        assert same >= 0.95 * len(questions), f"score {score}: {same} of {len(questions)} agree"


def test_deleted_chunks_are_never_returned_and_added_ones_are(
    seeded: tuple[list[Row], np.ndarray[Any, np.dtype[np.float32]], Loaded, Loaded],
) -> None:
    rows, questions, _, approximate = seeded
    assert approximate.ann is not None
    # A file deleted: its chunks leave the index, updated in place (not rebuilt).
    kept = [r for r in rows if r[3] != "file3.md"]
    first = _indexed(rows)
    after = _indexed(kept, first.ann)
    assert after.ann is first.ann and len(after.ann.index) == len(kept)
    gone = {r[0] for r in rows if r[3] == "file3.md"}
    for q in questions:
        assert not gone & set(_used(after, q, 0))
    # The file again, as new chunks (new ids): found again.
    again = kept + [(t, n, v, f, i + 1_000_000) for t, n, v, f, i in rows if f == "file3.md"]
    again.sort(key=lambda r: r[4])
    restored = _indexed(again, after.ann)
    assert restored.ann is first.ann
    target = next(r for r in rows if r[3] == "file3.md")
    question = np.frombuffer(target[2], dtype=np.float32)
    assert _used(restored, question, 0)[0] == target[0]


def test_an_index_being_updated_steps_aside_for_the_exact_scan(
    seeded: tuple[list[Row], np.ndarray[Any, np.dtype[np.float32]], Loaded, Loaded],
) -> None:
    _, questions, exact, approximate = seeded
    assert approximate.ann is not None
    with approximate.ann.lock:
        # What the request path asks on the event loop: nothing, so the scan goes to a thread.
        assert select_approximate(approximate, questions[0], 0, 3000, 8) is None
        found = select(approximate, questions[0], 0, 3000, 8)
    assert found.search == "exact" and found.scanned == approximate.size
    indexed = select_approximate(approximate, questions[0], 0, 3000, 8)
    assert indexed is not None and indexed.search == "approximate"
    assert [u.text for u in found.used] == _used(exact, questions[0], 0)


@pytest.fixture
def indexed_router(tmp_path: Path, upstream: Upstream) -> Iterator[RouterProcess]:
    proc = RouterProcess(tmp_path / "r", {"JUNCTION_KNOWLEDGE_ANN_MIN_CHUNKS": "1"})
    proc.data_dir.mkdir()
    proc.start(timeout=60)
    yield proc
    proc.stop()


def test_answers_use_the_index_once_built_and_not_a_deleted_file(
    indexed_router: RouterProcess, upstream: Upstream
) -> None:
    router = indexed_router
    with router.admin() as admin:
        response = admin.post(
            "/providers", json={"name": "local", "kind": "openai", "base_url": upstream.url}
        )
        assert response.status_code == 201, response.text
    tenant = make_tenant(router)
    tenant.assistant("big", embedding_model="local/bow", context_score=20)
    penguins = add_file(
        router, tenant.name, "big", "penguins.md", b"# Penguins\n\nEmperor penguins eat krill."
    )
    add_file(router, tenant.name, "big", "volcanoes.md", b"# Volcanoes\n\nLava and basalt.")
    question = [{"role": "user", "content": "What do emperor penguins eat?"}]

    def ask() -> tuple[str, dict[str, Any]]:
        raw = tenant.client().chat.completions.with_raw_response.create(
            model="big", messages=question
        )
        request_id = raw.http_response.headers["x-request-id"]
        deadline = time.monotonic() + 10
        with router.admin() as admin:
            while time.monotonic() < deadline:
                entries = admin.get(f"/workspaces/{tenant.name}/logs").json()["data"]
                entry = next((e for e in entries if e["request_id"] == request_id), None)
                if entry is not None:
                    return raw.http_response.headers["x-junction-context"], entry["details"]
                time.sleep(0.2)
        raise AssertionError("the answer was never logged")

    deadline = time.monotonic() + 20
    while True:  # the exact scan answers until the index is built in the background
        used, details = ask()
        assert used == "1" and details["knowledge"]["chunks"][0]["file"] == "penguins.md"
        if details["knowledge"]["search"] == "approximate":
            break
        assert time.monotonic() < deadline, "the index was never used"
        time.sleep(0.2)
    with router.admin() as admin:
        url = f"/workspaces/{tenant.name}/assistants/big/files/{penguins['id']}"
        assert admin.delete(url).status_code == 204
    used, details = ask()
    assert used == "0" and details["knowledge"]["chunks"] == []
