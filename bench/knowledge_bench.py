"""Assistant knowledge: ingestion throughput and what retrieval adds to a request.

    .venv/bin/python bench/knowledge_bench.py [--pages 200] [--dim 384] [--rounds 300]
                                              [--sizes 1000,10000,100000]

Ingestion: a PDF of ``--pages`` pages (about 450 words each) made here goes through the real
worker (``knowledge.ingest.Ingestor``): pypdf, semchunk over cl100k_base, embedding in batches
through the provider client against a loopback embedder (hashed words, ``--dim`` wide), and
storage in a SQLite database; pages/s and chunks/s, with each stage's share.

Retrieval: the scoring step (``knowledge.retrieve.select``: candidates, threshold, best-first
within the token budget) at each size of ``--sizes`` chunks per assistant, p50 and p99 over
``--rounds`` questions, for Context Scores 65, 30 and 0, twice, interleaved question by
question: the exact scan of the in-memory float32 matrix, and the approximate index
(``knowledge.ann``: usearch HNSW, int8) whose candidates are re-scored exactly; with the
index's build time and memory, and for how many questions both chose the same chunks in the
same order. The chunks lie around topics, as embeddings of documents do. The question's
embedding call (through ``knowledge.calls``, the router and a loopback embedder) is reported
apart, as is loading the matrix from the database once after a change.

The ingestion and the question's embedding go through ``knowledge.calls.Embedder`` with the
real router and metering; the finished calls stay in the bench (no request-log writer).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import re
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from tests.knowledge_docs import pdf_bytes  # noqa: E402

from junction.config.snapshot import AssistantSettings, AssistantView, ProviderRuntime, Snapshot  # noqa: E402
from junction.core.call import Call  # noqa: E402
from junction.knowledge import chunk, parse  # noqa: E402
from junction.knowledge.ann import sync  # noqa: E402
from junction.knowledge.calls import Embedder  # noqa: E402
from junction.knowledge.index import KnowledgeIndex, Loaded, build  # noqa: E402
from junction.knowledge.ingest import Ingestor  # noqa: E402
from junction.knowledge.retrieve import select  # noqa: E402
from junction.providers.base import ProviderConfig  # noqa: E402
from junction.providers.openai import OpenAIProvider  # noqa: E402
from junction.routing.router import Router  # noqa: E402
from junction.settings import Settings  # noqa: E402
from junction.store import models as m  # noqa: E402
from junction.store.db import migrate  # noqa: E402
from junction.store.knowledge import KnowledgeChunk, KnowledgeFile  # noqa: E402
from junction.store.orm import LazyOrm  # noqa: E402
from junction.store.serving_db import open_database  # noqa: E402
from junction.tokens.counter import TokenCounter  # noqa: E402

WORDS = [
    "router",
    "model",
    "assistant",
    "token",
    "budget",
    "workspace",
    "request",
    "provider",
    "stream",
    "history",
    "context",
    "window",
    "upstream",
    "replica",
    "latency",
    "cost",
    "limit",
    "embedding",
    "chunk",
    "file",
    "vector",
    "score",
    "answer",
    "question",
    "policy",
    "holiday",
    "laptop",
    "travel",
    "expense",
    "invoice",
    "contract",
    "security",
    "password",
    "network",
]


def embedder_app(dim: int) -> web.Application:
    async def embeddings(request: web.Request) -> web.Response:
        body = await request.json()
        data = []
        for i, text in enumerate(body["input"]):
            vector = [0.0] * dim
            for word in re.findall(r"[a-z0-9]{3,}", str(text).lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
                vector[int.from_bytes(digest, "big") % dim] += 1.0
            data.append({"object": "embedding", "index": i, "embedding": vector})
        return web.json_response({"object": "list", "data": data, "usage": {}})

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/embeddings", embeddings)
    return app


Row = tuple[str, int, bytes, str, int]  # text, tokens, vector bytes, file name, chunk id


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


VIEW = AssistantView(
    "a1",
    "ws1",
    "kb",
    0,
    AssistantSettings(
        "",
        ("bench/x",),
        (),
        "",
        "off",
        None,
        0,
        None,
        embedding_model="bench/embedder",
        context_score=65,
        knowledge_version="v1",
    ),
)


class _Catalog:
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot


class _Runtime:
    """What ``knowledge.calls.Embedder`` reads of a router: the real router and metering; the
    finished calls are kept here instead of going to the request log's writer."""

    def __init__(self, snapshot: Snapshot, settings: Settings, counter: TokenCounter) -> None:
        self.catalog = _Catalog(snapshot)
        self.router = Router()
        self.tokens = counter
        self.settings = settings
        self.finished: list[Call] = []

    def check(self, call: Call) -> None:
        return None

    def finish(self, call: Call) -> None:
        self.finished.append(call)


