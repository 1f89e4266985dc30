"""Usage, dashboard, workspace list and logs page at two log sizes, on SQLite and PostgreSQL.

    .venv/bin/python bench/usage_bench.py [--db sqlite,postgresql] [--sizes 20000,200000]
        [--concurrency 48] [--reps 30] [--pg postgresql://postgres@127.0.0.1:5432]

For each database: Junction (``junction serve``) in front of the fast benchmark upstream
(bench/upstream.py), one workspace ``bench`` with 3 assistants and 4 keys (plus two quiet
workspaces for the list). The log is filled through the API — real requests through the
router's front doors, from concurrent clients, so the writer stores every row and keeps the
rollups as in production: of every 10 requests 7 chat completions (1 streamed), 2 Responses and
1 Messages; 1 in 50 for an unknown assistant (404). At each size it waits until the log has
every row (then, on PostgreSQL, runs ANALYZE). Each size has its own router and database, so
both are measured in the same minutes: every check ``--reps`` times, the two routers taking
turns request by request (a change of the machine's load falls on both sizes alike), in
``--rounds`` rounds (the round begun at the lowest load average is reported; all are kept):

- ``GET /admin/v1/workspaces/bench/usage?group_by=assistant|key|model|endpoint|day|hour``, and
  by assistant from a ``since`` inside an hour (that partial hour comes from raw rows);
- the dashboard's 30-day view (``/ui/w/bench/dashboard?range=30d``, rendered page) and 24 h;
- the workspace list (``/ui/workspaces``: each workspace's last-24 h figures);
- the logs page, API and UI, with no filter and with each filter (assistant, key, status
  ``4xx`` and ``error``, a since/until window).

It reports p50 and p95 (ms) at both sizes with the 1-minute load average beside each, the
router's own CPU time a request (which the load of other processes does not stretch), the
growth ratio of p95, and the fill rate
(requests logged per second). Then it times the log writer itself, in process: batches of 500
rows stored with the rollups (as the router does) against the same rows inserted alone (the
writer before rollups), on the same database: rows per second each.
Writes bench/results/usage.json (``--out``). Binds and targets 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "src"))

import run as harness  # noqa: E402  (bench/run.py: processes and helpers)

RESULTS = BENCH / "results"
ASSISTANTS = ("writer", "coder", "helper")
CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
BODY = {"messages": [{"role": "user", "content": harness.PROMPT}], "max_tokens": 32}


def request_for(n: int, model: str) -> tuple[str, dict[str, Any]]:
    """The ``n``-th request's front door and body: of every 10, 7 chat completions (one of them
    streamed), 2 Responses (stored nowhere: the log is what is measured) and 1 Messages."""
    kind = n % 10
    if kind in (3, 7):
        return "responses", {"model": model, "input": harness.PROMPT, "store": False}
    if kind == 5:
        return "messages", {**BODY, "model": model}
    return "chat/completions", {**BODY, "model": model, "stream": kind == 0}


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load() -> float:
    """The machine's 1-minute load average, noted beside every figure."""
    return round(os.getloadavg()[0], 2)


