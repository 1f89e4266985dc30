"""A router started on a large catalog: cold start, idle RSS and the data plane's latency.

    .venv/bin/python bench/tenants_serve.py DATABASE_FILE [--requests 300]

DATABASE_FILE is a SQLite catalog that ``bench/catalog_cost.py`` built (it leaves it in its
temporary directory; e.g. 50,000 workspaces, 100,000 keys, 150,000 assistants). A first
start adds the upstream as provider ``up`` and one key through the admin API; then a second,
measured start: from the process start to its first answered chat completion, the time until
the whole catalog is loaded (the router's log line), the RSS once idle, the RSS after one admin
request (the admin API and its libraries load on first use), and sequential chat completions
with that key. The same is measured on an empty
catalog (one workspace, one key) first: what start-up costs without a catalog. Writes
bench/results/tenants_serve.json.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tenants_bench import CHAT, JUNCTION, LOADED, Http, free_port, pct, rss_mb

BENCH = Path(__file__).resolve().parent


def measure(work: Path, db: Path, requests: int) -> dict[str, Any]:
    """A first start adds the upstream and one key; the second start is measured."""
    admin_key = "ja-bench-" + secrets.token_hex(8)
    env = {
        **os.environ,
        "JUNCTION_DATA_DIR": str(work),
        "JUNCTION_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "JUNCTION_ADMIN_KEY": admin_key,
        "JUNCTION_SECRET_KEY": "bench-serve",
        "JUNCTION_ACCESS_LOG": "false",
        "JUNCTION_REQUEST_LOG": "false",
    }
    procs: list[subprocess.Popen[bytes]] = []

    def serve(port: int) -> subprocess.Popen[bytes]:
        log = (work / "junction.log").open("ab")
        proc = subprocess.Popen(
            [str(JUNCTION), "serve", "--port", str(port)], env=env, stdout=log, stderr=log
        )
        procs.append(proc)
        return proc

    try:
        up_port = free_port()
        procs.append(
            subprocess.Popen(
                [sys.executable, str(BENCH / "upstream.py"), "--port", str(up_port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        port = free_port()
        first = serve(port)
        admin = Http(port, admin_key)
        deadline = time.monotonic() + 300
        while not admin.ok("GET", "/healthz"):
            if time.monotonic() > deadline or first.poll() is not None:
                raise RuntimeError(f"junction did not start: see {work}")
            time.sleep(0.1)
        base = f"http://127.0.0.1:{up_port}/v1"
        body = {"name": "up", "base_url": base, "models": [{"name": "bench-model"}]}
        admin.call("POST", "/admin/v1/providers", body)
        found = admin.call("GET", "/admin/v1/workspaces?limit=1")["data"]
        if found:
            ws = found[0]["name"]
        else:  # the empty catalog: one workspace with the assistant the chat names
            ws = "bench"
            admin.call("POST", "/admin/v1/workspaces", {"name": ws})
            assistant = {"name": "a0", "model": "up/bench-model"}
            admin.call("POST", f"/admin/v1/workspaces/{ws}/assistants", assistant)
        key = admin.call("POST", f"/admin/v1/workspaces/{ws}/keys", {"name": "bench"})["key"]
        first.terminate()
        first.wait(30)
        procs.remove(first)
        with sqlite3.connect(db) as conn:
            counts = {
                t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("workspaces", "api_keys", "assistants")
            }

        log_path = work / "junction.log"
        log_from = log_path.stat().st_size
        started = time.monotonic()
        proc = serve(port)
        client = Http(port)
        while not client.ok("POST", "/v1/chat/completions", CHAT, key):
            if time.monotonic() - started > 300 or proc.poll() is not None:
                raise RuntimeError(f"junction did not answer: see {work}")
            time.sleep(0.02)
        first_answer = time.monotonic() - started
        # The whole catalog loads in the background; the router says when it is in. Waiting
        # on its log line, not on an admin read: the admin API would load its own libraries.
        while LOADED not in log_path.read_bytes()[log_from:]:
            if time.monotonic() - started > 300 or proc.poll() is not None:
                raise RuntimeError(f"junction did not load its catalog: see {work}")
            time.sleep(0.02)
        loaded = time.monotonic() - started
        time.sleep(3)
        idle = rss_mb(proc.pid)
        Http(port, admin_key).call("GET", "/admin/v1/workspaces?limit=1")
        time.sleep(1)
        after_admin = rss_mb(proc.pid)
        times = []
        for _ in range(requests):
            t = time.perf_counter()
            client.call("POST", "/v1/chat/completions", CHAT, key)
            times.append(time.perf_counter() - t)
        return {
            "catalog": counts,
            "first_answer_s": round(first_answer, 3),
            "catalog_loaded_s": round(loaded, 3),
            "idle_rss_mb": round(idle, 1),
            "rss_after_an_admin_request_mb": round(after_admin, 1),
            "data_plane_ms": {
                "p50": round(statistics.median(times) * 1000, 2),
                "p99": round(pct(times, 0.99) * 1000, 2),
            },
            "loadavg": [round(x, 2) for x in os.getloadavg()],
        }
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("database")
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="junction-tenants-serve-"))
    try:
        empty = work / "empty"
        empty.mkdir()
        baseline = measure(empty, empty / "catalog.db", args.requests)
        large = work / "large"
        large.mkdir()
        shutil.copy(args.database, large / "catalog.db")
        result = {
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "database": "SQLite",
            "large": measure(large, large / "catalog.db", args.requests),
            "empty_catalog": baseline,
        }
        out = BENCH / "results" / "tenants_serve.json"
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
