"""Assistant knowledge: ingestion throughput and what retrieval adds to a request.

    .venv/bin/python bench/knowledge_bench.py [--pages 200] [--dim 384] [--rounds 300]
                                              [--sizes 1000,10000,100000]

Ingestion: a PDF of ``--pages`` pages (about 450 words each) made here goes through the real
worker (``knowledge.ingest.Ingestor``): pypdf, semchunk over cl100k_base, embedding in batches
through the provider client against a loopback embedder (hashed words, ``--dim`` wide), and
storage in a SQLite database; pages/s and chunks/s, with each stage's share.

Retrieval: the scoring step (``knowledge.retrieve.select``: one exact scan of the assistant's
in-memory float32 matrix, threshold, best-first within the token budget) at each size of
``--sizes`` chunks per assistant, p50 and p99 over ``--rounds`` questions, for a Context Score
that few chunks pass (65) and for 0 (every chunk passes). The question's embedding call goes to
the upstream and is reported apart (loopback embedder), as is loading the matrix from the
database once after a change.
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

from junction.config.snapshot import ProviderRuntime, Snapshot  # noqa: E402
from junction.knowledge import chunk, embed, parse  # noqa: E402
from junction.knowledge.index import KnowledgeIndex, build  # noqa: E402
from junction.knowledge.ingest import Ingestor  # noqa: E402
from junction.knowledge.retrieve import select  # noqa: E402
from junction.providers.base import ProviderConfig  # noqa: E402
from junction.providers.openai import OpenAIProvider  # noqa: E402
from junction.settings import Settings  # noqa: E402
from junction.store import models as m  # noqa: E402
from junction.store.db import create_engine, migrate, session_factory  # noqa: E402
from junction.store.knowledge import KnowledgeChunk, KnowledgeFile  # noqa: E402
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


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class _Catalog:
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot


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

    t = time.perf_counter()
    parsed = parse.parse("pdf", data)
    t_parse = time.perf_counter() - t
    t = time.perf_counter()
    chunks = chunk.split(parsed.text, counter.encoding, 400, 50)
    t_chunk = time.perf_counter() - t
    t = time.perf_counter()
    await embed.embed(snapshot, "bench/embedder", [c.text for c in chunks], 64, 120)
    t_embed = time.perf_counter() - t

    settings = Settings(data_dir=tmp, knowledge_embed_batch=64)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp / 'ingest.db'}")
    await migrate(engine)
    sessions = session_factory(engine)
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

    async def announce(_s: Any) -> Any:
        async def after() -> None:
            return None

        return after

    worker = Ingestor(settings, sessions, _Catalog(snapshot), counter.encoding, announce)  # type: ignore[arg-type]
    t = time.perf_counter()
    assert await worker.step()
    total = time.perf_counter() - t
    async with sessions() as s:
        row = await s.get(KnowledgeFile, "f1")
        assert row is not None and row.status == "ready", row and row.error
        n = row.chunks
    await engine.dispose()
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


async def retrieval(args: argparse.Namespace, snapshot: Snapshot, tmp: Path) -> None:
    rng = np.random.default_rng(11)
    dim = args.dim
    print(f"retrieval: dim {dim}, {args.rounds} questions per size (the scoring step alone)")
    for size in [int(s) for s in args.sizes.split(",")]:
        matrix = rng.standard_normal((size, dim), dtype=np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        # A few chunks near each question, as for a real question about a file.
        queries = rng.standard_normal((args.rounds, dim), dtype=np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        near = rng.integers(0, size, (args.rounds, 5))
        rows = [
            (f"chunk {i} " * 40, 200, matrix[i].tobytes(), f"file{i % 50}.md") for i in range(size)
        ]
        for q, idx in zip(queries, near, strict=True):
            for i in idx:
                mixed = q + 0.5 * matrix[i]
                rows[i] = (
                    rows[i][0],
                    200,
                    (mixed / np.linalg.norm(mixed)).astype(np.float32).tobytes(),
                    rows[i][3],
                )
        loaded = build("v1", rows)
        for score in (65, 0):
            times = []
            used = 0
            for q in queries:
                t = time.perf_counter()
                found = select(loaded, q, score, 3000, 8)
                times.append((time.perf_counter() - t) * 1000)
                used += len(found.used)
            print(
                f"  {size:>7} chunks, Context Score {score:>2}: p50 {pct(times, 0.5):.3f} ms, "
                f"p99 {pct(times, 0.99):.3f} ms, {used / len(queries):.1f} chunks used"
            )
        if size <= args.load_max:
            await _load_time(tmp, rows, size)
    t_embed = []
    for i in range(50):
        t = time.perf_counter()
        await embed.embed(snapshot, "bench/embedder", [f"question {i} about the budget"], 1, 10)
        t_embed.append((time.perf_counter() - t) * 1000)
    print(
        f"  question embedding (loopback upstream, apart): p50 {pct(t_embed, 0.5):.2f} ms, "
        f"p99 {pct(t_embed, 0.99):.2f} ms"
    )


async def _load_time(tmp: Path, rows: list[tuple[str, int, bytes, str]], size: int) -> None:
    """Loading an assistant's matrix from SQLite once after a change."""
    path = tmp / f"load-{size}.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await migrate(engine)
    sessions = session_factory(engine)
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
    from junction.config.snapshot import AssistantSettings, AssistantView

    settings = AssistantSettings(
        "",
        ("x/y",),
        (),
        "",
        "off",
        None,
        0,
        None,
        embedding_model="x/y",
        context_score=65,
        knowledge_version="v1",
    )
    view = AssistantView("a1", "ws1", "kb", 0, settings)
    index = KnowledgeIndex(sessions)
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
    snapshot = Snapshot(providers={"bench": ProviderRuntime(config, client, {})})
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
