"""Two builds of Junction side by side, in one run: this checkout against another one.

    python bench/ab.py --before /path/to/other/checkout/.venv/bin/junction [--rounds 4]

Both are started and configured exactly as ``run.py`` starts Junction (fresh SQLite data
directory, the same bench upstream, system prompt, assistant, rate limits and token window;
request logging on, history off). Beside them run the upstream itself (``direct``) and a bare
aiohttp + uvloop proxy (``passthrough.py``, on this checkout's venv). Each round, in an order
that alternates for the two builds so that whatever else the machine does falls on both alike:

- each build is restarted: **cold start** (process start to the first answered completion),
  then its **idle RSS** (the process and its children: the request-log sink) once the first
  log rows are stored;
- non-streamed saturation (wrk 2 threads x 32 connections), with the **RSS under load**;
- streamed saturation (the same wrk load, 32 chunks a stream);
- **one connection**: the closed-loop generator at concurrency 1 (p50, p99), for every target
  including ``direct``, so that the added latency is a difference within the round;
- **TTFT** on the paced upstream (4 streams, 16 chunks 10 ms apart).

``direct`` and ``passthrough`` get the same saturation and one-connection phases. Writes
``bench/results/ab.json`` (every round, the medians, the ratios to the passthrough) and prints
a table. Everything binds and targets 127.0.0.1; every phase is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # the harness: targets, wrk, process handling

BUILDS = ("before", "after")
ONE_CONN_S = 4.0


def start(name: str, binary: Path, rundir: Path, up: int, paced: int) -> run.Target:
    run.JUNCTION_BIN = binary
    target = run.start_junction(rundir, up, paced)
    target.name = name
    return target


def idle_rss_mb(target: run.Target, wait_s: float = 4.0) -> float:
    """The tree's RSS once the log sink runs (it starts with the first stored rows)."""
    import psutil

    end = time.monotonic() + wait_s
    while time.monotonic() < end:
        try:
            if psutil.Process(target.proc.pid).children(recursive=True):
                break
        except psutil.Error:
            break
        time.sleep(0.1)
    time.sleep(0.5)
    return run.tree_stats(target.proc.pid)[0] / 2**20


def one_connection(target: run.Target, rundir: Path) -> dict[str, Any]:
    args = ["--mode", "concurrency", "--concurrency", "1", "--duration", str(ONE_CONN_S)]
    out = run.run_loadgen(target, rundir, args, target.body(False), target.url)
    return {"p50_ms": out["latency_ms"]["p50"], "p99_ms": out["latency_ms"]["p99"]}


def saturation(wrk: str, plan: run.Plan, target: run.Target, rundir: Path) -> dict[str, Any]:
    run.run_wrk(wrk, plan, target, False, plan.warmup_s, rundir)
    with run.sample_rss(target.proc.pid) as mem:
        plain = run.run_wrk(wrk, plan, target, False, plan.sat_s, rundir)
        streamed = run.run_wrk(wrk, plan, target, True, plan.stream_s, rundir)
    return {
        "rps": plain["rps"],
        "p50_ms": plain["latency_ms"]["p50"],
        "p99_ms": plain["latency_ms"]["p99"],
        "stream_rps": streamed["rps"],
        "stream_chunks_per_s": streamed["rps"] * run.UPSTREAM_CHUNKS,
        "rss_load_mb": mem["rss_max_mb"],
        "cpu_cores": mem["cpu_cores"],
        "machine_busy_cores": mem["machine_busy_cores"],
    }


def measure_build(wrk: str, plan: run.Plan, target: run.Target, rundir: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"cold_start_s": run.restart_junction(target)}
    out["rss_idle_mb"] = idle_rss_mb(target)
    out.update(saturation(wrk, plan, target, rundir))
    out["one_conn"] = one_connection(target, rundir)
    ttft = run.ttft(target, plan, rundir).get("stream", {}).get("ttft_ms", {})
    out["ttft_p50_ms"], out["ttft_p99_ms"] = ttft.get("p50"), ttft.get("p99")
    return out


def measure_reference(wrk: str, plan: run.Plan, target: run.Target, rundir: Path) -> dict[str, Any]:
    out = saturation(wrk, plan, target, rundir)
    out["one_conn"] = one_connection(target, rundir)
    return out


def derived(result: dict[str, Any]) -> None:
    """Each build's figures against the passthrough and the direct path of the same round."""
    for name in (*BUILDS, "passthrough"):
        r = result[name]
        r["cpu_us_per_request"] = r["cpu_cores"] / r["rps"] * 1e6 if r["rps"] else None
    for name in BUILDS:
        r = result[name]
        r["rps_over_passthrough"] = r["rps"] / result["passthrough"]["rps"]
        r["stream_over_passthrough"] = r["stream_rps"] / result["passthrough"]["stream_rps"]
        r["added_one_conn_p50_ms"] = (
            r["one_conn"]["p50_ms"] - result["direct"]["one_conn"]["p50_ms"]
        )


