"""Thousands of tenants: what configuration costs as the catalog grows.

    .venv/bin/python bench/tenants_bench.py [--sizes 100,1000,10000] [--keys 100000]

Starts the harness's upstream, a fresh PostgreSQL database and two `junction serve` replicas
(A and B) on it and Redis, as README "Running at scale" describes. Grows the catalog through
A's bulk path (`POST /admin/v1/batch`, 1,000 operations a request) to each size in turn --
workspaces of 2 keys and 3 assistants each -- and at each size measures:

- admin writes one at a time through A (create a key, patch an assistant, patch a workspace,
  in turn): p50 and p99 of the answer time;
- propagation: a key created through A, until replica B answers with it (Redis wake-up, then
  B applies the change feed's entries); p50 and max;
- the data plane: sequential chat completions through B with keys picked across the catalog;
  p50 and p99;
- cold start: a third `junction serve` started on the same database, from the process start
  to its first answered chat completion, and its RSS once idle;
- in the benchmark's own process: the time to load the catalog (``load_all``: the part of
  start-up that grows with it) and the snapshot's bytes per key and per assistant.

Last, with ``--keys N``, keys are added (in batches) until the catalog holds N and the same
figures are taken again. Writes
bench/results/tenants.json. Loopback only; the machine's load is recorded with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
JUNCTION = ROOT / ".venv" / "bin" / "junction"
PG = "postgresql://postgres@127.0.0.1:5432"
BATCH = 1000
CHAT = {"model": "a0", "messages": [{"role": "user", "content": "hi"}]}
LOADED = b"configuration loaded:"  # the router's log line once its whole catalog is in


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Http:
    """One keep-alive connection to one server."""

    def __init__(self, port: int, key: str = "") -> None:
        self.port = port
        self.key = key
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def call(self, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"}
        if key or self.key:
            headers["Authorization"] = f"Bearer {key or self.key}"
        for attempt in (1, 2):  # an idle keep-alive connection may have been closed: reopen
            try:
                self.conn.request(method, path, data, headers)
                response = self.conn.getresponse()
                break
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
                if attempt == 2:
                    raise
        raw = response.read()
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status} {raw[:300]!r}")
        return json.loads(raw) if raw else None

    def ok(self, method: str, path: str, body: Any = None, key: str | None = None) -> bool:
        try:
            self.call(method, path, body, key)
            return True
        except (RuntimeError, OSError, http.client.HTTPException):
            return False


def psql(sql: str) -> None:
    subprocess.run(["psql", f"{PG}/test", "-qc", sql], check=True, capture_output=True)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    """The process's CPU time so far (user + system): unlike wall time, not stretched by
    other work on the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(values) * 1000, 2),
        "p99_ms": round(pct(values, 0.99) * 1000, 2),
        "max_ms": round(max(values) * 1000, 2),
        "n": len(values),
    }