class Bench:
    def __init__(self, db: str, pg: str, rundir: Path) -> None:
        self.db = db
        self.admin_key = "adm-" + secrets.token_urlsafe(24)
        self.datadir = Path(tempfile.mkdtemp(prefix=f"usage-{db}-", dir=rundir))
        self.env = {
            **os.environ,
            "JUNCTION_DATA_DIR": str(self.datadir),
            "JUNCTION_ADMIN_KEY": self.admin_key,
            "JUNCTION_ACCESS_LOG": "false",
            "JUNCTION_LOG_QUEUE_SIZE": "200000",
        }
        self.pg_name: str | None = None
        if db == "postgresql":
            self.pg_name = "usage_bench_" + secrets.token_hex(4)
            _psql(pg, f'CREATE DATABASE "{self.pg_name}"')
            self.env["JUNCTION_DATABASE_URL"] = (
                pg.replace("postgresql://", "postgresql+asyncpg://") + "/" + self.pg_name
            )
        self.port = harness.free_port()
        self.keys: list[str] = []
        self.key_ids: list[str] = []
        self.sent = 0

    def start(self, upstream_port: int) -> None:
        cmd = [str(harness.JUNCTION_BIN), "serve", "--host", harness.HOST, "--port"]
        logp = self.datadir / "stdout.log"
        self.proc = harness.PROCS.start([*cmd, str(self.port)], logp, env=self.env)
        harness.wait_until(
            lambda: harness.http_request("GET", self.port, "/healthz", timeout=2)[0] == 200,
            self.proc,
            120,
            logp,
        )
        post = self.post
        post(
            "/admin/v1/providers",
            {
                "name": "bench",
                "base_url": f"http://{harness.HOST}:{upstream_port}/v1",
                "models": [{"name": "bench-model", "input_price": 1, "output_price": 2}],
            },
        )
        for ws in ("bench", "quiet-a", "quiet-b"):
            post("/admin/v1/workspaces", {"name": ws})
        for name in ASSISTANTS:
            post(
                "/admin/v1/workspaces/bench/assistants",
                {"name": name, "model": "bench/bench-model"},
            )
        for i in range(4):
            made = post("/admin/v1/workspaces/bench/keys", {"name": f"key-{i}"})
            self.keys.append(made["key"])
            self.key_ids.append(made["id"])
        self.ui = self._login()
        self.api = httpx.Client(
            base_url=f"http://{harness.HOST}:{self.port}/admin/v1",
            headers={"Authorization": f"Bearer {self.admin_key}"},
            timeout=60,
        )

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return harness.admin(self.port, self.admin_key, path, body)

    def _login(self) -> httpx.Client:
        client = httpx.Client(base_url=f"http://{harness.HOST}:{self.port}", timeout=60)
        token = CSRF.search(client.get("/ui/login").text)
        assert token is not None
        answer = client.post("/ui/login", data={"csrf": token[1], "admin_key": self.admin_key})
        assert answer.status_code == 303, answer.text
        return client

    def logged(self) -> int:
        auth = {"Authorization": f"Bearer {self.admin_key}"}  # /metrics names workspaces
        text = httpx.get(
            f"http://{harness.HOST}:{self.port}/metrics", headers=auth, timeout=30
        ).text
        found = re.search(r"^junction_request_log_written_total ([0-9.e+]+)$", text, re.M)
        return int(float(found[1])) if found else 0

    async def fill(self, total: int, concurrency: int) -> float:
        """Send requests until ``total`` have been sent in all; the rate they were logged at."""
        start_logged = self.logged()
        base = f"http://{harness.HOST}:{self.port}/v1/"
        todo = total - self.sent
        counter = iter(range(self.sent, total))
        started = time.perf_counter()

        async def worker(session: aiohttp.ClientSession) -> None:
            for n in counter:
                model = "nobody" if n % 50 == 49 else ASSISTANTS[n % 3]
                door, body = request_for(n, model)
                headers = {"Authorization": f"Bearer {self.keys[(n // 3) % 4]}"}
                async with session.post(base + door, json=body, headers=headers) as response:
                    await response.read()

        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        self.sent = total
        while self.logged() - start_logged < todo:  # noqa: ASYNC110 (the writer catching up)
            await asyncio.sleep(0.2)
        return todo / (time.perf_counter() - started)

    def checks(self) -> dict[str, tuple[httpx.Client, str, dict[str, str]]]:
        now = datetime.now(UTC)
        window = {"since": (now - timedelta(minutes=30)).isoformat(), "until": now.isoformat()}
        checks: dict[str, tuple[httpx.Client, str, dict[str, str]]] = {}
        for group in ("assistant", "key", "model", "endpoint", "day", "hour"):
            checks[f"usage by {group}"] = (self.api, "/workspaces/bench/usage", {"group_by": group})
        # A since inside an hour: that partial hour is read from the raw rows (informative:
        # here every row lies in the last hour or two, so this read grows with the fill).
        checks["usage by assistant, since inside an hour"] = (
            self.api,
            "/workspaces/bench/usage",
            {"group_by": "assistant", "since": (now - timedelta(minutes=10)).isoformat()},
        )
        checks["dashboard 30d (UI)"] = (self.ui, "/ui/w/bench/dashboard", {"range": "30d"})
        checks["dashboard 24h (UI)"] = (self.ui, "/ui/w/bench/dashboard", {"range": "24h"})
        checks["workspace list (UI)"] = (self.ui, "/ui/workspaces", {})
        filters: dict[str, dict[str, str]] = {
            "none": {},
            "assistant": {"assistant": "coder"},
            "key": {"key": self.key_ids[2]},
            "status 4xx": {"status": "4xx"},
            "status error": {"status": "error"},
            "since/until": window,
        }
        for name, params in filters.items():
            checks[f"logs API, {name}"] = (self.api, "/workspaces/bench/logs", params)
        checks["logs page (UI), none"] = (self.ui, "/ui/w/bench/logs", {})
        checks["logs page (UI), status error"] = (self.ui, "/ui/w/bench/logs", {"status": "error"})
        return checks

    def analyze(self, pg: str) -> None:
        """Fresh planner statistics after the fill (autovacuum's lag behind a fast fill would
        otherwise leave the planner with a near-empty table's)."""
        if self.pg_name:
            asyncio.run(_apsql(pg, "ANALYZE", self.pg_name))

    def counts(self) -> dict[str, int]:
        rows = self.api.get("/workspaces/bench/usage", params={"group_by": "day"}).json()
        return {"logged_in_bench": int(rows["total"]["requests"])}

    def stop(self, pg: str) -> None:
        harness.PROCS.stop(self.proc)
        self.ui.close()
        self.api.close()
        if self.pg_name:
            _psql(pg, f'DROP DATABASE "{self.pg_name}" WITH (FORCE)')


