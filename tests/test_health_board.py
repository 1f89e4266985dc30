"""The circuit breaker's states, in-process (no server): cooldown, one shared probe, probation."""

from __future__ import annotations

import asyncio
import time

from junction.routing.health import HealthBoard


async def test_threshold_cooldown_shared_probe_and_probation() -> None:
    board = HealthBoard(threshold=2, cooldown=0.2, probe_timeout=1)
    ref = "p/m"
    board.failure(ref, "boom 1")
    assert board.usable(ref, time.monotonic()) and not board.probe_due(ref)
    board.failure(ref, "boom 2")
    assert not board.usable(ref, time.monotonic())
    assert board.provider_health("p")["status"] == "cooldown"
    assert board.provider_health("p")["last_error"] == "boom 2"

    probes = 0

    async def probe() -> None:
        nonlocal probes
        probes += 1
        await asyncio.sleep(0.05)

    await asyncio.sleep(0.25)
    assert board.usable(ref, time.monotonic()) and board.probe_due(ref)
    assert await asyncio.gather(*(board.ready(ref, probe) for _ in range(5))) == [True] * 5
    assert probes == 1, "concurrent requests share one probe"
    assert board.state(ref).status(time.monotonic()) == "probation"

    board.failure(ref, "still broken")  # on probation one failure is enough
    assert not board.usable(ref, time.monotonic())
    cooldown = board.state(ref).cooldown_until - time.monotonic()
    assert 0.3 < cooldown <= 0.4, "the second cooldown in a row is doubled"


async def test_failed_probe_keeps_it_out_and_success_heals() -> None:
    board = HealthBoard(threshold=1, cooldown=0.05, probe_timeout=0.1)
    board.failure("p/m", "down")
    await asyncio.sleep(0.06)

    async def refused() -> None:
        raise ConnectionRefusedError("no")

    assert await board.ready("p/m", refused) is False
    assert "probe failed" in (board.state("p/m").last_error or "")

    async def hangs() -> None:
        await asyncio.sleep(5)

    await asyncio.sleep(0.2)
    assert await board.ready("p/m", hangs) is False, "a probe is bounded by probe_timeout"

    board.success("p/m", 0.012)
    state = board.state("p/m")
    assert state.status(time.monotonic()) == "healthy" and state.cooldowns == 0
    assert board.provider_health("p")["latency_ms"] == 12.0
    board.forget("p")
    assert board.provider_health("p")["status"] == "unknown"