class Bench:
    def __init__(self, work: Path, database: str) -> None:
        self.work = work
        self.database = database
        self.admin_key = "ja-bench-" + secrets.token_hex(8)
        self.env = {
            **os.environ,
            "JUNCTION_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}",
            "JUNCTION_REDIS_URL": "redis://127.0.0.1:6379/0",
            "JUNCTION_REDIS_PREFIX": database,
            "JUNCTION_SECRET_KEY": "bench-" + database,
            "JUNCTION_ADMIN_KEY": self.admin_key,
            "JUNCTION_ACCESS_LOG": "false",
            "JUNCTION_REQUEST_LOG": "false",
        }
        self.procs: list[subprocess.Popen[bytes]] = []
        self.workspaces = 0
        self.keys: list[str] = []  # a sample of key secrets across the catalog
        self.key_count = 0
        self.filled_keys = 0  # keys inserted by fill_direct (their ids are numbered)
        self.assistant_count = 0

    def start(self, name: str) -> tuple[subprocess.Popen[bytes], int]:
        port = free_port()
        data_dir = self.work / name
        data_dir.mkdir(exist_ok=True)
        log = (self.work / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [str(JUNCTION), "serve", "--port", str(port)],
            env={**self.env, "JUNCTION_DATA_DIR": str(data_dir)},
            stdout=log,
            stderr=log,
        )
        self.procs.append(proc)
        return proc, port

    def wait_ready(self, port: int, proc: subprocess.Popen[bytes], key: str = "") -> float:
        """Seconds until a chat completion (or, without a key, /healthz) answers."""
        start = time.monotonic()
        client = Http(port)
        while time.monotonic() - start < 300:
            if proc.poll() is not None:
                raise RuntimeError(f"junction exited: see {self.work}")
            if key and client.ok("POST", "/v1/chat/completions", CHAT, key):
                return time.monotonic() - start
            if not key and client.ok("GET", "/healthz"):
                return time.monotonic() - start
            time.sleep(0.02)
        raise RuntimeError("junction did not answer within 300 s")

    def batch(self, admin: Http, operations: list[dict[str, Any]]) -> list[Any]:
        answers: list[Any] = []
        for i in range(0, len(operations), BATCH):
            answers += admin.call(
                "POST", "/admin/v1/batch", {"operations": operations[i : i + BATCH]}
            )["data"]
        return answers

    def grow(self, admin: Http, workspaces: int) -> float:
        start = time.monotonic()
        operations: list[dict[str, Any]] = []
        for n in range(self.workspaces, workspaces):
            ws = f"ws{n:06d}"
            operations.append({"method": "POST", "path": "/workspaces", "body": {"name": ws}})
            operations += [
                {"method": "POST", "path": f"/workspaces/{ws}/keys", "body": {"name": f"k{i}"}}
                for i in range(2)
            ]
            operations += [
                {
                    "method": "POST",
                    "path": f"/workspaces/{ws}/assistants",
                    "body": {
                        "name": f"a{i}",
                        "model": "up/bench-model",
                        "system_prompt": "Be terse.",
                    },
                }
                for i in range(3)
            ]
        answers = self.batch(admin, operations)
        new_keys = [a["key"] for a in answers if isinstance(a, dict) and "key" in a]
        self.keys += random.sample(new_keys, min(len(new_keys), 200))
        self.key_count += len(new_keys)
        self.assistant_count += 3 * (workspaces - self.workspaces)
        self.workspaces = workspaces
        return time.monotonic() - start

    def fill_direct(self, workspaces: int, keys: int) -> float:
        """Rows inserted straight into the database while A and B are stopped (restarting
        them is then their cold start at this size): minutes faster than the bulk API on a
        busy machine, and the same rows (same key hashing, same columns)."""
        start = time.monotonic()
        sys.path.insert(0, str(ROOT / "src"))
        from sqlalchemy import insert

        from junction.security.secrets import SecretBox
        from junction.store import models as m
        from junction.store.db import create_engine, session_factory

        box = SecretBox(self.env["JUNCTION_SECRET_KEY"].encode())
        now = m.utcnow()
        first_ws, first_key = self.workspaces, self.filled_keys
        # Two keys for each workspace, then any more spread over all of them.
        new_keys = [
            (i, f"ws_{i // 2 if i < 2 * workspaces else i % workspaces}")
            for i in range(first_key, max(keys, 2 * workspaces))
        ]
        secrets_sample: list[str] = []

        async def run() -> None:
            engine = create_engine(self.env["JUNCTION_DATABASE_URL"])
            sessions = session_factory(engine)
            try:
                for lo in range(first_ws, workspaces, 2000):
                    hi = min(workspaces, lo + 2000)
                    async with sessions() as s:
                        await s.execute(
                            insert(m.Workspace),
                            [
                                {"id": f"ws_{n}", "name": f"ws{n:06d}", "created_at": now}
                                for n in range(lo, hi)
                            ],
                        )
                        await s.execute(
                            insert(m.Assistant),
                            [
                                {
                                    "id": f"asst_{n}_{j}",
                                    "workspace_id": f"ws_{n}",
                                    "name": f"a{j}",
                                    "model": ["up/bench-model"],
                                    "fallbacks": [],
                                    "system_prompt": "Be terse.",
                                    "created_at": now,
                                    "updated_at": now,
                                }
                                for n in range(lo, hi)
                                for j in range(3)
                            ],
                        )
                        await s.commit()
                for lo in range(0, len(new_keys), 5000):
                    rows = []
                    for i, ws in new_keys[lo : lo + 5000]:
                        secret = "jk-" + secrets.token_urlsafe(32)
                        if random.random() < 0.01 or len(secrets_sample) < 20:
                            secrets_sample.append(secret)
                        rows.append(
                            {
                                "id": f"key_{i}",
                                "workspace_id": ws,
                                "name": f"k{i % 2}",
                                "key_hash": box.hash_key(secret),
                                "key_prefix": secret[:10],
                                "created_at": now,
                            }
                        )
                    async with sessions() as s:
                        await s.execute(insert(m.ApiKey), rows)
                        await s.commit()
            finally:
                await engine.dispose()

        asyncio.run(run())
        self.keys += random.sample(secrets_sample, min(len(secrets_sample), 200))
        self.key_count += len(new_keys)
        self.filled_keys += len(new_keys)
        self.assistant_count += 3 * (workspaces - first_ws)
        self.workspaces = workspaces
        return time.monotonic() - start

    def more_keys(self, admin: Http, total: int) -> float:
        start = time.monotonic()
        need = total - self.key_count
        operations = [
            {
                "method": "POST",
                "path": f"/workspaces/ws{i % self.workspaces:06d}/keys",
                "body": {"name": f"extra{i}"},
            }
            for i in range(need)
        ]
        answers = self.batch(admin, operations)
        self.keys += random.sample([a["key"] for a in answers], min(len(answers), 200))
        self.key_count = total
        return time.monotonic() - start

    def writes(self, admin: Http, n: int, pid: int) -> dict[str, Any]:
        times: dict[str, list[float]] = {
            "create_key": [],
            "patch_assistant": [],
            "patch_workspace": [],
        }
        cpu0 = cpu_s(pid)
        for i in range(n):
            ws = f"ws{random.randrange(self.workspaces):06d}"
            kind = list(times)[i % 3]
            t = time.perf_counter()
            if kind == "create_key":
                admin.call("POST", f"/admin/v1/workspaces/{ws}/keys", {"name": f"w{i}"})
                self.key_count += 1
            elif kind == "patch_assistant":
                admin.call(
                    "PATCH", f"/admin/v1/workspaces/{ws}/assistants/a1", {"system_prompt": f"v{i}"}
                )
            else:
                admin.call("PATCH", f"/admin/v1/workspaces/{ws}", {"max_tokens": 1000 + i})
            times[kind].append(time.perf_counter() - t)
        every = [x for v in times.values() for x in v]
        cpu = (cpu_s(pid) - cpu0) / n
        return {"all": ms(every), "cpu_ms_per_write": round(cpu * 1000, 2)} | {
            k: ms(v) for k, v in times.items()
        }

    def propagation(self, admin: Http, replica: Http, n: int, pid: int) -> dict[str, Any]:
        times = []
        cpu0 = cpu_s(pid)
        for i in range(n):
            ws = f"ws{random.randrange(self.workspaces):06d}"
            t = time.perf_counter()
            key = admin.call("POST", f"/admin/v1/workspaces/{ws}/keys", {"name": f"p{i}"})["key"]
            self.key_count += 1
            while not replica.ok("GET", "/v1/models", key=key):
                if time.perf_counter() - t > 30:
                    raise RuntimeError("a change did not reach replica B within 30 s")
                time.sleep(0.002)
            times.append(time.perf_counter() - t)
        # B's CPU per change: applying it, and answering the polls for the new key.
        return ms(times) | {"replica_cpu_ms_per_change": round((cpu_s(pid) - cpu0) / n * 1000, 2)}

    def data_plane(self, replica: Http, n: int) -> dict[str, Any]:
        times = []
        for _ in range(n):
            key = random.choice(self.keys)
            t = time.perf_counter()
            replica.call("POST", "/v1/chat/completions", CHAT, key)
            times.append(time.perf_counter() - t)
        return ms(times)

    def cold_start(self, name: str) -> dict[str, Any]:
        log_path = self.work / f"{name}.log"
        log_from = log_path.stat().st_size if log_path.exists() else 0
        t = time.monotonic()
        proc, port = self.start(name)
        first = self.wait_ready(port, proc, random.choice(self.keys))
        # The full catalog loads in the background after start-up; the router logs its end.
        # (An admin read would wait for it too, but loads the admin API's own libraries.)
        while LOADED not in log_path.read_bytes()[log_from:]:
            if time.monotonic() - t > 300 or proc.poll() is not None:
                raise RuntimeError(f"junction did not load its catalog: see {self.work}")
            time.sleep(0.02)
        loaded = time.monotonic() - t
        time.sleep(3)
        idle = rss_mb(proc.pid)
        Http(port, self.admin_key).call("GET", "/admin/v1/workspaces?limit=1")
        time.sleep(1)
        after_admin = rss_mb(proc.pid)
        proc.terminate()
        proc.wait(30)
        self.procs.remove(proc)
        return {
            "first_answer_s": round(first, 3),
            "catalog_loaded_s": round(loaded, 3),
            "idle_rss_mb": round(idle, 1),
            "rss_after_an_admin_request_mb": round(after_admin, 1),
            "wall_s": round(time.monotonic() - t, 3),
        }