async def ingestion(args: argparse.Namespace, snapshot: Snapshot, tmp: Path) -> None:
    rng = random.Random(7)
    pages = []
    for p in range(args.pages):
        paras = [
            " ".join(rng.choice(WORDS) for _ in range(75)).capitalize() + "." for _ in range(6)
        ]
        pages.append(f"Section {p + 1}\n" + "\n".join(paras))
    data = pdf_bytes(pages)
    counter = TokenCounter()
    settings = Settings(data_dir=tmp, knowledge_embed_batch=64)
    embedder = Embedder(_Runtime(snapshot, settings, counter))  # type: ignore[arg-type]

    t = time.perf_counter()
    parsed = parse.parse("pdf", data)
    t_parse = time.perf_counter() - t
    t = time.perf_counter()
    chunks = chunk.split(parsed.text, counter.encoding, 400, 50)
    t_chunk = time.perf_counter() - t
    t = time.perf_counter()
    await embedder.ingestion(VIEW, "bench/embedder", [c.text for c in chunks], {}, 64, 120)
    t_embed = time.perf_counter() - t

    url = f"sqlite+aiosqlite:///{tmp / 'ingest.db'}"
    orm, db = LazyOrm(url), open_database(url)
    engine = orm.engine
    await migrate(engine)
    sessions = orm.sessions
    async with sessions() as s:
        s.add(m.Workspace(id="ws1", name="bench"))
        await s.flush()
        s.add(
            m.Assistant(
                id="a1",
                workspace_id="ws1",
                name="kb",
                model=["bench/x"],
                embedding_model="bench/embedder",
            )
        )
        await s.flush()
        s.add(
            KnowledgeFile(
                id="f1",
                workspace_id="ws1",
                assistant_id="a1",
                filename="book.pdf",
                kind="pdf",
                bytes=len(data),
                sha256="-",
                content=data,
                status="processing",
                chunks=0,
                pages=0,
                attempts=0,
            )
        )
        await s.commit()

    async def applied(_entries: Any) -> None:
        return None

    worker = Ingestor(settings, db, orm, _Catalog(snapshot), embedder, counter.encoding, applied)  # type: ignore[arg-type]
    t = time.perf_counter()
    assert await worker.step()
    total = time.perf_counter() - t
    async with sessions() as s:
        row = await s.get(KnowledgeFile, "f1")
        assert row is not None and row.status == "ready", row and row.error
        n = row.chunks
    await engine.dispose()
    await db.close()
    print(
        f"ingestion: {args.pages}-page PDF ({len(data) / 1e6:.1f} MB), {n} chunks, dim {args.dim}"
    )
    print(
        f"  end to end (worker): {total:.2f} s = {args.pages / total:.1f} pages/s, "
        f"{n / total:.0f} chunks/s"
    )
    print(
        f"  stages alone: parse {t_parse:.2f} s ({args.pages / t_parse:.0f} pages/s), "
        f"chunk {t_chunk:.2f} s ({len(chunks) / t_chunk:.0f} chunks/s), "
        f"embed via loopback {t_embed:.2f} s ({len(chunks) / t_embed:.0f} chunks/s)"
    )
    rest = total - t_parse - t_chunk - t_embed
    print(f"  store and bookkeeping (the remainder): {max(rest, 0):.2f} s")


