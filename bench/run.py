"""Junction benchmark harness.

    python bench/run.py [--quick]

Measures three targets in turns, on the same benchmark upstream (bench/upstream.py):
the upstream directly, Junction, and the LiteLLM proxy (installed by this script
into bench/.litellm-venv).  See bench/README.md for what each number means.

The script runs itself inside its own virtualenv (bench/.work/venv, made on first
use with uvloop, psutil and matplotlib), installs wrk with apt-get when it is
missing, and writes bench/results/results.json, results.md and latency.png.
Everything binds and targets 127.0.0.1 only; every load phase is bounded in time.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import http.client
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / ".work"
BENCH_VENV = WORK / "venv"
BENCH_REQUIREMENTS = ("uvloop>=0.19", "psutil>=5.9", "matplotlib>=3.7")
LITELLM_VENV = BENCH / ".litellm-venv"
# Pinned: a reproducible comparison, and the release hot-path.md was measured with.
LITELLM_VERSION = "1.106.2"
JUNCTION_BIN = ROOT / ".venv" / "bin" / "junction"
RESULTS = BENCH / "results"
HOST = "127.0.0.1"

UPSTREAM_CHUNKS = 32  # content chunks per streamed answer (fast upstream)
PACED_CHUNKS = 16  # content chunks per streamed answer (paced upstream)
PACED_DELAY_MS = 10.0  # delay between content chunks (paced upstream)
PROMPT = "Write one short sentence about the sea, please. Keep it brief and friendly."
LABELS = {
    "direct": "upstream (direct)",
    "passthrough": "aiohttp passthrough",
    "junction": "Junction",
    "litellm": "LiteLLM proxy",
}
# Every feature on the path: limits far above what the load reaches, and a token window.
BENCH_WORKSPACE = {
    "name": "bench",
    "rpm_limit": 10**9,
    "tpm_limit": 10**12,
    "token_context_window": "50%",
}


@dataclass
class Plan:
    """Durations and repetitions; --quick shrinks them."""

    reps: int = 3
    warmup_s: float = 2.0
    sat_s: float = 10.0
    stream_s: float = 8.0
    ttft_s: float = 5.0
    rate_s: float = 8.0
    rate_warmup_s: float = 1.0
    curve_s: float = 4.0
    curve_fractions: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)
    wrk_threads: int = 2
    wrk_conns: int = 32
    ttft_concurrency: int = 4
    max_rate: float = 8000.0  # what the Python load generator sustains here
    quiet_wait_s: float = 30.0  # before each repetition, wait at most this for a quiet machine

    @classmethod
    def quick(cls) -> Plan:
        return cls(
            reps=1,
            warmup_s=1.0,
            sat_s=5.0,
            stream_s=4.0,
            ttft_s=3.0,
            rate_s=4.0,
            rate_warmup_s=0.5,
            curve_s=2.0,
            curve_fractions=(0.25, 0.5, 0.9),
            quiet_wait_s=15.0,
        )


# --------------------------------------------------------------------------- setup


def log(msg: str) -> None:
    elapsed = time.monotonic() - T0
    print(f"[{elapsed:6.1f}s] {msg}", file=sys.stderr, flush=True)


T0 = time.monotonic()


def in_bench_venv() -> bool:
    return Path(sys.prefix).resolve() == BENCH_VENV.resolve()


def bootstrap(script: str = __file__) -> None:
    """Re-run ``script`` inside bench/.work/venv, creating it when needed."""
    if in_bench_venv():
        return
    py = BENCH_VENV / "bin" / "python"
    WORK.mkdir(parents=True, exist_ok=True)
    if not py.exists():
        print("creating the harness virtualenv in bench/.work/venv", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    probe = subprocess.run(
        [str(py), "-c", "import uvloop, psutil, matplotlib"], capture_output=True
    )
    if probe.returncode != 0:
        print("installing uvloop, psutil, matplotlib into it", file=sys.stderr)
        with open(WORK / "pip-bench.log", "wb") as out:
            subprocess.run(
                [str(py), "-m", "pip", "install", *BENCH_REQUIREMENTS],
                check=True,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
    os.execv(str(py), [str(py), str(Path(script).resolve()), *sys.argv[1:]])


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    if os.geteuid() != 0:
        raise SystemExit("wrk is missing: apt-get install wrk (as root), then run again")
    log("installing wrk with apt-get")
    with open(WORK / "apt.log", "wb") as out:
        subprocess.run(["apt-get", "update"], check=True, stdout=out, stderr=subprocess.STDOUT)
        subprocess.run(
            ["apt-get", "install", "-y", "wrk"], check=True, stdout=out, stderr=subprocess.STDOUT
        )
    path = shutil.which("wrk")
    if not path:
        raise SystemExit("wrk is still missing after apt-get install")
    return path


def litellm_installed_version() -> str | None:
    py = LITELLM_VENV / "bin" / "python"
    if not py.exists() or not (LITELLM_VENV / "bin" / "litellm").exists():
        return None
    out = subprocess.run(
        [str(py), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() if out.returncode == 0 else None


def ensure_litellm(version: str) -> tuple[bool, str]:
    """Install litellm[proxy]==version into bench/.litellm-venv; (ok, version or error)."""
    have = litellm_installed_version()
    if have == version:
        return True, have
    log(f"installing litellm[proxy]=={version} into bench/.litellm-venv (one time, a few minutes)")
    if not (LITELLM_VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
    with open(WORK / "pip-litellm.log", "wb") as out:
        proc = subprocess.run(
            [
                str(LITELLM_VENV / "bin" / "python"),
                "-m",
                "pip",
                "install",
                f"litellm[proxy]=={version}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=1200,
        )
    have = litellm_installed_version()
    if proc.returncode != 0 or have != version:
        return False, f"pip install failed (see {WORK / 'pip-litellm.log'})"
    return True, have


# ----------------------------------------------------------------------- processes


class Procs:
    """Every process this harness starts, so that all are stopped on any exit."""

    def __init__(self) -> None:
        self.live: list[subprocess.Popen[bytes]] = []

    def start(
        self,
        cmd: list[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        out = open(log_path, "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=str(cwd) if cwd else None,
            start_new_session=True,
        )
        out.close()
        self.live.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        if proc in self.live:
            self.live.remove(proc)

    def stop_all(self) -> None:
        for proc in list(reversed(self.live)):
            self.stop(proc)


PROCS = Procs()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def http_request(
    method: str,
    port: int,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        data = (
            None
            if body is None
            else (body if isinstance(body, bytes) else json.dumps(body).encode())
        )
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def log_tail(path: Path, n: int = 2000) -> str:
    try:
        return path.read_bytes()[-n:].decode("utf-8", "replace")
    except OSError:
        return ""


def wait_until(
    ok: Callable[[], bool], proc: subprocess.Popen[bytes], deadline_s: float, log_path: Path
) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}: {log_tail(log_path)}")
        try:
            if ok():
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.02)
    raise RuntimeError(f"not ready after {deadline_s:.0f}s: {log_tail(log_path)}")


# ------------------------------------------------------------------------- targets


@dataclass
class Target:
    name: str
    port: int
    path: str
    headers: dict[str, str]
    model: str
    paced_port: int
    paced_model: str
    proc: subprocess.Popen[bytes]
    cold_start_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}{self.path}"

    @property
    def paced_url(self) -> str:
        return f"http://{HOST}:{self.paced_port}{self.path}"

    def body(self, stream: bool, paced: bool = False) -> bytes:
        obj: dict[str, Any] = {
            "model": self.paced_model if paced else self.model,
            "messages": [{"role": "user", "content": PROMPT}],
        }
        if stream:
            obj["stream"] = True
        return json.dumps(obj, separators=(",", ":")).encode()


def completion_ok(port: int, path: str, body: bytes, headers: dict[str, str]) -> bool:
    status, _ = http_request("POST", port, path, body, headers, timeout=5.0)
    return status == 200


def start_upstream(
    rundir: Path, tag: str, chunks: int, delay_ms: float
) -> tuple[subprocess.Popen[bytes], int, float]:
    port = free_port()
    cmd = [
        sys.executable,
        str(BENCH / "upstream.py"),
        "--port",
        str(port),
        "--chunks",
        str(chunks),
        "--chunk-delay-ms",
        str(delay_ms),
    ]
    logp = rundir / f"{tag}.log"
    body = json.dumps({"model": "bench-model", "messages": [{"role": "user", "content": "hi"}]})
    t = time.perf_counter()
    proc = PROCS.start(cmd, logp)
    wait_until(
        lambda: completion_ok(port, "/v1/chat/completions", body.encode(), {}), proc, 30, logp
    )
    return proc, port, time.perf_counter() - t


def start_direct(rundir: Path, paced_port: int) -> Target:
    proc, port, cold = start_upstream(rundir, "upstream", UPSTREAM_CHUNKS, 0.0)
    return Target(
        name="direct",
        port=port,
        path="/v1/chat/completions",
        headers={},
        model="bench-model",
        paced_port=paced_port,
        paced_model="bench-model",
        proc=proc,
        cold_start_s=cold,
    )


def start_passthrough(rundir: Path, up_port: int, paced_port: int) -> Target:
    """bench/passthrough.py (aiohttp + uvloop, bytes forwarded) on Junction's own venv."""
    port = free_port()
    python = JUNCTION_BIN.parent / "python"
    cmd = [str(python), str(BENCH / "passthrough.py"), "--port", str(port)]
    cmd += ["--upstream", f"http://{HOST}:{up_port}"]
    logp = rundir / "passthrough.log"
    body = json.dumps({"model": "bench-model", "messages": [{"role": "user", "content": "hi"}]})
    t = time.perf_counter()
    proc = PROCS.start(cmd, logp)
    wait_until(
        lambda: completion_ok(port, "/v1/chat/completions", body.encode(), {}), proc, 30, logp
    )
    return Target(
        name="passthrough",
        port=port,
        path="/v1/chat/completions",
        headers={},
        model="bench-model",
        paced_port=paced_port,
        paced_model="bench-model",
        proc=proc,
        cold_start_s=time.perf_counter() - t,
    )