def commit_floor(url: str, n: int = 30) -> float:
    """p50 of a bare INSERT + COMMIT on the same PostgreSQL: what any durable write costs."""

    async def run() -> float:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            await conn.execute("CREATE TABLE IF NOT EXISTS bench_floor (x int)")
            times = []
            for _ in range(n):
                t = time.perf_counter()
                async with conn.transaction():
                    await conn.execute("INSERT INTO bench_floor VALUES (1)")
                times.append(time.perf_counter() - t)
            await conn.execute("DROP TABLE bench_floor")
            return round(statistics.median(times) * 1000, 2)
        finally:
            await conn.close()

    return asyncio.run(run())


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


async def memory_per_view(url: str) -> dict[str, Any]:
    """The catalog's load time (``load_all``, the part of start-up that grows with the
    catalog) and the snapshot's size per key, per assistant and per workspace
    (``catalog_cost.view_bytes``)."""
    sys.path.insert(0, str(ROOT / "src"))
    from catalog_cost import view_bytes

    from junction.config.load import load_all
    from junction.store.serving_db import open_database

    db = open_database(url)
    try:

        def no_providers(row: Any) -> Any:
            return None

        await load_all(db, no_providers)  # warm: connections, statement caches
        started = time.perf_counter()
        snapshot = await load_all(db, no_providers)
        load_s = time.perf_counter() - started
    finally:
        await db.close()
    sizes = view_bytes(snapshot)
    gc.collect()
    return {
        "catalog_load_s": round(load_s, 3),
        "keys": len(snapshot.keys),
        "assistants": sum(len(w.assistants) for w in snapshot.workspaces.values()),
        **sizes,
    }


