"""Two Junction replicas on PostgreSQL + Redis against one process: saturation throughput.

    python bench/replicas.py [--seconds 10] [--reps 3]

Starts the harness's upstream, a fresh PostgreSQL database and two `junction serve` processes
sharing it and Redis (as README "Running at scale" describes), configures them through replica
A, then measures with wrk: one replica alone (-t2 -c32), and both at once (two wrk processes,
-t1 -c16 each, summed). Writes bench/results/replicas.json. Loopback only; bounded runs.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
JUNCTION = ROOT / ".venv" / "bin" / "junction"
PG = "postgresql://postgres@127.0.0.1:5432"
WRK_DONE = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, summary.duration))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(url: str, body: dict[str, Any] | None = None, key: str = "") -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def wait_http(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def psql(sql: str) -> None:
    subprocess.run(["psql", f"{PG}/test", "-qc", sql], check=True, capture_output=True)


def wrk(url: str, script: Path, threads: int, conns: int, seconds: int) -> subprocess.Popen[str]:
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "-s", str(script), url]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def rps(proc: subprocess.Popen[str]) -> float:
    out, _ = proc.communicate(timeout=120)
    for line in out.splitlines():
        if line.startswith("RESULT "):
            requests, errors, micros = (int(x) for x in line.split()[1:])
            return (requests - errors) / (micros / 1e6)
    raise RuntimeError(f"wrk gave no result: {out[-300:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk (bench/run.py installs it)")
    work = Path(tempfile.mkdtemp(prefix="junction-replicas-"))
    database = "junction_bench_" + secrets.token_hex(4)
    admin_key = "ja-bench-" + secrets.token_hex(8)
    procs: list[subprocess.Popen[bytes]] = []
    psql(f'CREATE DATABASE "{database}"')
    try:
        up_port = free_port()
        procs.append(
            subprocess.Popen(
                [sys.executable, str(BENCH / "upstream.py"), "--port", str(up_port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        env = {
            **os.environ,
            "JUNCTION_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}",
            "JUNCTION_REDIS_URL": "redis://127.0.0.1:6379/0",
            "JUNCTION_REDIS_PREFIX": database,
            "JUNCTION_SECRET_KEY": "bench-" + database,
            "JUNCTION_ADMIN_KEY": admin_key,
            "JUNCTION_ACCESS_LOG": "false",
        }
        ports = [free_port(), free_port()]
        for i, port in enumerate(ports):
            data_dir = work / f"replica{i}"
            data_dir.mkdir()
            log = (work / f"replica{i}.log").open("wb")
            procs.append(
                subprocess.Popen(
                    [str(JUNCTION), "serve", "--port", str(port)],
                    env={**env, "JUNCTION_DATA_DIR": str(data_dir)},
                    stdout=log,
                    stderr=log,
                )
            )
        for port in (up_port, *ports):
            wait_http(f"http://127.0.0.1:{port}/" + ("v1/models" if port == up_port else "healthz"))
        admin = f"http://127.0.0.1:{ports[0]}/admin/v1"
        call(
            f"{admin}/providers",
            {
                "name": "bench",
                "base_url": f"http://127.0.0.1:{up_port}/v1",
                "models": [{"name": "bench-model", "context_length": 32768}],
            },
            admin_key,
        )
        call(f"{admin}/workspaces", {"name": "bench"}, admin_key)
        key = call(f"{admin}/workspaces/bench/keys", {"name": "bench"}, admin_key)["key"]
        call(
            f"{admin}/workspaces/bench/assistants",
            {"name": "bench-assistant", "model": "bench/bench-model"},
            admin_key,
        )
        time.sleep(1.5)
        body = {"model": "bench-assistant", "messages": [{"role": "user", "content": "hi"}]}
        for port in ports:  # both replicas serve the assistant made through A
            call(f"http://127.0.0.1:{port}/v1/chat/completions", body, key)
        script = work / "post.lua"
        script.write_text(
            f'wrk.method = "POST"\nwrk.body = [==[{json.dumps(body)}]==]\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.headers["Authorization"] = "Bearer {key}"\n' + WRK_DONE
        )
        urls = [f"http://127.0.0.1:{p}/v1/chat/completions" for p in ports]
        one, two = [], []
        for _ in range(args.reps):
            one.append(rps(wrk(urls[0], script, 2, 32, args.seconds)))
            time.sleep(2)
            pair = [wrk(u, script, 1, 16, args.seconds) for u in urls]
            two.append(sum(rps(p) for p in pair))
            time.sleep(2)
        result = {
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {"cores": os.cpu_count()},
            "seconds": args.seconds,
            "one_replica_rps": one,
            "two_replicas_rps": two,
            "median_one": statistics.median(one),
            "median_two": statistics.median(two),
        }
        out = BENCH / "results" / "replicas.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
