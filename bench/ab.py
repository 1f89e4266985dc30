"""Two builds of Junction side by side, in one run: this checkout against another one.

    python bench/ab.py --before /path/to/other/checkout/.venv/bin/junction [--rounds 5]

Both are started and configured exactly as ``run.py`` starts Junction (fresh SQLite data
directory, the same bench upstream, system prompt, assistant), then measured in turns —
non-streamed saturation and streamed saturation with wrk (2 threads x 32 connections) — in
an order that alternates every round, so that whatever else the machine is doing falls on
both alike. Writes ``bench/results/ab.json`` (every round and the medians) and prints a
table. Everything binds and targets 127.0.0.1; every phase is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # the harness: targets, wrk, process handling


def start(name: str, binary: Path, rundir: Path, up: int, paced: int) -> run.Target:
    run.JUNCTION_BIN = binary
    target = run.start_junction(rundir, up, paced)
    target.name = name
    return target


def measure(wrk: str, plan: run.Plan, target: run.Target, rundir: Path) -> dict[str, Any]:
    run.run_wrk(wrk, plan, target, False, plan.warmup_s, rundir)
    return {
        "plain": run.run_wrk(wrk, plan, target, False, plan.sat_s, rundir),
        "stream": run.run_wrk(wrk, plan, target, True, plan.stream_s, rundir),
    }


def median_of(rounds: list[dict[str, Any]], name: str, kind: str, *path: str) -> float:
    values = []
    for r in rounds:
        value: Any = r[name][kind]
        for part in path:
            value = value[part]
        values.append(float(value))
    return statistics.median(values)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", type=Path, required=True, help="the other build's junction")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=8.0, help="each measurement's length")
    ap.add_argument("--out", type=Path, default=run.RESULTS / "ab.json")
    args = ap.parse_args()
    wrk = run.ensure_wrk()
    plan = run.Plan(sat_s=args.seconds, stream_s=args.seconds)
    rundir = Path(tempfile.mkdtemp(prefix="ab-", dir=run.WORK if run.WORK.exists() else None))
    up_proc, up_port, _ = run.start_upstream(rundir, "upstream", run.UPSTREAM_CHUNKS, 0.0)
    paced_proc, paced_port, _ = run.start_upstream(
        rundir, "paced", run.PACED_CHUNKS, run.PACED_DELAY_MS
    )
    builds = {"before": args.before.resolve(), "after": run.ROOT / ".venv" / "bin" / "junction"}
    targets = {n: start(n, b, rundir, up_port, paced_port) for n, b in builds.items()}
    rounds: list[dict[str, Any]] = []
    try:
        for i in range(args.rounds):
            order = ["before", "after"] if i % 2 == 0 else ["after", "before"]
            result = {name: measure(wrk, plan, targets[name], rundir) for name in order}
            rounds.append(result)
            figures = (
                f"{n} {result[n]['plain']['rps']:.0f} rps, stream {result[n]['stream']['rps']:.0f}"
                for n in ("before", "after")
            )
            print(f"round {i + 1}: " + "; ".join(figures), file=sys.stderr, flush=True)
    finally:
        for target in targets.values():
            run.PROCS.stop(target.proc)
        run.PROCS.stop(up_proc)
        run.PROCS.stop(paced_proc)
    summary = {
        name: {
            kind: {
                "rps": median_of(rounds, name, kind, "rps"),
                "p50_ms": median_of(rounds, name, kind, "latency_ms", "p50"),
                "p99_ms": median_of(rounds, name, kind, "latency_ms", "p99"),
            }
            for kind in ("plain", "stream")
        }
        for name in builds
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"builds": {n: str(b) for n, b in builds.items()}, "rounds": rounds, "median": summary},
            indent=2,
        )
    )
    print("| build | plain RPS | plain p50 / p99 ms | stream RPS | stream p50 / p99 ms |")
    print("|---|---|---|---|---|")
    for name, s in summary.items():
        plain, streamed = s["plain"], s["stream"]
        print(
            f"| {name} | {plain['rps']:.0f} | {plain['p50_ms']:.2f} / {plain['p99_ms']:.2f} "
            f"| {streamed['rps']:.0f} | {streamed['p50_ms']:.2f} / {streamed['p99_ms']:.2f} |"
        )


if __name__ == "__main__":
    main()
