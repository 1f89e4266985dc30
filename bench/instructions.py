"""Instructions per request of Junction builds, counted by callgrind: a figure the machine's
load does not move (CPU seconds and requests per second do, on a shared machine).

    python bench/instructions.py --build before=/other/checkout/.venv/bin/junction \\
        [--build after=.venv/bin/junction] [--seconds 20] [--stream] [--rounds 1]

Each build is configured as ``run.py`` configures Junction (key, assistant, rpm and tpm
limits, token window, request logging), then restarted under ``valgrind --tool=callgrind``
with instrumentation off. After a warm-up, instrumentation is switched on for ``--seconds``
with no load (what the router does by itself: the config poll, flush timers), then for
``--seconds`` under the closed-loop generator (8 connections); the idle count is taken off
and the rest divided by the answers. Counted: the router process only (the log sink is a
child, not traced), user-space instructions only (a system call counts its entry, not the
kernel's work: fewer writes show in CPU time, hardly here). Needs valgrind. Writes
``bench/results/instructions.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # the harness: targets, process handling

STARTUP_S = 900.0  # a router under valgrind starts about 50 times slower
WARMUP_S = 5.0


def toggle(pid: int, on: bool) -> None:
    subprocess.run(["callgrind_control", "-i", "on" if on else "off", str(pid)], check=True,
                   capture_output=True)  # fmt: skip


def dumped_total(pid: int, out: Path) -> int:
    """Dump the counts so far and read their total (each dump holds what came since the
    previous one)."""
    before = set(out.parent.glob(out.name + "*"))
    subprocess.run(["callgrind_control", "-d", str(pid)], check=True, capture_output=True)
    end = time.monotonic() + 30
    while time.monotonic() < end:
        for path in set(out.parent.glob(out.name + "*")) - before:
            for line in path.read_text().splitlines():
                if line.startswith("totals:"):
                    return int(line.split()[1])
        time.sleep(0.2)
    raise RuntimeError("callgrind wrote no dump")


def measure(name: str, binary: Path, up_port: int, args: argparse.Namespace) -> dict[str, Any]:
    rundir = Path(tempfile.mkdtemp(prefix=f"instr-{name}-", dir=run.WORK))
    run.JUNCTION_BIN = binary
    target = run.start_junction(rundir, up_port, up_port)
    run.PROCS.stop(target.proc)
    out = rundir / "callgrind.out"
    valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
    target.extra["cmd"] = [*valgrind, f"--callgrind-out-file={out}", *target.extra["cmd"]]
    wait_until = run.wait_until
    run.wait_until = lambda ok, proc, _s, logp: wait_until(ok, proc, STARTUP_S, logp)
    try:
        run.restart_junction(target)
    finally:
        run.wait_until = wait_until
    pid = target.proc.pid
    body = target.body(args.stream)

    def load(seconds: float) -> dict[str, Any]:
        flags = ["--mode", "concurrency", "--concurrency", "8", "--duration", str(seconds)]
        flags += ["--timeout", "60"] + (["--stream"] if args.stream else [])
        return run.run_loadgen(target, rundir, flags, body, target.url)

    try:
        load(WARMUP_S)
        toggle(pid, True)
        time.sleep(args.seconds)
        idle = dumped_total(pid, out)
        answered = load(args.seconds)
        loaded = dumped_total(pid, out)
        toggle(pid, False)
    finally:
        run.PROCS.stop(target.proc)
    ok = int(answered["ok"])
    return {
        "answers": ok,
        "errors": answered["errors"],
        "idle_instructions_per_s": idle / args.seconds,
        "instructions_per_request": (loaded - idle) / ok if ok else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", action="append", required=True, help="name=path/to/junction")
    ap.add_argument("--seconds", type=float, default=20.0, help="each counted phase's length")
    ap.add_argument("--stream", action="store_true", help="streamed requests (32 chunks)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--out", type=Path, default=run.RESULTS / "instructions.json")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is missing: apt-get install valgrind")
    run.bootstrap(__file__)
    builds = dict(b.split("=", 1) for b in args.build)
    run.WORK.mkdir(parents=True, exist_ok=True)
    rundir = Path(tempfile.mkdtemp(prefix="instr-", dir=run.WORK))
    up_proc, up_port, _ = run.start_upstream(rundir, "upstream", run.UPSTREAM_CHUNKS, 0.0)
    rounds: list[dict[str, Any]] = []
    try:
        for i in range(args.rounds):
            names = list(builds) if i % 2 == 0 else list(reversed(builds))
            result = {n: measure(n, Path(builds[n]).absolute(), up_port, args) for n in names}
            rounds.append(result)
            for n, r in result.items():
                print(f"round {i + 1}: {n} {r['instructions_per_request']:,.0f} instructions a "
                      f"request ({r['answers']} answers)", file=sys.stderr, flush=True)  # fmt: skip
    finally:
        run.PROCS.stop(up_proc)
    report = {
        "builds": builds,
        "stream": args.stream,
        "seconds": args.seconds,
        "loadavg": os.getloadavg(),
        "rounds": rounds,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
