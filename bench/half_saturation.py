"""Two builds of Junction at one fixed rate, in turns: latency p50 and p99 under a steady load.

    python bench/half_saturation.py --before <other checkout>/.venv/bin/junction \
        [--rate 1400] [--rounds 3] [--out bench/results/lean_half_saturation.json]

Both builds are started and configured as ``run.py`` starts Junction (fresh SQLite data
directory, the bench upstream, every feature of the request path on), then each round sends
each of them the same open-loop load (``loadgen.py``: request i due at t0 + i / rate, 1 s of
warm-up, 8 s measured), the order alternating from round to round so that the machine's load
falls on both alike. ``--rate`` is meant to be about half of the slower build's saturation
(``ab.py`` gives it). Prints each round and the medians; writes them as JSON. Loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # the harness: targets, load generator, process handling


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--before", type=Path, required=True, help="the other build's junction")
    ap.add_argument("--rate", type=float, default=1400.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=run.RESULTS / "lean_half_saturation.json")
    args = ap.parse_args()
    builds = {"before": args.before, "after": run.JUNCTION_BIN}
    rundir = Path(tempfile.mkdtemp(prefix="junction-half-saturation-"))
    plan = run.Plan()
    upstream, up_port, _ = run.start_upstream(rundir, "upstream", run.UPSTREAM_CHUNKS, 0.0)
    targets: dict[str, run.Target] = {}
    result: dict[str, Any] = {"rate": args.rate, "rounds": []}
    try:
        for name, binary in builds.items():
            run.JUNCTION_BIN = binary  # start_junction starts the harness's current build
            targets[name] = run.start_junction(rundir, up_port, up_port)
        for i in range(args.rounds):
            order = list(builds) if i % 2 == 0 else list(reversed(builds))
            one: dict[str, Any] = {"loadavg": [round(x, 2) for x in os.getloadavg()]}
            for name in order:
                r = run.fixed_rate(targets[name], plan, args.rate, plan.rate_s, rundir)
                one[name] = {
                    "achieved_rps": r["achieved_rps"],
                    "sustained": r["sustained"],
                    "errors": r["errors"],
                    "p50_ms": r["latency_ms"]["p50"],
                    "p99_ms": r["latency_ms"]["p99"],
                }
            print(f"round {i + 1}: {json.dumps(one)}", flush=True)
            result["rounds"].append(one)
        result["median"] = {
            name: {
                k: statistics.median(r[name][k] for r in result["rounds"])
                for k in ("achieved_rps", "p50_ms", "p99_ms")
            }
            for name in builds
        }
        print(json.dumps(result["median"]))
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    finally:
        for target in targets.values():
            run.PROCS.stop(target.proc)
        run.PROCS.stop(upstream)


if __name__ == "__main__":
    main()
