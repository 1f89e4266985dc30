"""The newcomer's path: ``junction serve`` on a fresh data directory, and on PostgreSQL."""

from __future__ import annotations

import gc
import re
import time
from pathlib import Path

import httpx

from junction.gc_tuning import YOUNG_GENERATION_THRESHOLD, serving_collector
from tests.conftest import RouterProcess
from tests.upstream import Upstream


def test_first_start_prints_admin_key_once(tmp_path: Path) -> None:
    first = RouterProcess(tmp_path, {}).start(with_admin_key=False)
    try:
        found = re.search(r"\b(ja-[A-Za-z0-9_-]{20,})", first.log())
        assert found, first.log()
        key = found.group(1)
        # A router's first admin request imports the admin API and the ORM: a busy machine
        # may take seconds.
        ok = httpx.get(
            first.url + "/admin/v1/workspaces",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert ok.status_code == 200
        assert httpx.get(first.url + "/readyz").json()["checks"]["database"] == "ok"
    finally:
        # uvicorn re-raises SIGTERM after its graceful shutdown, so -15 is the clean exit.
        assert first.stop() in (0, -15)
        assert "Application shutdown complete" in first.log()
    assert (tmp_path / "junction.db").exists() and (tmp_path / "secret.key").exists()
    assert (tmp_path / "secret.key").stat().st_mode & 0o077 == 0

    second = RouterProcess(tmp_path, {}).start(with_admin_key=False)
    try:
        assert "ja-" not in second.log(), "the key is printed on the first start only"
        again = httpx.get(
            second.url + "/admin/v1/workspaces",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert again.status_code == 200
    finally:
        second.stop()


def test_router_runs_on_postgresql(tmp_path: Path, pg_url: str, upstream: Upstream) -> None:
    proc = RouterProcess(tmp_path, {"JUNCTION_DATABASE_URL": pg_url}).start()
    try:
        with proc.admin() as admin:
            assert (
                admin.post(
                    "/providers", json={"name": "pg-up", "base_url": upstream.url}
                ).status_code
                == 201
            )
            assert admin.post("/workspaces", json={"name": "pgws"}).status_code == 201
            key = admin.post("/workspaces/pgws/keys", json={}).json()["key"]
            made = admin.post(
                "/workspaces/pgws/assistants", json={"name": "bot", "model": "pg-up/echo"}
            )
            assert made.status_code == 201, made.text
        answer = proc.client(key).chat.completions.create(
            model="bot", messages=[{"role": "user", "content": "from postgres"}]
        )
        assert answer.choices[0].message.content == "echo: from postgres"
        assert not (tmp_path / "junction.db").exists()
    finally:
        proc.stop()


def test_sigterm_lets_in_flight_streams_finish(tmp_path: Path, upstream: Upstream) -> None:
    import signal
    import threading

    proc = RouterProcess(tmp_path, {}).start()
    with proc.admin() as admin:
        admin.post("/providers", json={"name": "up", "base_url": upstream.url})
        admin.post("/workspaces", json={"name": "w"})
        key = admin.post("/workspaces/w/keys", json={}).json()["key"]
        admin.post("/workspaces/w/assistants", json={"name": "slow", "model": "up/paced"})
    text: list[str] = []

    def consume() -> None:
        stream = proc.client(key).chat.completions.create(
            model="slow", messages=[{"role": "user", "content": "one two three four"}], stream=True
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                text.append(chunk.choices[0].delta.content)

    reader = threading.Thread(target=consume)
    reader.start()
    deadline = time.monotonic() + 20
    while not text and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.proc is not None
    proc.proc.send_signal(signal.SIGTERM)
    reader.join(10)
    assert "".join(text) == "echo: one two three four", "the stream ran to its end"
    assert proc.proc.wait(10) in (0, -15)


def test_workers_follow_config_changes(tmp_path: Path, upstream: Upstream) -> None:
    """With --workers 2 on SQLite, a change made through one worker reaches every worker."""
    proc = RouterProcess(tmp_path, {"JUNCTION_CONFIG_POLL_SECONDS": "0.2"})
    proc.extra_args = ["--workers", "2"]
    proc.start(timeout=120)
    try:
        deadline = time.monotonic() + 60  # the second worker may come up later than the first
        while proc.log().count("Application startup complete") < 2:
            assert time.monotonic() < deadline, proc.log()
            time.sleep(0.1)
        with proc.admin() as admin:
            admin.post("/providers", json={"name": "up", "base_url": upstream.url})
            admin.post("/workspaces", json={"name": "w"})
            key = admin.post("/workspaces/w/keys", json={}).json()["key"]
            admin.post(
                "/workspaces/w/assistants",
                json={"name": "bot", "model": "up/echo", "system_prompt": "v1"},
            )
            admin.patch("/workspaces/w/assistants/bot", json={"system_prompt": "v2"})
        assert proc.proc is not None
        workers = _children(proc.proc.pid)  # the two workers (and multiprocessing's helper)
        answered_by: dict[int, list[str]] = {}
        deadline = time.monotonic() + 60
        while len(answered_by) < 2 or any(p[-1] != "v2" for p in answered_by.values()):
            assert time.monotonic() < deadline, answered_by
            # A new connection each time: the kernel hands it to either worker.
            response = httpx.post(
                proc.url + "/v1/chat/completions",
                json={"model": "bot", "messages": [{"role": "user", "content": "x"}]},
                headers={"Authorization": f"Bearer {key}"},
            )
            if response.status_code in (401, 404):
                continue  # this worker has not loaded the new key or assistant yet
            assert response.status_code == 200, response.text
            worker = _owner_of_port(upstream.peer_ports[-1], workers)
            answered_by.setdefault(worker, []).append(upstream.last()["messages"][0]["content"])
        # Two processes answered, and each ended on the change made through one of them.
        assert len(answered_by) == 2, answered_by
    finally:
        proc.stop()


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    found: list[int] = []
    for task in tasks.iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return sorted(found)


def _owner_of_port(port: int, pids: list[int]) -> int:
    """The process among ``pids`` holding the loopback TCP socket with local ``port``."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = fd.readlink().name
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                return pid
    raise AssertionError(f"no worker holds port {port}")


def test_the_collector_is_tuned_while_serving_and_restored_after() -> None:
    before = gc.get_threshold()
    with serving_collector():
        assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > 1000, "the startup heap is frozen out of collection"
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
