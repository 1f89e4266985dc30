"""What rate limiting adds to one request, measured in process (no HTTP).

    .venv/bin/python bench/ratelimit_cost.py [--redis redis://127.0.0.1:6379/0] [-n 20000]

Times ``RateLimits.admit`` for a call whose workspace and key both have requests- and
tokens-per-minute limits (four windows), and for one with no limits, on in-process counters
and, with ``--redis``, on Redis (keys under a fresh prefix, removed afterwards). Limits are set
high enough that nothing is refused. Prints microseconds per call (median of 5 rounds).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import time

from junction.config.snapshot import KeyTerms, KeyView, WorkspaceSettings, WorkspaceView
from junction.core.call import Call
from junction.ratelimit.limiter import RateLimits
from junction.ratelimit.store import CounterStore

BIG = 10**12


def _call(limited: bool) -> Call:
    limit = BIG if limited else None
    call = Call("req_bench", "chat.completions")
    call.workspace = WorkspaceView(
        "ws_1", "bench", WorkspaceSettings(rpm_limit=limit, tpm_limit=limit)
    )
    call.key = KeyView("key_1", "ws_1", KeyTerms(rpm_limit=limit, tpm_limit=limit))
    return call


async def _round(limits: RateLimits, limited: bool, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        await limits.admit(_call(limited), 40)
    return (time.perf_counter() - started) / n * 1e6


async def measure(store: CounterStore, n: int) -> dict[str, float]:
    limits = RateLimits(store)
    results = {}
    for limited in (False, True):
        rounds = [await _round(limits, limited, n) for _ in range(5)]
        results["4 limits" if limited else "no limits"] = statistics.median(rounds)
    await limits.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", default=None)
    parser.add_argument("-n", type=int, default=20000)
    args = parser.parse_args()
    print(f"memory: {asyncio.run(measure(CounterStore(), args.n))}")
    if args.redis:
        prefix = "junction-bench-" + secrets.token_hex(4)
        store = CounterStore(args.redis, prefix=prefix)
        print(f"redis:  {asyncio.run(measure(store, max(1, args.n // 10)))}")
        import redis

        client = redis.Redis.from_url(args.redis)
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()


if __name__ == "__main__":
    main()