def measure_together(benches: list[Bench], reps: int) -> list[dict[str, dict[str, float]]]:
    """Each check ``reps`` times on every router, the routers taking turns request by request,
    so that a change of the machine's load falls on all of them alike."""
    checks = [b.checks() for b in benches]
    out: list[dict[str, dict[str, float]]] = [{} for _ in benches]
    for name in checks[0]:
        times: list[list[float]] = [[] for _ in benches]
        cpu = [0.0] * len(benches)
        load_before = load()
        for check in checks:
            client, path, params = check[name]
            answer = client.get(path, params=params)  # warm
            assert answer.status_code == 200, (name, answer.status_code, answer.text[:300])
        for _ in range(reps):
            for i, bench in enumerate(benches):
                client, path, params = checks[i][name]
                cpu_before, t = cpu_seconds(bench.proc.pid), time.perf_counter()
                client.get(path, params=params).raise_for_status()
                times[i].append((time.perf_counter() - t) * 1000)
                cpu[i] += cpu_seconds(bench.proc.pid) - cpu_before
        for i in range(len(benches)):
            ordered = sorted(times[i])
            out[i][name] = {
                "p50": round(statistics.median(ordered), 2),
                "p95": round(ordered[min(reps - 1, round(0.95 * (reps - 1)))], 2),
                "load": max(load_before, load()),
                # The router's own CPU while it answered (not the PostgreSQL server's): unlike
                # the wall-clock figures it is not stretched by other processes' load.
                "router_cpu_ms": round(cpu[i] * 1000 / reps, 2),
            }
    return out


def _psql(server: str, sql: str) -> None:
    asyncio.run(_apsql(server, sql))


async def _apsql(server: str, sql: str, database: str = "postgres") -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{server}/{database}")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def writer_throughput(db: str, pg: str, rundir: Path, batches: int) -> dict[str, float]:
    """Rows per second the log writer stores: with the rollups, and the rows alone."""
    from junction.accounting import sqlite_sink
    from junction.accounting.entry import COLUMNS, log_values
    from junction.accounting.row_store import INSERT, DatabaseRowStore
    from junction.config.snapshot import Snapshot, WorkspaceView
    from junction.core.call import Call
    from junction.store.db import create_engine, migrate
    from junction.store.serving_db import open_database

    name = None
    if db == "sqlite":
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp(dir=rundir)}/writes.db"
    else:
        name = "usage_writes_" + secrets.token_hex(4)
        await _apsql(pg, f'CREATE DATABASE "{name}"')
        url = pg.replace("postgresql://", "postgresql+asyncpg://") + "/" + name
    engine = create_engine(url)
    await migrate(engine)
    workspace = WorkspaceView("ws", "bench")
    snapshot = Snapshot()

    def batch(tag: str, b: int) -> list[tuple[Any, ...]]:
        rows = []
        for i in range(500):
            call = Call(f"{tag}-{b}-{i}", "chat.completions")
            call.workspace, call.deployment = workspace, f"bench/model-{i % 2}"
            call.prompt_tokens, call.completion_tokens = 20, 12
            call.finished_at = call.started + 0.002 * (i % 50)
            rows.append(log_values(call, snapshot))
        return rows

    out: dict[str, float] = {}
    port = open_database(url)
    store = DatabaseRowStore(port)
    convert = store.created_at
    plain = INSERT.text(port.dialect)
    try:
        runs = ("rows alone", "rows and rollups") * 2
        for run_no, variant in enumerate(runs):
            data = [batch(f"run{run_no}", b) for b in range(batches)]
            if convert is not None:
                data = [[(r[0], convert(r[1]), *r[2:]) for r in rows] for rows in data]
            t = time.perf_counter()
            if db == "sqlite":  # as the sink process does it (without the pipe)
                import sqlite3

                assert engine.url.database is not None
                conn = sqlite3.connect(engine.url.database, isolation_level=None)
                statements = sqlite_sink.Statements(plain, list(COLUMNS))
                for rows in data:
                    if variant.startswith("rows alone"):
                        conn.execute("BEGIN IMMEDIATE")
                        conn.executemany(plain, rows)
                        conn.execute("COMMIT")
                    else:
                        assert sqlite_sink.store(conn, statements, _dumps(rows)) == b"ok"
                conn.close()
            else:
                for rows in data:
                    if variant.startswith("rows alone"):
                        await port.execute_many(INSERT, rows)
                    else:
                        await store.store(rows)
            rate = batches * 500 / (time.perf_counter() - t)
            out[variant] = max(out.get(variant, 0.0), round(rate))  # the better of two runs
    finally:
        await port.close()
        await engine.dispose()
        if name:
            await _apsql(pg, f'DROP DATABASE "{name}" WITH (FORCE)')
    return out


