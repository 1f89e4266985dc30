"""What the request log and access lines cost on the request path.

    .venv/bin/python bench/logging_bench.py [--quick] [--reps N]

Runs Junction twice per repetition against the same fast benchmark upstream (bench/upstream.py),
in alternating order: ``off`` (JUNCTION_REQUEST_LOG=false, JUNCTION_ACCESS_LOG=false) and ``on``
(the defaults: every request queued for the SQLite request log, batch-written behind, and one
JSON access line on stdout). Metrics and budget accounting run in both. For each it measures

- saturation: ``wrk -t2 -c32`` for a fixed time, non-streaming chat completions (RPS, p50, p99,
  and the router's CPU time per request, read from /proc: the steadiest figure on a shared
  machine);
- a sustained fixed rate (open loop, bench/loadgen.py) at half of the ``off`` saturation of the
  first repetition, where latency rather than throughput is what a user feels (p50, p90, p99).

After each ``on`` run the router is stopped with SIGTERM and the rows in its database are
counted against the requests its /metrics says it answered: every one must be logged.
Writes bench/results/logging.json and prints a table. Binds and targets 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import run as harness  # noqa: E402  (bench/run.py: processes, wrk and loadgen helpers)

RESULTS = BENCH / "results"
VARIANTS = {
    "off": {"JUNCTION_REQUEST_LOG": "false", "JUNCTION_ACCESS_LOG": "false"},
    "on": {},
    # for finding where a cost comes from (--variants off,db,access)
    "db": {"JUNCTION_ACCESS_LOG": "false"},
    "access": {"JUNCTION_REQUEST_LOG": "false"},
}


def start_junction(
    rundir: Path, upstream_port: int, variant: str
) -> tuple[harness.Target, Path, Path]:
    datadir = Path(tempfile.mkdtemp(prefix=f"junction-{variant}-", dir=rundir))
    admin_key = "adm-" + secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "JUNCTION_DATA_DIR": str(datadir),
        "JUNCTION_ADMIN_KEY": admin_key,
        "JUNCTION_METRICS_PUBLIC": "1",  # scraped below without a token
        **VARIANTS[variant],
    }
    port = harness.free_port()
    cmd = [str(harness.JUNCTION_BIN), "serve", "--host", harness.HOST, "--port", str(port)]
    logp = datadir / "stdout.log"
    proc = harness.PROCS.start(cmd, logp, env=env)
    harness.wait_until(
        lambda: harness.http_request("GET", port, "/healthz", timeout=2.0)[0] == 200,
        proc,
        60,
        logp,
    )
    harness.admin(
        port,
        admin_key,
        "/admin/v1/providers",
        {
            "name": "bench",
            "base_url": f"http://{harness.HOST}:{upstream_port}/v1",
            "models": [
                {
                    "name": "bench-model",
                    "context_length": 32768,
                    "input_price": 1,
                    "output_price": 2,
                }
            ],
        },
    )
    harness.admin(port, admin_key, "/admin/v1/workspaces", {"name": "bench"})
    key = harness.admin(port, admin_key, "/admin/v1/workspaces/bench/keys", {"name": "b"})["key"]
    harness.admin(
        port,
        admin_key,
        "/admin/v1/workspaces/bench/assistants",
        {"name": "bench-assistant", "model": "bench/bench-model", "system_prompt": "Be terse."},
    )
    target = harness.Target(
        name=f"junction-{variant}",
        port=port,
        path="/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        model="bench-assistant",
        paced_port=port,
        paced_model="bench-assistant",
        proc=proc,
        cold_start_s=0.0,
    )
    return target, datadir, logp


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def answered(port: int) -> int:
    """Data-plane requests the router says it answered (sum of junction_requests_total)."""
    _, raw = harness.http_request("GET", port, "/metrics")
    total = 0.0
    for line in raw.decode().splitlines():
        if line.startswith("junction_requests_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def logged(datadir: Path) -> int:
    with sqlite3.connect(datadir / "junction.db") as db:
        return int(db.execute("SELECT count(*) FROM request_logs").fetchone()[0])


def access_lines(logp: Path) -> int:
    return len(re.findall(rb'"logger":"junction.access"', logp.read_bytes()))


def measure(
    variant: str,
    plan: harness.Plan,
    wrk: str,
    upstream_port: int,
    rundir: Path,
    rate: float | None,
) -> dict[str, Any]:
    target, datadir, logp = start_junction(rundir, upstream_port, variant)
    out: dict[str, Any] = {"variant": variant}
    try:
        harness.run_wrk(wrk, plan, target, False, plan.warmup_s, rundir)
        cpu0 = cpu_seconds(target.proc.pid)
        sat = harness.run_wrk(wrk, plan, target, False, plan.sat_s, rundir)
        cpu = cpu_seconds(target.proc.pid) - cpu0
        out["saturation"] = {
            "rps": sat["rps"],
            **sat["latency_ms"],
            "errors": sat["errors"],
            "cpu_us_per_request": 1e6 * cpu / max(1, sat["requests"]),
        }
        rate = rate or harness.sig2(0.5 * sat["rps"])
        fixed = harness.fixed_rate(target, plan, rate, plan.rate_s, rundir)
        out["fixed"] = {
            "offered_rps": rate,
            "achieved_rps": fixed["achieved_rps"],
            **fixed["latency_ms"],
            "errors": fixed["errors"],
        }
        out["answered"] = answered(target.port)
    finally:
        harness.PROCS.stop(target.proc, grace_s=60)
    if variant in ("on", "db"):
        out["logged"] = logged(datadir)
    if variant in ("on", "access"):
        out["access_lines"] = access_lines(logp)
    harness.log(f"{variant}: {json.dumps(out)}")
    return out


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def med(variant: str, *path: str) -> float:
        values = []
        for r in runs:
            if r["variant"] == variant:
                v: Any = r
                for p in path:
                    v = v[p]
                values.append(float(v))
        return statistics.median(values)

    table: dict[str, Any] = {}
    for metric in (
        ("saturation", "rps"),
        ("saturation", "cpu_us_per_request"),
        ("saturation", "p50"),
        ("saturation", "p99"),
        ("fixed", "p50"),
        ("fixed", "p90"),
        ("fixed", "p99"),
    ):
        if not any(r["variant"] == "on" for r in runs):
            break
        off, on = med("off", *metric), med("on", *metric)
        table[".".join(metric)] = {"off": off, "on": on, "change_pct": 100 * (on - off) / off}
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--variants", default="off,on", help="comma-separated: off,on,db,access")
    args = ap.parse_args()
    plan = harness.Plan.quick() if args.quick else harness.Plan()
    plan.reps = args.reps or (1 if args.quick else 3)
    wrk = harness.ensure_wrk()
    harness.WORK.mkdir(parents=True, exist_ok=True)
    rundir = Path(tempfile.mkdtemp(prefix="logging-", dir=harness.WORK))
    runs: list[dict[str, Any]] = []
    try:
        _, upstream_port, _ = harness.start_upstream(rundir, "upstream", 8, 0.0)
        rate: float | None = None
        for rep in range(plan.reps):
            chosen = args.variants.split(",")
            order = chosen if rep % 2 == 0 else chosen[::-1]
            for variant in order:
                result = measure(variant, plan, wrk, upstream_port, rundir, rate)
                rate = rate or result["fixed"]["offered_rps"]
                result["rep"] = rep + 1
                runs.append(result)
                time.sleep(1.0)
    finally:
        harness.PROCS.stop_all()
    report = {"plan": plan.__dict__, "runs": runs, "median": summary(runs)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "logging.json").write_text(json.dumps(report, indent=2) + "\n")
    print("| figure | logging off | logging on | change |\n|---|---|---|---|")
    for name, row in report["median"].items():
        unit = "RPS" if name.endswith("rps") else "µs" if "cpu" in name else "ms"
        print(
            f"| {name} ({unit}) | {row['off']:.2f} | {row['on']:.2f} | {row['change_pct']:+.1f}% |"
        )
    for r in runs:
        print(
            f"rep {r['rep']} {r['variant']}: answered {r['answered']}, "
            f"logged {r.get('logged', '-')}, access lines {r.get('access_lines', '-')}"
        )


if __name__ == "__main__":
    main()
