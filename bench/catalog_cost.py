"""The configuration catalog's cost in process, on SQLite, as it grows.

    .venv/bin/python bench/catalog_cost.py [--sizes 100,1000,10000,50000] [--main ../main/src]

Builds catalogs of N workspaces (2 keys and 3 assistants each) with direct inserts, then
measures in this process, in CPU time (not stretched by other work on a shared machine) and
wall time:

- ``load_all``: the whole catalog loaded (start-up; a process that missed pruned entries),
  and the snapshot's bytes per key and per assistant;
- one admin-style change (a workspace's ``max_tokens``; a key's creation) recorded in the
  change feed, its snapshot prepared in the transaction, committed and swapped in: what a
  write costs here;
- the same change applied by another catalog from the feed (``catch_up``): what it costs
  every other process;
- with ``--main SRC``: the full ``Catalog.reload`` of the code at SRC (a checkout of the
  version before the feed, run in a subprocess with ``PYTHONPATH=SRC``), which that version
  ran after every admin write in every process.

Writes bench/results/catalog_cost.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "src"))

from sqlalchemy import insert  # noqa: E402

from junction.config import feed_record  # noqa: E402
from junction.config.catalog import Catalog  # noqa: E402
from junction.config.load import load_all  # noqa: E402
from junction.security.secrets import SecretBox  # noqa: E402
from junction.settings import Settings  # noqa: E402
from junction.store import models as m  # noqa: E402
from junction.store.db import create_engine, migrate, session_factory  # noqa: E402
from junction.store.serving_db import open_database  # noqa: E402

SECRET = b"catalog-cost-secret-32-bytes-...."
MAIN_RELOAD = """
import asyncio, json, sys, time
from pathlib import Path
from junction.config.catalog import Catalog
from junction.security.secrets import SecretBox
from junction.settings import Settings
from junction.store.serving_db import open_database

async def main():
    db = open_database(sys.argv[1])
    settings = Settings(data_dir=Path(sys.argv[2]))
    catalog = Catalog(settings, db, SecretBox(SECRET_HERE))
    await catalog.reload()
    cpu, wall = [], []
    for _ in range(3):
        c, w = time.process_time(), time.perf_counter()
        await catalog.reload()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    await catalog.close()
    await db.close()
    print(json.dumps({"cpu_ms": sorted(cpu)[1] * 1000, "wall_ms": sorted(wall)[1] * 1000}))

