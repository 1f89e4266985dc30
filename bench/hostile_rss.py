"""Peak memory of the router against a hostile upstream: 300 MiB error bodies and 80 MiB
stream lines (``tests/hostile_upstream.py``), sent through the official ``openai`` client.

    .venv/bin/python bench/hostile_rss.py [--python PATH] [--rounds 3] [--concurrency 4]

Starts ``junction serve`` (one process, embedded SQLite, a fresh data directory), registers
the hostile upstream, then fires ``rounds`` waves of ``concurrency`` requests of each kind. It
prints the router's peak resident memory (``VmHWM`` from ``/proc/<pid>/status``) after start
and after the attacks, its CPU seconds, and how each request ended. ``--python`` runs another
checkout's interpreter (to compare with an older router).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import openai

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.hostile_upstream import HostileUpstream

ERROR_MB = 300
LINE_MB = 80


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def attack(key: str, url: str, model: str, stream: bool) -> str:
    client = openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=300)
    started = time.monotonic()
    try:
        if stream:
            for _ in client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "hi"}], stream=True
            ):
                pass
            outcome = "streamed"
        else:
            client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "hi"}]
            )
            outcome = "answered"
    except openai.APIStatusError as exc:
        outcome = f"{exc.status_code}"
    except openai.APIError as exc:
        outcome = f"{type(exc).__name__}"
    finally:
        client.close()
    return f"{outcome} in {time.monotonic() - started:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    with HostileUpstream() as hostile, tempfile.TemporaryDirectory() as data:
        port = free_port()
        admin_key = "ja-bench-" + secrets.token_hex(16)
        env = {**os.environ, "JUNCTION_DATA_DIR": data, "JUNCTION_ADMIN_KEY": admin_key}
        env.pop("JUNCTION_DATABASE_URL", None)
        env.pop("JUNCTION_REDIS_URL", None)
        log = Path(data) / "router.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [args.python, "-m", "junction", "serve", "--port", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit(log.read_text())
                time.sleep(0.2)
            models = [f"error-mb-{ERROR_MB}", f"line-mb-{LINE_MB}"]
            auth = {"Authorization": f"Bearer {admin_key}"}
            with httpx.Client(base_url=url + "/admin/v1", headers=auth, timeout=30) as admin:
                admin.post(
                    "/providers",
                    json={
                        "name": "hostile",
                        "base_url": hostile.url,
                        "read_timeout": 120,
                        "models": [{"name": m} for m in models],
                    },
                ).raise_for_status()
                admin.post("/workspaces", json={"name": "bench"}).raise_for_status()
                key = admin.post("/workspaces/bench/keys", json={}).json()["key"]
                for m in models:
                    admin.post(
                        "/workspaces/bench/assistants", json={"name": m, "model": f"hostile/{m}"}
                    ).raise_for_status()
            # Warm up on a normal error path, then take the baseline.
            attack(key, url, "no-such-assistant", False)
            base_hwm, base_rss = status_kb(proc.pid, "VmHWM"), status_kb(proc.pid, "VmRSS")
            cpu0 = cpu_seconds(proc.pid)
            print(f"after start: VmHWM {base_hwm / 1024:.1f} MiB, VmRSS {base_rss / 1024:.1f} MiB")
            for model, stream in ((models[0], False), (models[1], True)):
                outcomes: list[str] = []
                started = time.monotonic()
                with concurrent.futures.ThreadPoolExecutor(args.concurrency) as pool:
                    for _ in range(args.rounds):
                        waves = [
                            pool.submit(attack, key, url, model, stream)
                            for _ in range(args.concurrency)
                        ]
                        outcomes += [w.result() for w in waves]
                print(
                    f"{model} ({'stream' if stream else 'non-stream'}), "
                    f"{len(outcomes)} requests in {time.monotonic() - started:.1f} s: "
                    f"{sorted(set(o.split(' in ')[0] for o in outcomes))}; "
                    f"times {[o.split(' in ')[1] for o in outcomes]}; "
                    f"VmHWM now {status_kb(proc.pid, 'VmHWM') / 1024:.1f} MiB"
                )
            peak = status_kb(proc.pid, "VmHWM")
            print(
                f"peak: VmHWM {peak / 1024:.1f} MiB (+{(peak - base_hwm) / 1024:.1f} MiB over "
                f"the start), router CPU {cpu_seconds(proc.pid) - cpu0:.2f} s for the attacks"
            )
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
