"""The in-process rate-limit counters keep the ``limits`` library's sliding-window arithmetic
(and its Redis keys), without the library."""

from __future__ import annotations

import pytest
from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage

from junction.ratelimit.limiter import Rule
from junction.ratelimit.store import LocalWindows, Window


def test_keys_are_the_limits_librarys() -> None:
    rule = Rule("tokens", "key", "key_1", 5000)
    item = RateLimitItemPerMinute(5000, namespace="junction")
    assert rule.window.key == item.key_for("key", "key_1", "tokens")


async def test_counts_as_the_limits_memory_storage_does(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [60.0 * 29_000_000 + 0.5]
    monkeypatch.setattr("limits.aio.storage.memory.time.time", lambda: now[0])
    library = MemoryStorage()
    ours = LocalWindows(clock=lambda: now[0])
    window = Window("junction/key/k/requests/10/1/minute", 10)
    steps = [(0.0, 6), (1.0, 5), (2.0, 4), (3.0, 1), (57.0, 1), (60.0, 1), (75.0, 3), (80.0, 2)]
    steps += [(90.0, 4), (119.0, 7), (125.0, 10), (250.0, 10), (251.0, 11)]
    outcomes = []
    for at, cost in steps:
        now[0] = 60.0 * 29_000_000 + 0.5 + at
        expected = await library.acquire_sliding_window_entry(window.key, 10, 60, cost)
        assert await ours.take([window], [cost]) == [expected], (at, cost)
        state = await library.get_sliding_window(window.key, 60)
        (read,) = await ours.read([window])
        weighted = state[0] * state[1] / 60 + state[2]
        assert read.remaining == max(0, 10 - int(weighted)), (at, cost)
        outcomes.append(expected)
    assert True in outcomes and False in outcomes  # the sequence tried both answers


async def test_one_pass_operations_count_as_read_then_take() -> None:
    """``charge_now`` (the admission) and ``top_up_now`` (settling the real usage) give what
    ``read`` then ``take`` give on the same counters at the same moment."""
    now = [60.0 * 29_000_000 + 0.5]
    stepwise, one_pass = LocalWindows(clock=lambda: now[0]), LocalWindows(clock=lambda: now[0])
    windows = [Window("junction/key/k/requests/10/1/minute", 10), Window("w/tokens", 50)]
    steps = [(0.0, 4, 0), (1.0, 20, 30), (2.0, 30, 0), (61.0, 9, 15), (75.0, 8, 60), (119.0, 2, 1)]
    refused = 0
    for at, tokens, extra in steps:
        now[0] = 60.0 * 29_000_000 + 0.5 + at
        costs = [1, tokens]
        before = await stepwise.read(windows)
        room = all(s.remaining >= c for s, c in zip(before, costs, strict=True))
        if room:
            assert await stepwise.take(windows, costs) == [True, True]
        stats, admitted = one_pass.charge_now(windows, costs)
        assert (stats, admitted) == (before, room), at
        refused += not room
        if extra:
            rest = await stepwise.read(windows)
            chosen = [(w, min(extra, s.remaining)) for w, s in zip(windows, rest, strict=True)]
            chosen = [(w, c) for w, c in chosen if c > 0]
            if chosen:
                await stepwise.take([w for w, _ in chosen], [c for _, c in chosen])
            one_pass.top_up_now(windows, extra)
        assert await one_pass.read(windows) == await stepwise.read(windows), at
    assert 0 < refused < len(steps)  # the sequence tried both answers
