"""What a client may send: messages, nesting, header size, and how slowly (slow loris)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from junction.hardening.writes import FLUSH_BYTES, GatheringTransport
from tests.conftest import RouterProcess, make_tenant
from tests.upstream import Upstream

TIMEOUT = 1.0


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[RouterProcess]:
    env = {
        "JUNCTION_REQUEST_READ_TIMEOUT": str(TIMEOUT),
        "JUNCTION_MAX_HEADER_BYTES": "4096",
        "JUNCTION_MAX_MESSAGES": "5",
        "JUNCTION_MAX_JSON_DEPTH": "12",
    }
    router = RouterProcess(tmp_path_factory.mktemp("strict"), env).start()
    with router.admin() as admin:
        admin.post("/providers", json={"name": "local", "base_url": upstream.url})
    yield router
    router.stop()


def _post(router: RouterProcess, key: str, body: object) -> httpx.Response:
    return httpx.post(
        router.url + "/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )


def test_message_count_and_nesting(strict: RouterProcess) -> None:
    tenant = make_tenant(strict)
    tenant.assistant("bot")
    many = [{"role": "user", "content": str(i)} for i in range(6)]
    refused = _post(strict, tenant.key, {"model": "bot", "messages": many})
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "messages"
    assert "at most 5" in refused.json()["error"]["message"]

    deep: object = "x"
    for _ in range(12):
        deep = {"a": [deep]}
    nested = {"model": "bot", "messages": [{"role": "user", "content": "hi"}], "metadata": deep}
    refused = _post(strict, tenant.key, nested)
    assert refused.status_code == 400
    assert "nests" in refused.json()["error"]["message"]
    fine = _post(strict, tenant.key, {"model": "bot", "messages": many[:5]})
    assert fine.status_code == 200


def test_oversized_headers_get_431(strict: RouterProcess) -> None:
    response = httpx.get(strict.url + "/healthz", headers={"x-padding": "a" * 5000})
    assert response.status_code == 431
    assert response.json()["error"]["code"] == "headers_too_large"
    many = {f"x-h{i}": "v" * 50 for i in range(100)}
    assert httpx.get(strict.url + "/healthz", headers=many).status_code == 431
    assert httpx.get(strict.url + "/healthz", headers={"x-small": "a" * 1000}).status_code == 200


def _closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    sock.settimeout(seconds)
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except TimeoutError:
        return False, received
    return True, received


def test_slow_loris_clients_are_cut_off(strict: RouterProcess) -> None:
    key = make_tenant(strict).key.encode()  # a valid key: the handler then waits for the body
    silent = socket.create_connection(("127.0.0.1", strict.port))
    dripping = socket.create_connection(("127.0.0.1", strict.port))
    slow_body = socket.create_connection(("127.0.0.1", strict.port))
    started = time.monotonic()
    try:
        dripping.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        slow_body.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
            b"Authorization: Bearer " + key + b"\r\n\r\n{"
        )
        for _ in range(3):  # a header line now and then keeps no deadline at bay
            time.sleep(0.3)
            try:
                dripping.sendall(b"x-drip: 1\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break  # a loaded machine: the deadline came first; the read below still sees it
            # Meanwhile everybody else is served.
            assert httpx.get(strict.url + "/healthz", timeout=2).status_code == 200
        for sock in (silent, dripping, slow_body):
            closed, answer = _closed_within(sock, TIMEOUT + 10)
            assert closed, "the server hung up"
            assert answer.startswith(b"HTTP/1.1 408"), answer
            head, _, body = answer.partition(b"\r\n\r\n")
            assert b"content-type: application/json" in head.lower()
            assert json.loads(body)["error"]["code"] == "request_timeout"
        # A generous ceiling for a loaded machine; the 408s show the request deadline did it.
        assert time.monotonic() - started < TIMEOUT + 10
    finally:
        for sock in (silent, dripping, slow_body):
            sock.close()
    assert httpx.get(strict.url + "/healthz").status_code == 200
    assert "Traceback" not in strict.log()


def _answer_on(sock: socket.socket) -> bytes:
    """One whole HTTP/1.1 answer read from ``sock`` (its head and Content-Length body)."""
    sock.settimeout(10)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(4096)
        assert chunk, f"the server closed the connection: {received!r}"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(
        next(
            line for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")
        ).split(b":")[1]
    )
    while len(body) < length:
        chunk = sock.recv(4096)
        assert chunk, "the server closed the connection mid-answer"
        body += chunk
    return head


def test_bytes_that_are_not_http_get_a_json_400(strict: RouterProcess) -> None:
    for garbage in (b"\x00\x01\x02 nonsense\r\n\r\n", b"GET / HTTP/9.9\r\nHost x\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", strict.port)) as sock:
            sock.sendall(garbage)
            closed, answer = _closed_within(sock, 5)
        assert closed and answer.startswith(b"HTTP/1.1 400"), answer
        head, _, body = answer.partition(b"\r\n\r\n")
        assert b"content-type: application/json" in head.lower()
        error = json.loads(body)["error"]
        assert error["type"] == "invalid_request_error" and error["code"] == "invalid_http_request"
    assert httpx.get(strict.url + "/healthz").status_code == 200


def test_keep_alive_connection_gets_a_fresh_deadline(strict: RouterProcess) -> None:
    """Three requests on one connection that together outlast the request deadline: each
    request has its own deadline, so all three are answered on that same connection."""
    with socket.create_connection(("127.0.0.1", strict.port)) as sock:
        started = time.monotonic()
        for _ in range(3):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _answer_on(sock).startswith(b"HTTP/1.1 200")
            time.sleep(TIMEOUT * 0.6)  # idle between requests is the keep-alive timer's job
        assert time.monotonic() - started > TIMEOUT, "the connection outlived one deadline"


def test_the_router_still_starts_with_defaults(tmp_path: Path) -> None:
    router = RouterProcess(tmp_path, {}).start()
    try:
        assert httpx.get(router.url + "/healthz", headers={"x-a": "b" * 20000}).status_code == 200
    finally:
        router.stop()


class _Recorder(asyncio.Transport):
    """A transport that keeps what is written to it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_write_buffer_size(self) -> int:
        return 0


async def test_writes_within_one_turn_of_the_loop_go_out_as_one() -> None:
    loop = asyncio.get_running_loop()
    inner = _Recorder()
    transport = GatheringTransport(inner, loop)
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(b"data: 1\n\n")
    transport.write(b"")
    assert inner.writes == [] and transport.get_write_buffer_size() == 28
    await asyncio.sleep(0)
    assert inner.writes == [b"HTTP/1.1 200 OK\r\n\r\ndata: 1\n\n"]

    transport.write(b"x" * (FLUSH_BYTES - 1))
    transport.write(b"yz")  # past the threshold: out at once
    assert inner.writes[1:] == [b"x" * (FLUSH_BYTES - 1) + b"yz"]
    await asyncio.sleep(0)  # the turn's flush finds nothing left
    assert len(inner.writes) == 2

    transport.write(b"last words")
    transport.close()  # what is gathered goes out before the connection closes
    assert inner.writes[2:] == [b"last words"] and inner.closed
    transport.write(b"too late")
    await asyncio.sleep(0)  # dropped: the connection is closing
    assert len(inner.writes) == 3