def admin(port: int, key: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    status, raw = http_request("POST", port, path, body, {"Authorization": f"Bearer {key}"})
    if status not in (200, 201):
        raise RuntimeError(f"POST {path} answered {status}: {raw[:500]!r}")
    try:
        out = json.loads(raw)
    except ValueError as exc:
        raise RuntimeError(f"POST {path} answered non-JSON: {raw[:300]!r}") from exc
    return out if isinstance(out, dict) else {"_": out}


def start_junction(rundir: Path, up_port: int, paced_port: int) -> Target:
    """Fresh data dir; configure through the admin API; restart; time the restart."""
    datadir = Path(tempfile.mkdtemp(prefix="junction-data-", dir=rundir))
    admin_key = "adm-" + secrets.token_urlsafe(24)
    env = {**os.environ, "JUNCTION_DATA_DIR": str(datadir), "JUNCTION_ADMIN_KEY": admin_key}
    port = free_port()
    cmd = [str(JUNCTION_BIN), "serve", "--host", HOST, "--port", str(port)]
    logp = rundir / "junction.log"

    def healthy() -> bool:
        return http_request("GET", port, "/healthz", timeout=2.0)[0] == 200

    t = time.perf_counter()
    proc = PROCS.start(cmd, logp, env=env)
    wait_until(healthy, proc, 60, logp)
    fresh_healthz_s = time.perf_counter() - t
    for prov, pport in (("bench", up_port), ("bench-paced", paced_port)):
        admin(
            port,
            admin_key,
            "/admin/v1/providers",
            {
                "name": prov,
                "kind": "openai",
                "base_url": f"http://{HOST}:{pport}/v1",
                "models": [{"name": "bench-model", "context_length": 32768}],
            },
        )
    admin(port, admin_key, "/admin/v1/workspaces", BENCH_WORKSPACE)
    created = admin(port, admin_key, "/admin/v1/workspaces/bench/keys", {"name": "bench"})
    key = created.get("key")
    if not isinstance(key, str) or not key:
        raise RuntimeError(f"key creation answered without a 'key' field: {created}")
    for name, model in (
        ("bench-assistant", "bench/bench-model"),
        ("bench-assistant-paced", "bench-paced/bench-model"),
    ):
        admin(
            port,
            admin_key,
            "/admin/v1/workspaces/bench/assistants",
            {"name": name, "model": model, "system_prompt": "You are terse."},
        )
    PROCS.stop(proc)
    target = Target(
        name="junction",
        port=port,
        path="/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        model="bench-assistant",
        paced_port=port,
        paced_model="bench-assistant-paced",
        proc=proc,
        cold_start_s=0.0,
        extra={"fresh_start_to_healthz_s": fresh_healthz_s, "cmd": cmd, "env": env, "log": logp},
    )
    restart_junction(target)
    return target


def restart_junction(target: Target) -> float:
    """The measured start: an already configured instance, process start -> first 200."""
    PROCS.stop(target.proc)
    body = json.dumps(
        {"model": target.model, "messages": [{"role": "user", "content": "hi"}]}
    ).encode()
    cmd, env, logp = target.extra["cmd"], target.extra["env"], target.extra["log"]
    t = time.perf_counter()
    target.proc = PROCS.start(cmd, logp, env=env)
    wait_until(
        lambda: completion_ok(target.port, target.path, body, target.headers),
        target.proc,
        60,
        logp,
    )
    target.cold_start_s = time.perf_counter() - t
    return target.cold_start_s


def start_litellm(rundir: Path, up_port: int, paced_port: int) -> Target:
    master = "sk-bench-" + secrets.token_hex(12)
    cfgdir = rundir / "litellm"
    cfgdir.mkdir(parents=True, exist_ok=True)
    cfg = cfgdir / "config.yaml"
    models = []
    for name, pport in (("bench-model", up_port), ("bench-model-paced", paced_port)):
        models.append(
            f"  - model_name: {name}\n"
            f"    litellm_params:\n"
            f"      model: openai/bench-model\n"
            f"      api_base: http://{HOST}:{pport}/v1\n"
            f"      api_key: sk-bench-upstream\n"
        )
    cfg.write_text(
        "model_list:\n"
        + "".join(models)
        + "litellm_settings:\n"
        + "  drop_params: true\n"
        + "  set_verbose: false\n"
        + "general_settings:\n"
        + f"  master_key: {master}\n"
    )
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DIRECT_URL", "REDIS_URL")
    }
    env.update(
        {
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_LOG": "ERROR",
            "LITELLM_TELEMETRY": "False",
            "NO_PROXY": "*",
        }
    )
    port = free_port()
    cmd = [
        str(LITELLM_VENV / "bin" / "litellm"),
        "--config",
        str(cfg),
        "--host",
        HOST,
        "--port",
        str(port),
        "--num_workers",
        "1",
        "--telemetry",
        "False",
    ]
    logp = rundir / "litellm.log"
    headers = {"Authorization": f"Bearer {master}"}
    body = json.dumps(
        {"model": "bench-model", "messages": [{"role": "user", "content": "hi"}]}
    ).encode()
    t = time.perf_counter()
    proc = PROCS.start(cmd, logp, env=env, cwd=cfgdir)
    wait_until(lambda: completion_ok(port, "/v1/chat/completions", body, headers), proc, 240, logp)
    cold = time.perf_counter() - t
    return Target(
        name="litellm",
        port=port,
        path="/v1/chat/completions",
        headers=headers,
        model="bench-model",
        paced_port=port,
        paced_model="bench-model-paced",
        proc=proc,
        cold_start_s=cold,
    )