def _dataset(size: int, dim: int, rounds: int, seed: int) -> tuple[list[Row], Any]:
    """Chunks around topics (as embeddings of real documents are: a uniform random cloud has no
    neighbourhoods for any index to find), and questions near topics."""
    rng = np.random.default_rng(seed)
    topics = rng.standard_normal((max(1, size // 50), dim), dtype=np.float32)
    matrix = topics[rng.integers(0, len(topics), size)]
    matrix += 0.9 * rng.standard_normal((size, dim), dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    queries = topics[rng.integers(0, len(topics), rounds)]
    queries += 0.9 * rng.standard_normal((rounds, dim), dtype=np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    rows = [
        (f"chunk {i} " * 40, 200, matrix[i].tobytes(), f"file{i % 50}.md", i + 1)
        for i in range(size)
    ]
    return rows, queries


def _time(loaded: Loaded, q: Any, score: int) -> tuple[float, float, list[str]]:
    """One question: wall ms, this thread's CPU ms (what the host's load does not add), and
    the chunks chosen."""
    t, c = time.perf_counter(), time.thread_time()
    found = select(loaded, q, score, 3000, 8)
    wall, cpu = (time.perf_counter() - t) * 1000, (time.thread_time() - c) * 1000
    return wall, cpu, [u.text for u in found.used]


async def retrieval(args: argparse.Namespace, snapshot: Snapshot, tmp: Path) -> None:
    embedder = Embedder(_Runtime(snapshot, Settings(data_dir=tmp), TokenCounter()))  # type: ignore[arg-type]
    dim = args.dim
    print(f"retrieval: dim {dim}, {args.rounds} questions per size (the scoring step alone)")
    for size in [int(s) for s in args.sizes.split(",")]:
        rows, queries = _dataset(size, dim, args.rounds, seed=11)
        exact = build("v1", rows)
        approximate = build("v1", rows)
        t = time.perf_counter()
        approximate.ann = await asyncio.to_thread(sync, None, approximate, threading.Event())
        built = time.perf_counter() - t
        assert approximate.ann is not None
        print(
            f"  {size:>7} chunks: matrix {exact.matrix.nbytes / 1e6:.0f} MB; approximate index "
            f"built in {built:.1f} s (one thread, load {os.getloadavg()[0]:.1f}), "
            f"{approximate.ann.memory / 1e6:.0f} MB more"
        )
        # The first questions after a build touch the matrix and the index for the first time
        # (page faults, allocator growth): shown apart, then a warm-up pass, untimed, so that
        # the series below is the steady state a serving router sees.
        first = {
            name: _time(loaded, queries[0], 65)[0]
            for name, loaded in (("exact", exact), ("approximate", approximate))
        }
        print(
            f"    first question after the build: exact {first['exact']:.1f} ms, "
            f"approximate {first['approximate']:.1f} ms"
        )
        for q in queries[:30]:
            for loaded in (exact, approximate):
                _time(loaded, q, 65)
        for score in (65, 30, 0):
            # Interleaved, so that both see the same moment's load.
            wall: dict[str, list[float]] = {"exact": [], "approximate": []}
            cpu: dict[str, list[float]] = {"exact": [], "approximate": []}
            same = used = 0
            for q in queries:
                chosen = []
                for name, loaded in (("exact", exact), ("approximate", approximate)):
                    w, c, texts = _time(loaded, q, score)
                    wall[name].append(w)
                    cpu[name].append(c)
                    chosen.append(texts)
                same += chosen[0] == chosen[1]
                used += len(chosen[0])
            line = " ".join(
                f"{name} p50 {pct(wall[name], 0.5):.3f} / p99 {pct(wall[name], 0.99):.3f} ms "
                f"(CPU {pct(cpu[name], 0.5):.3f} / {pct(cpu[name], 0.99):.3f});"
                for name in ("exact", "approximate")
            )
            print(
                f"    Context Score {score:>2}: {line} same chunks in the same order for "
                f"{same}/{len(queries)} questions; {used / len(queries):.1f} chunks used"
            )
        if size <= args.load_max:
            await _load_time(tmp, rows, size)
    t_embed = []
    for i in range(50):
        t = time.perf_counter()
        parent = Call(f"req_{i}", "chat.completions", assistant=VIEW)
        await embedder.question(parent, f"question {i} about the budget", 10)
        t_embed.append((time.perf_counter() - t) * 1000)
    print(
        f"  question embedding (loopback upstream, apart): p50 {pct(t_embed, 0.5):.2f} ms, "
        f"p99 {pct(t_embed, 0.99):.2f} ms"
    )


async def _load_time(tmp: Path, rows: list[Row], size: int) -> None:
    """Loading an assistant's matrix from SQLite once after a change."""
    path = tmp / f"load-{size}.db"
    orm = LazyOrm(f"sqlite+aiosqlite:///{path}")
    engine = orm.engine
    await migrate(engine)
    sessions = orm.sessions
    async with sessions() as s:
        s.add(m.Workspace(id="ws1", name="bench"))
        await s.flush()
        s.add(m.Assistant(id="a1", workspace_id="ws1", name="kb", model=["x/y"]))
        await s.flush()
        for f in range(50):
            s.add(
                KnowledgeFile(
                    id=f"f{f}",
                    workspace_id="ws1",
                    assistant_id="a1",
                    filename=f"file{f}.md",
                    kind="markdown",
                    bytes=1,
                    sha256="-",
                    status="ready",
                    chunks=0,
                    pages=0,
                    attempts=0,
                )
            )
        await s.commit()
        await s.execute(
            insert(KnowledgeChunk),
            [
                {
                    "file_id": f"f{i % 50}",
                    "assistant_id": "a1",
                    "seq": i,
                    "text": r[0],
                    "tokens": r[1],
                    "embedding": r[2],
                }
                for i, r in enumerate(rows)
            ],
        )
        await s.commit()
    view = VIEW
    index = KnowledgeIndex(orm, 0)  # the matrix alone: the index is timed above
    t = time.perf_counter()
    loaded = await index.get(view)
    took = time.perf_counter() - t
    assert loaded is not None and loaded.size == size
    t = time.perf_counter()
    await index.get(view)
    cached = (time.perf_counter() - t) * 1e6
    print(
        f"    loading {size} chunks from SQLite once after a change: {took * 1000:.0f} ms "
        f"(then {cached:.1f} us per request while unchanged)"
    )
    await engine.dispose()


async def main(args: argparse.Namespace) -> None:
    runner = web.AppRunner(embedder_app(args.dim), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    config = ProviderConfig(name="bench", kind="openai", base_url=f"http://127.0.0.1:{port}/v1")
    client = OpenAIProvider(config)
    snapshot = Snapshot(
        providers={"bench": ProviderRuntime(config, client, {})}, assistants={"ws1": {"kb": VIEW}}
    )
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.pages:
            await ingestion(args, snapshot, Path(tmp))
        await retrieval(args, snapshot, Path(tmp))
    await client.close()
    await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--load-max", type=int, default=100000)
    asyncio.run(main(parser.parse_args()))