FIGURES = (
    "rss_idle_mb",
    "rss_load_mb",
    "cold_start_s",
    "rps",
    "rps_over_passthrough",
    "added_one_conn_p50_ms",
    "stream_rps",
    "stream_over_passthrough",
    "ttft_p50_ms",
    "ttft_p99_ms",
    "cpu_us_per_request",
)


def summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in (*BUILDS, "passthrough", "direct"):
        out[name] = {}
        for key in (*FIGURES, "p50_ms", "p99_ms"):
            values = [r[name][key] for r in rounds if r[name].get(key) is not None]
            if values:
                out[name][key] = statistics.median(values)
        out[name]["one_conn_p50_ms"] = statistics.median(
            r[name]["one_conn"]["p50_ms"] for r in rounds
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", type=Path, required=True, help="the other build's junction")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=8.0, help="each saturation's length")
    ap.add_argument("--out", type=Path, default=run.RESULTS / "ab.json")
    args = ap.parse_args()
    run.bootstrap(__file__)
    wrk = run.ensure_wrk()
    plan = run.Plan(sat_s=args.seconds, stream_s=args.seconds)
    run.WORK.mkdir(parents=True, exist_ok=True)
    rundir = Path(tempfile.mkdtemp(prefix="ab-", dir=run.WORK))
    load_before = os.getloadavg()
    up_proc, up_port, _ = run.start_upstream(rundir, "upstream", run.UPSTREAM_CHUNKS, 0.0)
    paced_proc, paced_port, _ = run.start_upstream(
        rundir, "paced", run.PACED_CHUNKS, run.PACED_DELAY_MS
    )
    after = run.ROOT / ".venv" / "bin" / "junction"
    builds = {"before": args.before.absolute(), "after": after}
    targets = {n: start(n, b, rundir, up_port, paced_port) for n, b in builds.items()}
    run.JUNCTION_BIN = after  # the passthrough runs on this checkout's venv
    targets["passthrough"] = run.start_passthrough(rundir, up_port, paced_port)
    targets["direct"] = run.Target(
        "direct", up_port, "/v1/chat/completions", {}, "bench-model", paced_port,
        "bench-model", up_proc, 0.0,
    )  # fmt: skip
    rounds: list[dict[str, Any]] = []
    try:
        for i in range(args.rounds):
            order = list(BUILDS) if i % 2 == 0 else list(reversed(BUILDS))
            result: dict[str, Any] = {"order": order, "loadavg": os.getloadavg()}
            for name in order:
                result[name] = measure_build(wrk, plan, targets[name], rundir)
            for name in ("passthrough", "direct"):
                result[name] = measure_reference(wrk, plan, targets[name], rundir)
            derived(result)
            rounds.append(result)
            print(f"round {i + 1}: " + line(result), file=sys.stderr, flush=True)
    finally:
        for target in targets.values():
            run.PROCS.stop(target.proc)
        run.PROCS.stop(paced_proc)
    medians = summary(rounds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "builds": {n: str(b) for n, b in builds.items()},
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "cores": os.cpu_count(),
        "rounds": rounds,
        "median": medians,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(medians))


def line(result: dict[str, Any]) -> str:
    return (
        "; ".join(
            f"{n} {result[n]['rps']:.0f} rps ({result[n]['rps_over_passthrough']:.2f}),"
            f" cold {result[n]['cold_start_s']:.2f}s, idle {result[n]['rss_idle_mb']:.0f} MB"
            for n in BUILDS
        )
        + f"; passthrough {result['passthrough']['rps']:.0f} rps"
    )


def table(m: dict[str, Any]) -> str:
    rows = [
        ("idle RSS, router + log sink (MB)", "rss_idle_mb", "{:.0f}"),
        ("RSS under load (MB)", "rss_load_mb", "{:.0f}"),
        ("cold start to first completion (s)", "cold_start_s", "{:.2f}"),
        ("non-streamed RPS (wrk -t2 -c32)", "rps", "{:,.0f}"),
        ("... over the passthrough, same round", "rps_over_passthrough", "{:.2f}"),
        ("added p50 at one connection (ms)", "added_one_conn_p50_ms", "{:.2f}"),
        ("CPU per non-streamed request (µs, with the sink)", "cpu_us_per_request", "{:.0f}"),
        ("streamed streams/s", "stream_rps", "{:,.0f}"),
        ("... over the passthrough, same round", "stream_over_passthrough", "{:.2f}"),
        ("TTFT p50 / p99 (ms, paced)", "ttft_p50_ms", "{:.2f}"),
    ]
    out = ["| figure | before | after | passthrough | direct |", "|---|---|---|---|---|"]
    for label, key, form in rows:
        cells = []
        for name in (*BUILDS, "passthrough", "direct"):
            value = m[name].get(key)
            text = "-" if value is None else form.format(value)
            if key == "ttft_p50_ms" and value is not None:
                text += " / " + form.format(m[name]["ttft_p99_ms"])
            cells.append(text)
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(out)


if __name__ == "__main__":
    main()