# ------------------------------------------------------------------- measurements


def tree_stats(pid: int) -> tuple[int, float]:
    """(RSS bytes, CPU seconds) of a process and its children."""
    import psutil

    try:
        p = psutil.Process(pid)
        procs = [p, *p.children(recursive=True)]
    except psutil.Error:
        return 0, 0.0
    rss = 0
    cpu = 0.0
    for q in procs:
        try:
            rss += q.memory_info().rss
            t = q.cpu_times()
            cpu += t.user + t.system
        except psutil.Error:
            pass
    return rss, cpu


@contextlib.contextmanager
def sample_rss(pid: int, every_s: float = 0.25) -> Iterator[dict[str, float]]:
    out: dict[str, float] = {"rss_max_mb": 0.0}
    stop = threading.Event()
    _, cpu0 = tree_stats(pid)
    sys0 = busy_cpu_seconds()
    w0 = time.perf_counter()

    def loop() -> None:
        while not stop.is_set():
            rss, _ = tree_stats(pid)
            out["rss_max_mb"] = max(out["rss_max_mb"], rss / 2**20)
            stop.wait(every_s)

    th = threading.Thread(target=loop, daemon=True)
    th.start()
    try:
        yield out
    finally:
        stop.set()
        th.join(timeout=5)
        _, cpu1 = tree_stats(pid)
        wall = max(1e-9, time.perf_counter() - w0)
        out["cpu_cores"] = (cpu1 - cpu0) / wall
        out["machine_busy_cores"] = (busy_cpu_seconds() - sys0) / wall


def busy_cpu_seconds() -> float:
    """CPU seconds spent by the whole machine (all processes, all cores), not idle."""
    import psutil

    t = psutil.cpu_times()
    fields = ("user", "nice", "system", "irq", "softirq")
    return float(sum(getattr(t, f, 0.0) for f in fields))


