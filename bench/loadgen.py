"""Fixed-rate (open-loop) and fixed-concurrency (closed-loop) HTTP load generator.

Why this exists: wrk measures saturation well, but it is closed-loop (each
connection waits for its answer before sending again), so at a "fixed moderate
rate" it would under-report latency whenever the server stalls (coordinated
omission), and wrk2 is not available here.  This generator sends requests on a
fixed schedule (request i is due at t0 + i/rate) whatever the server does: a
slow answer never holds the next request back (a new connection is opened when
none is free, up to --max-conns, and the wait for one counts).  Each latency is
measured from the moment the scheduler issued the request.  The scheduler's own
lag behind the schedule (the event loop's timers have about 1 ms resolution) is
reported apart as ``lateness_ms``, and the latency from the *intended* time as
``latency_from_intended_ms``: at low rates the timer lag alone would otherwise add
up to a millisecond to every figure, the same for every target.  It also reads
streamed (SSE) answers and records the time to the first content token and the
number of content chunks.

It is a raw asyncio HTTP/1.1 keep-alive client (uvloop when importable) with
pre-encoded requests, so that it costs little CPU on the shared machine.  It
talks only to loopback addresses.

Usage (prints one JSON object on stdout):
  python bench/loadgen.py --url http://127.0.0.1:P/v1/chat/completions \
      --body-file body.json [--header 'Authorization: Bearer k'] \
      --mode rate --rate 500 --duration 8 [--warmup 1] [--stream]
  python bench/loadgen.py ... --mode concurrency --concurrency 8 --duration 5 --stream
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

# A content delta with at least one character: counts as one token chunk.
CONTENT_RE = re.compile(rb'"content"\s*:\s*"[^"]')
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


class ResponseError(Exception):
    pass


@dataclass
class Result:
    intended: float
    issued: float = 0.0
    sent: float = 0.0
    done: float = 0.0
    status: int = 0
    error: str = ""
    ttft: float = -1.0  # seconds from send to first content token, -1 if none
    chunks: int = 0
    last_chunk: float = 0.0


class Conn(asyncio.Protocol):
    """One keep-alive connection; one request in flight at a time."""

    def __init__(self, stream: bool) -> None:
        self.stream = stream
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.result: Result | None = None
        self.buf = b""
        self.reusable = True
        self.closed = False
        self._reset()

    def _reset(self) -> None:
        self.headers_done = False
        self.status = 0
        self.length = -1
        self.chunked = False
        self.body_len = 0
        self.sse = b""
        self.ended = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        if self.headers_done and not self.chunked and self.length < 0:
            self._finish()  # body delimited by the end of the connection
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ResponseError("closed"))

    def data_received(self, data: bytes) -> None:
        if self.waiter is None:
            self.reusable = False  # unexpected bytes: do not reuse
            return
        self.buf += data
        try:
            self._advance()
        except (ValueError, IndexError) as exc:
            self.reusable = False
            if not self.waiter.done():
                self.waiter.set_exception(ResponseError(f"parse: {exc}"))

    # request
    def send(self, payload: bytes, result: Result) -> asyncio.Future[None]:
        assert self.transport is not None
        self._reset()
        self.buf = b""
        self.result = result
        self.waiter = asyncio.get_running_loop().create_future()
        result.sent = time.perf_counter()
        self.transport.write(payload)
        return self.waiter

    def _advance(self) -> None:
        if not self.headers_done:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1").split("\r\n")
            self.status = int(head[0].split(" ", 2)[1])
            for line in head[1:]:
                name, _, value = line.partition(":")
                lname = name.strip().lower()
                v = value.strip().lower()
                if lname == "content-length":
                    self.length = int(v)
                elif lname == "transfer-encoding" and "chunked" in v:
                    self.chunked = True
                elif lname == "connection" and v == "close":
                    self.reusable = False
            self.headers_done = True
            self.buf = self.buf[end + 4 :]
            if self.result is not None:
                self.result.status = self.status
        if self.chunked:
            self._dechunk()
        elif self.length >= 0:
            take = self.buf[: self.length - self.body_len]
            self.body_len += len(take)
            if self.stream:
                self._feed(take)
            self.buf = self.buf[len(take) :]
            if self.body_len >= self.length:
                self._finish()
        else:
            # no length, not chunked: body runs to connection close
            self.reusable = False
            if self.stream:
                self._feed(self.buf)
            self.buf = b""

    def _dechunk(self) -> None:
        buf = self.buf
        pos = 0
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                break
            size = int(buf[pos:eol].split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                if buf.find(b"\r\n", eol + 2) < 0:
                    break
                self.buf = b""
                self._finish()
                return
            if len(buf) < eol + 2 + size + 2:
                break
            if self.stream:
                self._feed(buf[eol + 2 : eol + 2 + size])
            pos = eol + 2 + size + 2
        self.buf = buf[pos:]

    def _feed(self, data: bytes) -> None:
        """Split the SSE body into events; count content deltas."""
        r = self.result
        if r is None:
            return
        self.sse += data
        while True:
            end = self.sse.find(b"\n\n")
            if end < 0:
                return
            event = self.sse[:end]
            self.sse = self.sse[end + 2 :]
            n = len(CONTENT_RE.findall(event))
            if n:
                now = time.perf_counter()
                if r.ttft < 0:
                    r.ttft = now - r.sent
                r.chunks += n
                r.last_chunk = now

    def _finish(self) -> None:
        if self.result is not None:
            self.result.done = time.perf_counter()
            if self.stream and self.sse:
                self._feed(b"\n\n")
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


@dataclass
class Pool:
    host: str
    port: int
    stream: bool
    max_conns: int
    idle: list[Conn] = field(default_factory=list)
    total: int = 0
    waiters: list[asyncio.Future[Conn]] = field(default_factory=list)

    async def open(self) -> Conn:
        loop = asyncio.get_running_loop()
        self.total += 1
        try:
            _, proto = await loop.create_connection(lambda: Conn(self.stream), self.host, self.port)
        except OSError:
            self.total -= 1
            raise
        return proto

    async def get(self) -> Conn:
        while self.idle:
            c = self.idle.pop()
            if not c.closed:
                return c
            self.total -= 1
        if self.total < self.max_conns:
            return await self.open()
        fut: asyncio.Future[Conn] = asyncio.get_running_loop().create_future()
        self.waiters.append(fut)
        return await fut

    def put(self, c: Conn) -> None:
        if c.closed or not c.reusable:
            if c.transport is not None and not c.closed:
                c.transport.close()
            self.total -= 1
            if self.waiters:
                w = self.waiters.pop(0)
                task = asyncio.ensure_future(self.open())
                task.add_done_callback(lambda t: _hand_over(t, w))
            return
        while self.waiters:
            w = self.waiters.pop(0)
            if not w.done():
                w.set_result(c)
                return
        self.idle.append(c)

    def close(self) -> None:
        for c in self.idle:
            if c.transport is not None:
                c.transport.close()
        self.idle.clear()


def _hand_over(task: asyncio.Future[Conn], waiter: asyncio.Future[Conn]) -> None:
    if waiter.done():
        if not task.exception():
            c = task.result()
            if c.transport is not None:
                c.transport.close()
        return
    exc = task.exception()
    if exc is not None:
        waiter.set_exception(exc)
    else:
        waiter.set_result(task.result())


async def one(pool: Pool, payload: bytes, r: Result, limit_s: float) -> None:
    try:
        c = await asyncio.wait_for(pool.get(), limit_s)
    except TimeoutError:
        r.error = "timeout"
        r.done = time.perf_counter()
        return
    except OSError:
        r.error = "connect"
        r.done = time.perf_counter()
        return
    remaining = max(0.001, limit_s - (time.perf_counter() - r.issued))
    try:
        await asyncio.wait_for(c.send(payload, r), remaining)
    except TimeoutError:
        r.error = "timeout"
        c.reusable = False
    except ResponseError as exc:
        r.error = "read" if str(exc) == "closed" else "parse"
    finally:
        if not r.done:
            r.done = time.perf_counter()
        c.waiter = None
        c.result = None
        pool.put(c)
    if not r.error and r.status != 200:
        r.error = f"status_{r.status}"


async def run_rate(
    args: argparse.Namespace, pool: Pool, payload: bytes
) -> tuple[list[Result], float, float]:
    n = max(1, round(args.rate * args.duration))
    interval = 1.0 / args.rate
    # open some connections up front, so that connects stay off the clock
    warm = min(args.max_conns, max(2, math.ceil(args.rate * 0.005)))
    conns = await asyncio.gather(*(pool.open() for _ in range(warm)), return_exceptions=True)
    for c in conns:
        if isinstance(c, Conn):
            pool.idle.append(c)
    results: list[Result] = []
    tasks: list[asyncio.Task[None]] = []
    t0 = time.perf_counter() + 0.05
    i = 0
    while i < n:
        now = time.perf_counter()
        due = t0 + i * interval
        if due > now:
            await asyncio.sleep(due - now)
            continue
        while i < n and t0 + i * interval <= now:
            r = Result(intended=t0 + i * interval, issued=time.perf_counter())
            results.append(r)
            tasks.append(asyncio.create_task(one(pool, payload, r, args.timeout)))
            i += 1
    end_sched = time.perf_counter()
    if tasks:
        await asyncio.wait(tasks, timeout=args.timeout + 5)
    for t in tasks:
        if not t.done():
            t.cancel()
    return results, t0, end_sched


async def run_concurrency(
    args: argparse.Namespace, pool: Pool, payload: bytes
) -> tuple[list[Result], float, float]:
    results: list[Result] = []
    t0 = time.perf_counter()
    stop = t0 + args.duration

    async def worker() -> None:
        while time.perf_counter() < stop:
            now = time.perf_counter()
            r = Result(intended=now, issued=now)
            results.append(r)
            await one(pool, payload, r, args.timeout)
            if r.error in ("connect",):
                await asyncio.sleep(0.01)

    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    return results, t0, time.perf_counter()


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100.0 * len(s)) - 1))
    return s[k]


def summarize(
    results: list[Result], t0: float, warmup: float, args: argparse.Namespace, end: float
) -> dict[str, Any]:
    measured = [r for r in results if r.intended >= t0 + warmup]
    ok = [r for r in measured if not r.error]
    errors = Counter(r.error for r in measured if r.error)
    lat = [(r.done - r.issued) * 1000.0 for r in ok]
    lat_intended = [(r.done - r.intended) * 1000.0 for r in ok]
    late = [(r.issued - r.intended) * 1000.0 for r in measured]
    svc = [(r.done - r.sent) * 1000.0 for r in ok]
    span = max(1e-9, (max((r.done for r in ok), default=end) - (t0 + warmup)))
    achieved = len(ok) / span
    if args.mode == "rate":
        # answers completed inside the sending window, per second of the window: a server
        # that keeps up loses only the last few in-flight requests; one that falls behind
        # builds a backlog and completes fewer
        w_end = t0 + round(args.rate * args.duration) / args.rate
        in_window = sum(1 for r in ok if r.done <= w_end)
        achieved = args.rate * in_window / max(1, len(measured))
    out: dict[str, Any] = {
        "mode": args.mode,
        "offered_rps": args.rate if args.mode == "rate" else None,
        "concurrency": args.concurrency if args.mode == "concurrency" else None,
        "duration_s": args.duration,
        "warmup_s": warmup,
        "requests": len(measured),
        "ok": len(ok),
        "errors": dict(errors),
        "achieved_rps": achieved,
        "latency_ms": {
            "p50": pct(lat, 50),
            "p90": pct(lat, 90),
            "p99": pct(lat, 99),
            "max": max(lat) if lat else None,
            "mean": sum(lat) / len(lat) if lat else None,
        },
        "latency_from_intended_ms": {
            "p50": pct(lat_intended, 50),
            "p90": pct(lat_intended, 90),
            "p99": pct(lat_intended, 99),
        },
        "lateness_ms": {"p50": pct(late, 50), "p99": pct(late, 99), "max": max(late, default=None)},
        "service_ms": {"p50": pct(svc, 50), "p99": pct(svc, 99)},
    }
    if args.stream:
        ttft = [r.ttft * 1000.0 for r in ok if r.ttft >= 0]
        chunks = [r.chunks for r in ok]
        rates = [
            (r.chunks - 1) / (r.last_chunk - (r.sent + r.ttft))
            for r in ok
            if r.chunks > 1 and r.last_chunk > r.sent + r.ttft
        ]
        total_chunks = sum(chunks)
        out["stream"] = {
            "ttft_ms": {"p50": pct(ttft, 50), "p90": pct(ttft, 90), "p99": pct(ttft, 99)},
            "total_ms": {"p50": pct(lat, 50), "p99": pct(lat, 99)},
            "chunks_per_stream": {
                "min": min(chunks) if chunks else None,
                "max": max(chunks) if chunks else None,
            },
            "chunks_per_s_per_stream_p50": pct(rates, 50),
            "chunks_per_s_total": total_chunks / span,
            "without_content": len([r for r in ok if r.ttft < 0]),
        }
    return out


def build_payload(url: str, body: bytes, headers: list[str]) -> tuple[str, int, bytes]:
    u = urlsplit(url)
    if u.scheme != "http" or u.hostname is None:
        raise SystemExit("only http:// URLs are supported")
    if u.hostname not in LOOPBACK:
        raise SystemExit("the load generator only targets loopback addresses")
    port = u.port or 80
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {u.hostname}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    lines.extend(headers)
    return u.hostname, port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def amain(args: argparse.Namespace, body: bytes) -> dict[str, Any]:
    host, port, payload = build_payload(args.url, body, args.header)
    pool = Pool(host, port, args.stream, args.max_conns)
    try:
        if args.mode == "rate":
            results, t0, end = await run_rate(args, pool, payload)
            return summarize(results, t0, args.warmup, args, end)
        results, t0, end = await run_concurrency(args, pool, payload)
        return summarize(results, t0, args.warmup, args, end)
    finally:
        pool.close()


def main() -> None:
    p = argparse.ArgumentParser(
        description="Open-loop / closed-loop HTTP load generator (loopback only)."
    )
    p.add_argument("--url", required=True)
    p.add_argument("--body-file", required=True)
    p.add_argument(
        "--header",
        action="append",
        default=[],
        help="extra header line, e.g. 'Authorization: Bearer k'",
    )
    p.add_argument("--mode", choices=("rate", "concurrency"), default="rate")
    p.add_argument("--rate", type=float, default=100.0, help="requests per second (mode rate)")
    p.add_argument(
        "--concurrency", type=int, default=8, help="parallel requests (mode concurrency)"
    )
    p.add_argument(
        "--duration", type=float, default=5.0, help="seconds of sending (bounded to 120)"
    )
    p.add_argument(
        "--warmup", type=float, default=0.0, help="seconds at the start left out of the figures"
    )
    p.add_argument(
        "--stream", action="store_true", help="read SSE answers: time to first token, chunks"
    )
    p.add_argument("--max-conns", type=int, default=512)
    p.add_argument("--timeout", type=float, default=15.0, help="per-request timeout, seconds")
    p.add_argument("--no-uvloop", action="store_true")
    args = p.parse_args()
    args.duration = min(max(args.duration, 0.1), 120.0)
    args.rate = max(args.rate, 0.1)
    args.warmup = min(max(args.warmup, 0.0), args.duration / 2)
    # The run is short and bounded: collector pauses would only add jitter to
    # the measured latencies, so the cyclic garbage collector is switched off.
    gc.collect()
    gc.freeze()
    gc.disable()
    with open(args.body_file, "rb") as f:
        body = f.read()
    if not args.no_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            out = uvloop.run(amain(args, body))
            json.dump(out, sys.stdout)
            sys.stdout.write("\n")
            return
    out = asyncio.run(amain(args, body))
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