def _dumps(rows: list[tuple[Any, ...]]) -> bytes:
    import orjson

    return orjson.dumps(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--sizes", default="20000,200000")
    parser.add_argument("--concurrency", type=int, default=48)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2, help="measurements of both sizes")
    parser.add_argument("--write-batches", type=int, default=40)
    parser.add_argument("--out", default="usage.json", help="file name under bench/results")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rundir = Path(tempfile.mkdtemp(prefix="usage-bench-"))
    results: dict[str, Any] = {"sizes": sizes, "started": datetime.now(UTC).isoformat()}
    upstream, upstream_port, _ = harness.start_upstream(rundir, "upstream", 8, 0.0)
    try:
        for db in args.db.split(","):
            # One router per size, each filled to its size, then measured taking turns.
            benches = [Bench(db, args.pg, rundir) for _ in sizes]
            per_size: dict[str, dict[str, Any]] = {}
            try:
                for size, bench in zip(sizes, benches, strict=True):
                    bench.start(upstream_port)
                    rate = asyncio.run(bench.fill(size, args.concurrency))
                    fill_load = load()
                    print(f"{db}: {size} requests logged, {rate:.0f}/s (load {fill_load})")
                    bench.analyze(args.pg)
                    per_size[str(size)] = {
                        "fill_rate_per_s": round(rate),
                        "fill_load": fill_load,
                        **bench.counts(),
                        "rounds": [],
                    }
                for _ in range(args.rounds):
                    start_load = load()
                    measured = measure_together(benches, args.reps)
                    print(f"  measured (load {start_load} at the start)", flush=True)
                    for size, timings in zip(sizes, measured, strict=True):
                        per_size[str(size)]["rounds"].append(
                            {"load": start_load, "timings_ms": timings}
                        )
                for entry in per_size.values():
                    # The round begun at the lowest load is the one reported; all are kept.
                    quietest = min(entry["rounds"], key=lambda r: r["load"])
                    entry["timings_ms"] = quietest["timings_ms"]
            finally:
                for bench in benches:
                    if hasattr(bench, "proc"):
                        bench.stop(args.pg)
            writes_load = load()
            writes = asyncio.run(writer_throughput(db, args.pg, rundir, args.write_batches))
            results[db] = {
                "sizes": per_size,
                "writer_rows_per_s": writes,
                "writer_load": max(writes_load, load()),
            }
            report(db, results[db], sizes)
    finally:
        harness.PROCS.stop(upstream)
        harness.PROCS.stop_all()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / args.out).write_text(json.dumps(results, indent=2) + "\n")


def report(db: str, result: dict[str, Any], sizes: list[int]) -> None:
    small, large = (result["sizes"][str(s)]["timings_ms"] for s in (sizes[0], sizes[-1]))
    print(f"\n{db}: p50 / p95 ms at {sizes[0]} and {sizes[-1]} logged requests; p95 growth")
    for name in small:
        a, b = small[name], large[name]
        growth = b["p95"] / a["p95"] if a["p95"] else float("nan")
        print(
            f"  {name:42} {a['p50']:8.2f} {a['p95']:8.2f} (load {a['load']:5.2f})"
            f"   {b['p50']:8.2f} {b['p95']:8.2f} (load {b['load']:5.2f})   {growth:5.2f}x"
            f"   cpu {a.get('router_cpu_ms')} / {b.get('router_cpu_ms')} ms"
        )
    print(f"  writer rows/s: {result['writer_rows_per_s']}", flush=True)


if __name__ == "__main__":
    main()