asyncio.run(main())
""".replace("SECRET_HERE", repr(SECRET))


async def timed(run: Callable[[], Awaitable[Any]], n: int) -> dict[str, float]:
    cpu, wall = [], []
    for _ in range(n):
        c, w = time.process_time(), time.perf_counter()
        await run()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return {
        "cpu_ms": round(statistics.median(cpu) * 1000, 2),
        "wall_ms": round(statistics.median(wall) * 1000, 2),
    }


async def fill(sessions: Any, start: int, stop: int) -> None:
    now = datetime.now(UTC)
    for lo in range(start, stop, 2000):
        hi = min(stop, lo + 2000)
        async with sessions() as s:
            await s.execute(
                insert(m.Workspace),
                [{"id": f"ws_{i}", "name": f"ws{i:06d}", "created_at": now} for i in range(lo, hi)],
            )
            await s.execute(
                insert(m.ApiKey),
                [
                    {
                        "id": f"key_{i}_{j}",
                        "workspace_id": f"ws_{i}",
                        "name": f"k{j}",
                        "key_hash": f"{i:032d}{j:032d}",
                        "key_prefix": "jk-",
                        "created_at": now,
                    }
                    for i in range(lo, hi)
                    for j in range(2)
                ],
            )
            await s.execute(
                insert(m.Assistant),
                [
                    {
                        "id": f"asst_{i}_{j}",
                        "workspace_id": f"ws_{i}",
                        "name": f"a{j}",
                        "model": ["up/bench-model"],
                        "fallbacks": [],
                        "system_prompt": "Be terse.",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in range(lo, hi)
                    for j in range(3)
                ],
            )
            await s.commit()


def view_bytes(snapshot: Any) -> dict[str, int]:
    """Bytes per key, per assistant and per workspace: everything reachable from each, each
    object once (one shared by many, such as a settings object or a name dictionary, counted
    once). A workspace's id string counts for the workspace; the two fields of a workspace view
    that hold its assistants count for the assistants."""
    ws_ids = {id(w) for w in snapshot.workspaces}

    def deep(obj: Any, seen: set[int], skip: set[int] = ws_ids) -> int:
        if obj is None or isinstance(obj, bool) or id(obj) in seen or id(obj) in skip:
            return 0
        seen.add(id(obj))
        size = sys.getsizeof(obj)
        if isinstance(obj, dict):
            size += sum(deep(k, seen, skip) + deep(v, seen, skip) for k, v in obj.items())
        elif isinstance(obj, tuple | list):
            size += sum(deep(v, seen, skip) for v in obj)
        elif hasattr(obj, "__slots__"):
            size += sum(deep(getattr(obj, f), seen, skip) for f in obj.__slots__)
        return size

    views = list(snapshot.workspaces.values())
    held: set[int] = set()
    slots = 2 * 8  # a view's two pointers to its assistants' fields
    assistants = sum(slots + deep(v.roster_at, held) + deep(v.roster_rows, held) for v in views)
    n_assistants = sum(len(v.assistants) for v in views)
    workspaces = deep(snapshot.workspaces, set(held), set()) - slots * len(views)
    return {
        "bytes_per_key": deep(snapshot.keys, set()) // max(1, len(snapshot.keys)),
        "bytes_per_assistant": assistants // max(1, n_assistants),
        "bytes_per_workspace": workspaces // max(1, len(views)),
    }


async def measure(
    url: str, data_dir: Path, size: int, main_src: str | None, main_up_to: int
) -> dict[str, Any]:
    engine = create_engine(url)
    sessions = session_factory(engine)
    db = open_database(url)
    settings = Settings(data_dir=data_dir)
    writer = Catalog(settings, db, SecretBox(SECRET))
    other = Catalog(settings, db, SecretBox(SECRET))
    await writer.reload()
    await other.reload()
    row: dict[str, Any] = {"workspaces": size, "keys": 2 * size, "assistants": 3 * size}

    async def full() -> None:
        await load_all(db, writer._runtime)

    row["load_all"] = await timed(full, 3)
    row["snapshot"] = view_bytes(await load_all(db, writer._runtime))
    counter = iter(range(1_000_000))

    async def write() -> None:
        async with sessions() as s:
            feed_record.track(s)
            ws = await s.get(m.Workspace, f"ws_{size // 2}")
            assert ws is not None
            ws.max_tokens = next(counter) + 1
            entries = await feed_record.record(s, 10_000)
            prepared = await writer.prepare(s, entries)
            await s.commit()
        await writer.catch_up(entries[-1].seq, prepared)

    row["admin_write_in_process"] = await timed(write, 21)

    async def create_key() -> None:
        n = next(counter)
        async with sessions() as s:
            feed_record.track(s)
            s.add(
                m.ApiKey(
                    id=f"key_new_{size}_{n}",
                    workspace_id=f"ws_{size // 2}",
                    name=f"new{n}",
                    key_hash=f"fee{size:09d}{n:052d}",
                    key_prefix="jk-",
                )
            )
            entries = await feed_record.record(s, 10_000)
            prepared = await writer.prepare(s, entries)
            await s.commit()
        await writer.catch_up(entries[-1].seq, prepared)

    # a key's creation also copies the keys dictionary (copy-on-write)
    row["key_create_in_process"] = await timed(create_key, 21)

    async def write_only() -> None:
        async with sessions() as s:
            feed_record.track(s)
            ws = await s.get(m.Workspace, f"ws_{size // 3}")
            assert ws is not None
            ws.max_tokens = next(counter) + 1
            await feed_record.record(s, 10_000)
            await s.commit()

    # the other catalog's share: timed around its catch_up only
    cpu, wall = [], []
    for _ in range(21):
        await write_only()
        c, w = time.process_time(), time.perf_counter()
        await other.catch_up()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    row["apply_from_feed"] = {
        "cpu_ms": round(statistics.median(cpu) * 1000, 2),
        "wall_ms": round(statistics.median(wall) * 1000, 2),
    }
    assert other.full_reloads == 1 and writer.full_reloads == 1
    await writer.close()
    await other.close()
    await engine.dispose()
    await db.close()
    if main_src and size <= main_up_to:
        out = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", MAIN_RELOAD, url, str(data_dir)],
            env={**os.environ, "PYTHONPATH": main_src},
            capture_output=True,
            text=True,
            check=True,
        )
        row["main_full_reload_per_write"] = {
            k: round(v, 2) for k, v in json.loads(out.stdout.strip().splitlines()[-1]).items()
        }
    return row


async def run(sizes: list[int], main_src: str | None, main_up_to: int) -> list[dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="junction-catalog-cost-"))
    url = f"sqlite+aiosqlite:///{work / 'catalog.db'}"
    engine = create_engine(url)
    await migrate(engine)
    sessions = session_factory(engine)
    rows = []
    built = 0
    for size in sizes:
        await fill(sessions, built, size)
        built = size
        row = await measure(url, work, size, main_src, main_up_to)
        row["loadavg"] = [round(x, 2) for x in os.getloadavg()]
        print(json.dumps(row), flush=True)
        rows.append(row)
    await engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,1000,10000,50000")  # 50,000: 100,000 keys
    parser.add_argument("--main", default=None, help="src/ of the version to compare with")
    parser.add_argument("--main-up-to", type=int, default=10_000, help="largest size for --main")
    parser.add_argument("--out", default=str(BENCH / "results" / "catalog_cost.json"))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = asyncio.run(run(sizes, args.main, args.main_up_to))
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "database": "SQLite (one file), in process",
        "machine": {"cores": os.cpu_count(), "loadavg_end": [round(x, 2) for x in os.getloadavg()]},
        "sizes": rows,
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