def write(path: str, results: list[dict[str, Any]], fill: str) -> None:
    out = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cores": os.cpu_count(), "loadavg_end": loadavg()},
        "database": "PostgreSQL (two replicas, Redis)",
        "shape": "each workspace: 2 keys, 3 assistants (then more keys spread over them)",
        "fill": "POST /admin/v1/batch through A"
        if fill == "api"
        else "rows inserted with A and B stopped, then both restarted",
        "sizes": results,
    }
    Path(path).parent.mkdir(exist_ok=True)
    Path(path).write_text(json.dumps(out, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--keys", type=int, default=0, help="then grow to this many keys")
    parser.add_argument("--writes", type=int, default=150)
    parser.add_argument("--propagations", type=int, default=20)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument(
        "--fill",
        choices=("api", "direct"),
        default="api",
        help="grow through POST /admin/v1/batch, or insert rows with A and B stopped",
    )
    parser.add_argument("--out", default=str(BENCH / "results" / "tenants.json"))
    args = parser.parse_args()
    random.seed(7)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop: still clean up below
    work = Path(tempfile.mkdtemp(prefix="junction-tenants-"))
    database = "junction_tenants_" + secrets.token_hex(4)
    psql(f'CREATE DATABASE "{database}"')
    bench = Bench(work, database)
    upstream: subprocess.Popen[bytes] | None = None
    results: list[dict[str, Any]] = []
    try:
        up_port = free_port()
        upstream = subprocess.Popen(
            [sys.executable, str(BENCH / "upstream.py"), "--port", str(up_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        a, a_port = bench.start("a")
        bench.wait_ready(a_port, a)  # A migrates the empty database first
        b, b_port = bench.start("b")
        bench.wait_ready(b_port, b)
        admin = Http(a_port, bench.admin_key)
        replica = Http(b_port)
        admin.call(
            "POST",
            "/admin/v1/providers",
            {
                "name": "up",
                "base_url": f"http://127.0.0.1:{up_port}/v1",
                "models": [{"name": "bench-model"}],
            },
        )
        steps: list[tuple[str, int]] = [("workspaces", int(s)) for s in args.sizes.split(",")]
        if args.keys:
            steps.append(("keys", args.keys))
        for what, size in steps:
            print(f"growing to {size} {what} (load {loadavg()})", flush=True)
            if args.fill == "direct":
                for proc in (a, b):
                    proc.terminate()
                    proc.wait(30)
                    bench.procs.remove(proc)
                grow_s = bench.fill_direct(
                    size if what == "workspaces" else bench.workspaces,
                    size if what == "keys" else 0,
                )
                a, a_port = bench.start("a")
                bench.wait_ready(a_port, a, random.choice(bench.keys))
                b, b_port = bench.start("b")
                bench.wait_ready(b_port, b, random.choice(bench.keys))
                admin, replica = Http(a_port, bench.admin_key), Http(b_port)
            elif what == "workspaces":
                grow_s = bench.grow(admin, size)
            else:
                grow_s = bench.more_keys(admin, size)
            time.sleep(2)
            row: dict[str, Any] = {
                "workspaces": bench.workspaces,
                "keys": bench.key_count,
                "assistants": bench.assistant_count,
                "fill": args.fill,
                "fill_s": round(grow_s, 1),
                "load_before": loadavg(),
            }
            row["commit_floor_p50_ms"] = commit_floor(f"{PG}/{database}")
            row["admin_write"] = bench.writes(admin, args.writes, a.pid)
            row["propagation"] = bench.propagation(admin, replica, args.propagations, b.pid)
            row["data_plane"] = bench.data_plane(replica, args.requests)
            row["cold_start"] = bench.cold_start(f"c{size}")
            row["catalog"] = asyncio.run(memory_per_view(bench.env["JUNCTION_DATABASE_URL"]))
            row["rss_a_mb"] = round(rss_mb(a.pid), 1)
            row["rss_b_mb"] = round(rss_mb(b.pid), 1)
            row["load_after"] = loadavg()
            results.append(row)
            print(json.dumps(row), flush=True)
            write(args.out, results, args.fill)  # what is measured so far survives an interruption
    finally:
        for proc in reversed(bench.procs):
            proc.terminate()
        if upstream is not None:
            upstream.terminate()
        for proc in [*bench.procs, *([upstream] if upstream else [])]:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if os.environ.get("KEEP_WORK"):
            print("work dir:", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