def wait_quiet(budget_s: float, threshold: float = 0.25) -> dict[str, float]:
    """Wait (bounded) until other work on the machine uses less than `threshold` cores."""
    t = time.perf_counter()
    busy = background_cpu(1.0)
    while busy > threshold and time.perf_counter() - t < budget_s:
        busy = background_cpu(1.0)
    waited = time.perf_counter() - t
    if busy > threshold:
        log(f"machine still busy ({busy:.2f} cores) after waiting {waited:.0f}s; going on")
    return {"waited_s": waited, "busy_cores": busy}


def background_cpu(window_s: float) -> float:
    """Cores busy while every server here idles: other work on the machine."""
    b0 = busy_cpu_seconds()
    w0 = time.perf_counter()
    time.sleep(window_s)
    return (busy_cpu_seconds() - b0) / (time.perf_counter() - w0)


WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'JSONRESULT {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,'
    .. '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,'
    .. '"mean_us":%f,"max_us":%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max))
end
"""


def wrk_script(target: Target, stream: bool, rundir: Path) -> Path:
    body = target.body(stream).decode()
    lines = ['wrk.method = "POST"', f"wrk.body = [==[{body}]==]"]
    lines.append('wrk.headers["Content-Type"] = "application/json"')
    for k, v in target.headers.items():
        lines.append(f'wrk.headers["{k}"] = "{v}"')
    path = rundir / f"wrk-{target.name}-{'stream' if stream else 'plain'}.lua"
    path.write_text("\n".join(lines) + "\n" + WRK_DONE)
    return path


def run_wrk(
    wrk: str, plan: Plan, target: Target, stream: bool, duration: float, rundir: Path
) -> dict[str, Any]:
    script = wrk_script(target, stream, rundir)
    cmd = [
        wrk,
        f"-t{plan.wrk_threads}",
        f"-c{plan.wrk_conns}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        target.url,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    for line in proc.stdout.splitlines():
        if line.startswith("JSONRESULT "):
            r = json.loads(line[len("JSONRESULT ") :])
            secs = r["duration_us"] / 1e6
            ok = r["requests"] - r["status"]
            return {
                "requests": r["requests"],
                "ok": ok,
                "errors": {
                    k: r[k] for k in ("connect", "read", "write", "status", "timeout") if r[k]
                },
                "rps": ok / secs if secs > 0 else 0.0,
                "latency_ms": {
                    "p50": r["p50_us"] / 1000,
                    "p90": r["p90_us"] / 1000,
                    "p99": r["p99_us"] / 1000,
                    "mean": r["mean_us"] / 1000,
                    "max": r["max_us"] / 1000,
                },
                "duration_s": secs,
            }
    raise RuntimeError(f"wrk gave no result: {proc.stdout[-500:]} {proc.stderr[-500:]}")


def run_loadgen(
    target: Target, rundir: Path, args: list[str], body: bytes, url: str
) -> dict[str, Any]:
    bodyfile = rundir / f"body-{secrets.token_hex(4)}.json"
    bodyfile.write_bytes(body)
    cmd = [sys.executable, str(BENCH / "loadgen.py"), "--url", url, "--body-file", str(bodyfile)]
    for k, v in target.headers.items():
        cmd += ["--header", f"{k}: {v}"]
    cmd += args
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    bodyfile.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise RuntimeError(f"loadgen failed: {proc.stderr[-800:]}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def fixed_rate(
    target: Target, plan: Plan, rate: float, duration: float, rundir: Path
) -> dict[str, Any]:
    args = [
        "--mode",
        "rate",
        "--rate",
        f"{rate:.3f}",
        "--duration",
        str(duration + plan.rate_warmup_s),
        "--warmup",
        str(plan.rate_warmup_s),
        "--timeout",
        "15",
    ]
    r = run_loadgen(target, rundir, args, target.body(False), target.url)
    r["sustained"] = bool(r["achieved_rps"] >= 0.97 * rate and not r["errors"])
    return r


def ttft(target: Target, plan: Plan, rundir: Path) -> dict[str, Any]:
    args = [
        "--mode",
        "concurrency",
        "--concurrency",
        str(plan.ttft_concurrency),
        "--duration",
        str(plan.ttft_s),
        "--stream",
        "--timeout",
        "15",
    ]
    return run_loadgen(target, rundir, args, target.body(True, paced=True), target.paced_url)


def check_target(target: Target, rundir: Path) -> dict[str, Any]:
    """One plain and one streamed call: right status, answer and chunk count."""
    status, raw = http_request("POST", target.port, target.path, target.body(False), target.headers)
    info: dict[str, Any] = {"plain_status": status}
    try:
        msg = json.loads(raw)["choices"][0]["message"]["content"]
        info["plain_answer_ok"] = "fixed answer" in str(msg)
    except (ValueError, KeyError, IndexError, TypeError):
        info["plain_answer_ok"] = False
    r = run_loadgen(
        target,
        rundir,
        ["--mode", "concurrency", "--concurrency", "1", "--duration", "0.3", "--stream"],
        target.body(True),
        target.url,
    )
    info["stream_chunks"] = r.get("stream", {}).get("chunks_per_stream")
    info["stream_errors"] = r.get("errors")
    return info


# ------------------------------------------------------------------------ the run


def sig2(x: float) -> float:
    """Round to two significant digits (rates people can read)."""
    if x <= 0:
        return 0.0
    return float(f"{x:.2g}")


def choose_rates(sat: dict[str, float], plan: Plan) -> dict[str, Any]:
    base = sat.get("junction") or sat.get("direct") or 100.0
    moderate = min(plan.max_rate, sig2(0.5 * base))
    routers = [v for k, v in sat.items() if k != "direct"]
    common = sig2(0.5 * min(routers)) if routers else None
    if common is not None:
        common = max(1.0, min(plan.max_rate, common))
    grid: list[float] = []
    for v in sat.values():
        for f in plan.curve_fractions:
            r = min(plan.max_rate, sig2(f * v))
            if r >= 1 and all(abs(r - g) > 0.08 * g for g in grid):
                grid.append(r)
    return {
        "moderate_rps": moderate,
        "moderate_basis": "0.5 x Junction saturation" if "junction" in sat else "0.5 x direct",
        "common_rps": common,
        "common_basis": "0.5 x the slowest router's saturation",
        "curve_rps": sorted(grid),
        "from_rep": 1,
    }


def measure_rep(
    rep: int, plan: Plan, wrk: str, names: list[str], rates: dict[str, Any] | None, with_curve: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    rundir = Path(tempfile.mkdtemp(prefix=f"rep{rep}-", dir=WORK))
    out: dict[str, Any] = {"rep": rep, "targets": {}, "errors": {}}
    out["quiet_wait"] = wait_quiet(plan.quiet_wait_s)
    targets: dict[str, Target] = {}
    try:
        _, paced_port, _ = start_upstream(rundir, "upstream-paced", PACED_CHUNKS, PACED_DELAY_MS)
        starters: dict[str, Callable[[], Target]] = {
            "direct": lambda: start_direct(rundir, paced_port),
        }
        for name in names:
            try:
                if name == "direct":
                    targets[name] = starters["direct"]()
                elif name == "passthrough":
                    targets[name] = start_passthrough(rundir, targets["direct"].port, paced_port)
                elif name == "junction":
                    targets[name] = start_junction(rundir, targets["direct"].port, paced_port)
                elif name == "litellm":
                    targets[name] = start_litellm(rundir, targets["direct"].port, paced_port)
                log(f"rep {rep}: {name} up, cold start {targets[name].cold_start_s:.2f}s")
            except (RuntimeError, OSError) as exc:
                if name == "direct":
                    raise
                out["errors"][name] = f"start failed: {exc}"
                log(f"rep {rep}: {name} did not start: {str(exc)[:300]}")
        order = [n for n in names if n in targets]
        k = (rep - 1) % len(order)
        order = order[k:] + order[:k]
        out["order"] = order
        res: dict[str, dict[str, Any]] = {n: {} for n in order}
        for n in order:
            t = targets[n]
            res[n]["cold_start_s"] = t.cold_start_s
            res[n].update({k: v for k, v in t.extra.items() if k.endswith("_s")})
            try:
                res[n]["check"] = check_target(t, rundir)
            except MEASURE_ERRORS as exc:
                res[n]["check"] = {"error": failed(rep, n, "check", exc)}
        out["background_cpu_cores"] = background_cpu(1.0)
        if out["background_cpu_cores"] > 0.2:
            log(
                f"rep {rep}: warning: {out['background_cpu_cores']:.2f} cores busy with other work"
                " while the servers idle; figures will be noisy"
            )
        for n in order:
            res[n]["rss_idle_mb"] = tree_stats(targets[n].proc.pid)[0] / 2**20
        # A: saturation, non-streaming
        for n in order:
            t = targets[n]
            try:
                run_wrk(wrk, plan, t, False, plan.warmup_s, rundir)
                with sample_rss(t.proc.pid) as mem:
                    sat = run_wrk(wrk, plan, t, False, plan.sat_s, rundir)
            except MEASURE_ERRORS as exc:
                res[n]["saturation"] = {"rps": 0.0, "error": failed(rep, n, "saturation", exc)}
                continue
            sat.update(mem)
            res[n]["saturation"] = sat
            log(
                f"rep {rep}: {n} saturation {sat['rps']:.0f} RPS,"
                f" p50 {sat['latency_ms']['p50']:.2f} ms,"
                f" RSS max {mem['rss_max_mb']:.0f} MB, {mem['cpu_cores']:.2f} cores"
            )
        if rates is None:
            measured = {n: res[n]["saturation"]["rps"] for n in order}
            rates = choose_rates({n: v for n, v in measured.items() if v > 0}, plan)
            log(f"rates: {rates}")
        # B: saturation, streaming
        for n in order:
            t = targets[n]
            try:
                with sample_rss(t.proc.pid) as mem:
                    s = run_wrk(wrk, plan, t, True, plan.stream_s, rundir)
            except MEASURE_ERRORS as exc:
                res[n]["stream_saturation"] = {"error": failed(rep, n, "streaming", exc)}
                continue
            s.update(mem)
            s["chunks_per_stream"] = UPSTREAM_CHUNKS
            s["chunks_per_s"] = s["rps"] * UPSTREAM_CHUNKS
            res[n]["stream_saturation"] = s
            res[n]["rss_load_mb"] = max(
                res[n]["saturation"].get("rss_max_mb", 0.0), s["rss_max_mb"]
            )
            log(
                f"rep {rep}: {n} streaming {s['rps']:.0f} streams/s"
                f" = {s['chunks_per_s']:.0f} chunks/s"
            )
        # C: time to first token on a paced stream (the passthrough proxies the fast one only)
        for n in order:
            if n == "passthrough":
                continue
            try:
                r = ttft(targets[n], plan, rundir)
            except MEASURE_ERRORS as exc:
                res[n]["ttft"] = {"error": failed(rep, n, "ttft", exc)}
                continue
            res[n]["ttft"] = r
            st = r.get("stream", {})
            log(f"rep {rep}: {n} TTFT p50 {fmt(st.get('ttft_ms', {}).get('p50'))} ms")
        # D: fixed rates
        sat1 = rates.get("sat_rep1", {})
        for n in order:
            res[n]["fixed"] = {}
            for label in ("moderate", "common"):
                rate = rates.get(f"{label}_rps")
                if not rate:
                    continue
                ceiling = sat1.get(n, res[n]["saturation"]["rps"])
                if rate > 0.9 * ceiling:
                    res[n]["fixed"][label] = {
                        "offered_rps": rate,
                        "skipped": f"above 90% of this target's saturation ({ceiling:.0f} RPS)",
                    }
                    continue
                try:
                    r = fixed_rate(targets[n], plan, rate, plan.rate_s, rundir)
                except MEASURE_ERRORS as exc:
                    res[n]["fixed"][label] = {"error": failed(rep, n, label, exc)}
                    continue
                res[n]["fixed"][label] = r
                lat = r["latency_ms"]
                log(
                    f"rep {rep}: {n} at {rate:g} RPS: p50 {fmt(lat['p50'])} p90 {fmt(lat['p90'])}"
                    f" p99 {fmt(lat['p99'])} ms, achieved {r['achieved_rps']:.0f}"
                )
        # E: latency against offered load (one repetition)
        if with_curve:
            for n in order:
                pts = []
                ceiling = res[n]["saturation"]["rps"] or sat1.get(n, 0.0)
                for rate in rates["curve_rps"]:
                    if rate > 0.95 * ceiling:
                        continue
                    try:
                        r = fixed_rate(targets[n], plan, rate, plan.curve_s, rundir)
                    except MEASURE_ERRORS as exc:
                        failed(rep, n, f"curve at {rate:g} RPS", exc)
                        continue
                    pts.append(
                        {
                            "offered_rps": rate,
                            "achieved_rps": r["achieved_rps"],
                            "latency_ms": r["latency_ms"],
                            "errors": r["errors"],
                            "sustained": r["sustained"],
                        }
                    )
                res[n]["curve"] = pts
                log(f"rep {rep}: {n} latency curve, {len(pts)} points")
        out["targets"] = res
    finally:
        for t in targets.values():
            PROCS.stop(t.proc)
        PROCS.stop_all()
        for d in rundir.glob("junction-data-*"):
            shutil.rmtree(d, ignore_errors=True)
    return out, rates


def rate_txt(x: Any) -> str:
    return f"{x:,.0f}" if isinstance(x, int | float) and x >= 100 else f"{x:g}" if x else "-"


MEASURE_ERRORS = (RuntimeError, OSError, ValueError, KeyError, subprocess.TimeoutExpired)


def failed(rep: int, name: str, phase: str, exc: BaseException) -> str:
    msg = f"{type(exc).__name__}: {str(exc)[:600]}"
    log(f"rep {rep}: {name} {phase} failed: {msg}")
    return msg


def fmt(x: Any, nd: int = 2) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        if abs(x) >= 100:
            return f"{x:,.0f}"
        return f"{x:.{nd}f}"
    return str(x)


# ----------------------------------------------------------------------- summary


def dig(d: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


METRICS: list[tuple[str, str, tuple[str, ...], str]] = [
    # key, label, path into a target's rep result, which way is better
    ("sat_rps", "Saturation throughput (RPS, wrk -t2 -c32)", ("saturation", "rps"), "higher"),
    ("sat_p50_ms", "Latency p50 at saturation (ms)", ("saturation", "latency_ms", "p50"), "lower"),
    ("sat_p99_ms", "Latency p99 at saturation (ms)", ("saturation", "latency_ms", "p99"), "lower"),
    (
        "mod_p50_ms",
        "Latency p50 at the moderate rate (ms)",
        ("fixed", "moderate", "latency_ms", "p50"),
        "lower",
    ),
    (
        "mod_p90_ms",
        "Latency p90 at the moderate rate (ms)",
        ("fixed", "moderate", "latency_ms", "p90"),
        "lower",
    ),
    (
        "mod_p99_ms",
        "Latency p99 at the moderate rate (ms)",
        ("fixed", "moderate", "latency_ms", "p99"),
        "lower",
    ),
    (
        "common_p50_ms",
        "Latency p50 at the common rate (ms)",
        ("fixed", "common", "latency_ms", "p50"),
        "lower",
    ),
    (
        "common_p90_ms",
        "Latency p90 at the common rate (ms)",
        ("fixed", "common", "latency_ms", "p90"),
        "lower",
    ),
    (
        "common_p99_ms",
        "Latency p99 at the common rate (ms)",
        ("fixed", "common", "latency_ms", "p99"),
        "lower",
    ),
    (
        "stream_streams_per_s",
        "Streaming saturation (streams/s)",
        ("stream_saturation", "rps"),
        "higher",
    ),
    (
        "stream_chunks_per_s",
        "Streaming saturation (chunks/s)",
        ("stream_saturation", "chunks_per_s"),
        "higher",
    ),
    (
        "ttft_p50_ms",
        "Time to first token p50 (ms, paced stream)",
        ("ttft", "stream", "ttft_ms", "p50"),
        "lower",
    ),
    (
        "ttft_p99_ms",
        "Time to first token p99 (ms, paced stream)",
        ("ttft", "stream", "ttft_ms", "p99"),
        "lower",
    ),
    (
        "paced_chunks_per_s_per_stream",
        "Chunks/s within one paced stream (p50)",
        ("ttft", "stream", "chunks_per_s_per_stream_p50"),
        "higher",
    ),
    ("rss_idle_mb", "RSS at idle (MB)", ("rss_idle_mb",), "lower"),
    ("rss_load_mb", "RSS under load, max (MB)", ("rss_load_mb",), "lower"),
    ("cpu_cores_at_saturation", "CPU cores used at saturation", ("saturation", "cpu_cores"), "n/a"),
    ("cold_start_s", "Cold start to first completion (s)", ("cold_start_s",), "lower"),
]


def median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def summarize(reps: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    per: dict[str, dict[str, list[float | None]]] = {}
    for key, _, path, _ in METRICS:
        per[key] = {n: [dig(r["targets"].get(n), *path) for r in reps] for n in names}
    # added latency = (via router) - (direct), pair by pair within each repetition
    for label in ("mod", "common"):
        for q in ("p50", "p90", "p99"):
            key = f"added_{label}_{q}_ms"
            direct = per[f"{label}_{q}_ms"].get("direct", [])
            per[key] = {}
            for n in names:
                vals = per[f"{label}_{q}_ms"].get(n, [])
                per[key][n] = [
                    (v - d) if v is not None and d is not None else None
                    for v, d in zip(vals, direct, strict=False)
                ]
    summary: dict[str, Any] = {}
    for key, by_name in per.items():
        summary[key] = {}
        phase = fixed_label(key)
        for n, vals in by_name.items():
            clean = [v for v in vals if v is not None]
            summary[key][n] = {"median": median(clean), "per_rep": vals}
            if phase:
                flags = [dig(r["targets"].get(n), "fixed", phase, "sustained") for r in reps]
                summary[key][n]["unsustained_reps"] = sum(1 for f in flags if f is False)
    ratios: dict[str, Any] = {}
    for a, b in (("junction", "litellm"), ("junction", "direct"), ("junction", "passthrough")):
        if a not in names or b not in names:
            continue
        rk = f"{a}_over_{b}"
        ratios[rk] = {}
        for key, by_name in per.items():
            if key.startswith("added_"):
                continue
            pairs = [
                x / y if x is not None and y else None
                for x, y in zip(by_name.get(a, []), by_name.get(b, []), strict=False)
            ]
            clean = [v for v in pairs if v is not None]
            ratios[rk][key] = {"median": median(clean), "per_rep": pairs}
    return {"metrics": summary, "ratios": ratios}


def fixed_label(key: str) -> str | None:
    """The fixed-rate phase a metric key belongs to, if any."""
    for prefix, label in (("mod_", "moderate"), ("common_", "common")):
        if key.startswith(prefix) or key.startswith("added_" + prefix):
            return label
    return None


def machine_info(wrk: str, litellm_version: str | None) -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gib = round(int(line.split()[1]) / 2**20, 1)
    wrk_v = subprocess.run([wrk, "-v"], capture_output=True, text=True)
    words = (wrk_v.stdout + wrk_v.stderr).split()
    wrk_version = " ".join(words[:2]) if words else "wrk"
    junction_version = None
    jpy = ROOT / ".venv" / "bin" / "python"
    if jpy.exists():
        r = subprocess.run(
            [str(jpy), "-c", "import importlib.metadata as m; print(m.version('junction'))"],
            capture_output=True,
            text=True,
        )
        junction_version = r.stdout.strip() or None
    rev = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "os": platform.platform(),
        "python": platform.python_version(),
        "wrk": wrk_version,
        "litellm": litellm_version,
        "junction": junction_version,
        "junction_git_rev": rev.stdout.strip() or None,
    }


def write_markdown(result: dict[str, Any], path: Path) -> None:
    names: list[str] = result["targets"]
    m = result["summary"]["metrics"]
    ratios = result["summary"]["ratios"]
    meta = result["meta"]
    rates = result["rates"]
    mach = meta["machine"]
    lines = [
        "# Junction benchmark",
        "",
        f"{meta['finished_at']} · {mach['cores']} cores ({mach['cpu']}), {mach['memory_gib']} GiB ·"
        f" {meta['reps']} repetition(s){' (--quick)' if meta['quick'] else ''} · medians ·"
        f" Junction {mach['junction'] or 'n/a'} (git {mach['junction_git_rev'] or 'n/a'}),"
        f" LiteLLM {mach['litellm'] or 'n/a'}, {mach['wrk']}",
        "",
        f"Moderate rate: **{rate_txt(rates.get('moderate_rps'))} RPS**"
        f" ({rates.get('moderate_basis')}); common rate: **{rate_txt(rates.get('common_rps'))}"
        f" RPS** ({rates.get('common_basis')}). Ratios are computed per repetition (A/B of the"
        " same repetition), then the median is taken: above 1 means Junction's figure is the"
        " larger one (better for throughput, worse for latency, memory and start time).",
        "",
        "Other work on the machine while the servers idled (cores busy, per repetition): "
        + ", ".join(f"{r.get('background_cpu_cores', 0.0):.2f}" for r in result["reps"])
        + ".",
        "",
    ]
    cols = [LABELS[n] for n in names]
    hdr = ["metric", *cols]
    if "junction_over_litellm" in ratios:
        hdr.append("Junction / LiteLLM")
    if "junction_over_direct" in ratios:
        hdr.append("Junction / direct")
    if "junction_over_passthrough" in ratios:
        hdr.append("Junction / passthrough")
    lines.append("| " + " | ".join(hdr) + " |")
    lines.append("|" + "---|" * len(hdr))
    rows: list[tuple[str, str]] = [(k, label) for k, label, _, _ in METRICS]
    rows.insert(9, ("added_mod_p50_ms", "Added latency p50 at the moderate rate (ms)"))
    rows.insert(10, ("added_mod_p99_ms", "Added latency p99 at the moderate rate (ms)"))
    rows.insert(11, ("added_common_p50_ms", "Added latency p50 at the common rate (ms)"))
    rows.insert(12, ("added_common_p99_ms", "Added latency p99 at the common rate (ms)"))
    for key, label in rows:
        cells = [label]
        for n in names:
            v = dig(m, key, n, "median")
            if key.startswith("added_") and n == "direct":
                cells.append("0 (baseline)")
            else:
                bad = dig(m, key, n, "unsustained_reps")
                cells.append(fmt(v) + (" (!)" if bad else ""))
        for rk in ("junction_over_litellm", "junction_over_direct", "junction_over_passthrough"):
            if rk in ratios:
                r = dig(ratios, rk, key, "median")
                cells.append(f"{r:.2f}x" if isinstance(r, float) else "-")
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "(!) = in at least one repetition the target did not sustain that rate (it fell"
        " behind or had errors: the machine was busy, or the rate was near its saturation);"
        " the figure then measures an overload. See results.json.",
        "",
        "A dash means not measured (a router is not run at a rate above 90% of its"
        " saturation; results.json gives the reason).",
        "",
        "Fixed-rate latency: open loop, from the moment each request was issued on schedule;"
        " see bench/README.md. Graph: latency.png.",
        "",
    ]
    errs = {r["rep"]: r["errors"] for r in result["reps"] if r.get("errors")}
    if errs:
        lines += ["Errors: " + json.dumps(errs), ""]
    path.write_text("\n".join(lines))


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {
        "direct": "#555555",
        "passthrough": "#2ca02c",
        "junction": "#1f77b4",
        "litellm": "#d62728",
    }
    fig, ax = plt.subplots(figsize=(8, 5))
    any_pts = False
    for n in result["targets"]:
        pts = result.get("curve", {}).get(n) or []
        pts = [p for p in pts if p["latency_ms"]["p50"] is not None]
        if not pts:
            continue
        any_pts = True
        x = [p["offered_rps"] for p in pts]
        c = colors[n]
        ax.plot(x, [p["latency_ms"]["p50"] for p in pts], "-", color=c, label=f"{LABELS[n]} p50")
        p99 = [p["latency_ms"]["p99"] for p in pts]
        ax.plot(x, p99, "--", color=c, alpha=0.7, label=f"{LABELS[n]} p99")
        for p in pts:
            # filled: the rate was sustained; hollow: it was not (errors or fell behind)
            face = c if p["sustained"] else "white"
            for q, mk in (("p50", "o"), ("p99", "s")):
                ax.plot([p["offered_rps"]], [p["latency_ms"][q]], mk, color=c, mfc=face)
        sat = dig(result["summary"]["metrics"], "sat_rps", n, "median")
        if isinstance(sat, float):
            ax.axvline(sat, color=colors[n], linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(
        "offered load (requests/s, open loop); dotted line: saturation (wrk);"
        " hollow: rate not sustained"
    )
    ax.set_ylabel("latency, open loop (ms)")
    mach = result["meta"]["machine"]
    ax.set_title(f"Latency against offered load — {mach['cores']} cores, loopback, non-streaming")
    ax.grid(True, which="both", alpha=0.3)
    if any_pts:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description="Benchmark Junction against the upstream and LiteLLM.")
    ap.add_argument("--quick", action="store_true", help="one short repetition (about 4 minutes)")
    ap.add_argument("--reps", type=int, default=None, help="repetitions (default 3, --quick 1)")
    ap.add_argument("--skip-litellm", action="store_true", help="leave LiteLLM out")
    ap.add_argument("--skip-junction", action="store_true", help="leave Junction out")
    ap.add_argument("--skip-passthrough", action="store_true", help="leave the passthrough out")
    ap.add_argument("--litellm-version", default=LITELLM_VERSION)
    ap.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    args = ap.parse_args()
    bootstrap()
    plan = Plan.quick() if args.quick else Plan()
    if args.reps is not None:
        plan.reps = max(1, min(args.reps, 10))
    WORK.mkdir(parents=True, exist_ok=True)
    for old in WORK.glob("rep*-*"):  # logs of the previous run
        shutil.rmtree(old, ignore_errors=True)
    atexit.register(PROCS.stop_all)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = datetime.now(UTC)
    wrk = ensure_wrk()
    names = ["direct"]
    if JUNCTION_BIN.exists() and not args.skip_passthrough:
        names.append("passthrough")  # on Junction's venv (aiohttp, uvloop)
    notes: dict[str, str] = {}
    if args.skip_junction:
        notes["junction"] = "skipped (--skip-junction)"
    elif not JUNCTION_BIN.exists():
        notes["junction"] = f"{JUNCTION_BIN} does not exist"
    else:
        names.append("junction")
    litellm_version = None
    if args.skip_litellm:
        notes["litellm"] = "skipped (--skip-litellm)"
    else:
        ok, info = ensure_litellm(args.litellm_version)
        if ok:
            names.append("litellm")
            litellm_version = info
        else:
            notes["litellm"] = info
    for n, why in notes.items():
        log(f"{n}: {why}")
    reps: list[dict[str, Any]] = []
    rates: dict[str, Any] | None = None
    for rep in range(1, plan.reps + 1):
        log(f"repetition {rep}/{plan.reps}: {', '.join(names)}")
        r, rates = measure_rep(rep, plan, wrk, names, rates, with_curve=(rep == plan.reps))
        if rep == 1:
            rates["sat_rep1"] = {
                n: dig(d, "saturation", "rps") or 0.0 for n, d in r["targets"].items()
            }
        reps.append(r)
        for n, err in r.get("errors", {}).items():
            if n in names and rep == 1:
                names.remove(n)
                notes[n] = err
    present = [n for n in LABELS if any(n in r["targets"] for r in reps)]
    curve = {n: reps[-1]["targets"].get(n, {}).get("curve", []) for n in present}
    finished = datetime.now(UTC)
    result: dict[str, Any] = {
        "meta": {
            "started_at": started.isoformat(timespec="seconds"),
            "finished_at": finished.isoformat(timespec="seconds"),
            "wall_s": round((finished - started).total_seconds(), 1),
            "quick": args.quick,
            "reps": plan.reps,
            "plan": plan.__dict__,
            "machine": machine_info(wrk, litellm_version),
            "notes": notes,
            "upstream": {
                "chunks": UPSTREAM_CHUNKS,
                "paced_chunks": PACED_CHUNKS,
                "paced_delay_ms": PACED_DELAY_MS,
            },
            "prompt": PROMPT,
        },
        "targets": present,
        "rates": rates or {},
        "summary": summarize(reps, present),
        "curve": curve,
        "reps": reps,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    write_markdown(result, args.out / "results.md")
    plot(result, args.out / "latency.png")
    log(f"done in {result['meta']['wall_s']:.0f}s: {args.out / 'results.md'}")
    print((args.out / "results.md").read_text())


if __name__ == "__main__":
    try:
        main()
    finally:
        PROCS.stop_all()
