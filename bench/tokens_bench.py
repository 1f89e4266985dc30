"""Token counting and history assembly: what they cost a request, on this machine.

    .venv/bin/python bench/tokens_bench.py [--rounds N]

Prints the median and 95th percentile of:
- exact cl100k_base counts of a ~4,000-token prompt (the target: under 1 ms cold),
  cold (never seen) and memoized;
- the byte-length bound that lets a prompt that surely fits skip encoding altogether;
- ``ChatTurn.open`` for a 20-turn stored conversation (cached in memory, as on the hot path):
  fits without counting, trimmed to a window (exact counts), a client that re-sends the
  whole conversation (resend detection), and a never-seen 4.6k-token message that must be
  encoded.
Everything runs in-process, with the garbage collector set as a serving router sets it
(``junction.gc_tuning``); nothing goes over the network.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from junction.config.snapshot import (  # noqa: E402
    AssistantSettings,
    AssistantView,
    KeyView,
    ModelInfo,
    ProviderRuntime,
    Snapshot,
    WorkspaceSettings,
    WorkspaceView,
)
from junction.core.call import Call  # noqa: E402
from junction.gc_tuning import serving_collector  # noqa: E402
from junction.history.flow import ChatTurn  # noqa: E402
from junction.history.store import ConversationStore  # noqa: E402
from junction.providers.base import ProviderConfig  # noqa: E402
from junction.providers.openai import OpenAIProvider  # noqa: E402
from junction.settings import Settings  # noqa: E402
from junction.store.db import create_engine, migrate  # noqa: E402
from junction.store.orm import LazyOrm  # noqa: E402
from junction.store.serving_db import open_database  # noqa: E402
from junction.tokens.counter import TokenCounter, upper_bound  # noqa: E402

VOCABULARY = (  # noqa: SIM905
    "the of and to in is that for it as with was on be by this are from at or an have not "
    "which but they his her all were one their there been has more when will would who out "
    "router token window history conversation assistant model provider latency throughput "
    "Python function returns value error request response stream chunk cache database "
    "tokenization international naïve café résumé 2026 3.14 42 (see below) [note] {json}: "
    "self-hosted OpenAI-compatible, e.g. i.e. don't can't won't it's"
).split()

Json = dict[str, Any]
PROMPT_WORDS = 2600  # about 4,000 tokens of this vocabulary


def prose(rng: random.Random, words: int) -> str:
    out = []
    for i in range(words):
        word = rng.choice(VOCABULARY)
        out.append(word + ("." if i % 17 == 16 else ("," if i % 7 == 6 else "")))
    return " ".join(out)


def timed(fn: Callable[[], object], rounds: int) -> tuple[float, float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def report(name: str, figures: tuple[float, float]) -> None:
    median, p95 = figures
    print(f"{name:<58} median {median:9.1f} µs   p95 {p95:9.1f} µs")


def bench_counting(counter: TokenCounter, rounds: int) -> None:
    rng = random.Random(1)
    texts = [prose(rng, PROMPT_WORDS) for _ in range(rounds)]
    tokens = statistics.mean(counter.text(t) for t in texts[:20])
    print(f"prompt: one user message of ~{tokens:.0f} tokens ({len(texts[0])} characters)")
    fresh = iter([prose(random.Random(1000 + i), PROMPT_WORDS) for i in range(rounds)])
    report(
        "exact count, cold (tiktoken encode)",
        timed(lambda: counter.messages([{"role": "user", "content": next(fresh)}]), rounds),
    )
    warm = [{"role": "user", "content": texts[0]}]
    counter.messages(warm)
    same = [{"role": "user", "content": "".join(list(texts[0]))}]  # equal, not identical
    report(
        "exact count, memoized (system prompt, re-sent message)",
        timed(lambda: counter.messages(same), rounds),
    )
    report("upper bound (UTF-8 length, no encoding)", timed(lambda: upper_bound(warm), rounds))


async def bench_assembly(counter: TokenCounter, rounds: int) -> None:
    rng = random.Random(2)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        url = settings.resolved_database_url()
        engine = create_engine(url)
        await migrate(engine)
        store = ConversationStore(settings, open_database(url), LazyOrm(url), counter)
        config = ProviderConfig(name="p", kind="openai", base_url="http://127.0.0.1:9/v1")
        provider = ProviderRuntime(config, OpenAIProvider(config), {"m": ModelInfo("m", 32768)})
        snapshot = Snapshot(providers={"p": provider})
        key = KeyView("key_1", "ws_1")
        settings = AssistantSettings("", ("p/m",), (), "You are concise.", "on", None, 0, None)
        assistant = AssistantView("a", "ws_1", "bot", 0, settings)
        state = await store.open("ws_1", "key_1", "c", "bot")
        for _ in range(20):
            user = {"role": "user", "content": prose(rng, 80)}
            answer = {"role": "assistant", "content": prose(rng, 80)}
            store.append(state, [user, answer], "bot", "req")
        for turn in state.turns:
            store.tokens(turn)  # counted once when written, as the flusher does
        total = sum(turn.tokens or 0 for turn in state.turns)
        print(f"history: 20 stored turns, {total} tokens, cached in memory")
        new = [{"role": "user", "content": "And what follows from that?"}]
        resend = [*state.messages(), *new]

        async def measure(
            window: str | None,
            messages: list[Json],
            fresh: list[list[Json]] | None = None,
            served_by: AssistantView = assistant,
        ) -> tuple[float, float]:
            samples = []
            workspace = WorkspaceView("ws_1", "w", WorkspaceSettings(token_context_window=window))
            for i in range(rounds):
                if fresh is not None:
                    messages = fresh[i]
                call = Call("req_x", "chat.completions", key=key, workspace=workspace)
                call.assistant = served_by
                body = {
                    "model": "bot",
                    "messages": [{"role": "system", "content": assistant.system_prompt}, *messages],
                }
                start = time.perf_counter()
                await ChatTurn.open(store, counter, snapshot, call, body, "c")
                samples.append((time.perf_counter() - start) * 1e6)
            samples.sort()
            return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]

        plain = dataclasses.replace(
            assistant, settings=dataclasses.replace(settings, chat_history="off")
        )
        report(
            "assemble: history off, 40% window (bound suffices)",
            await measure("40%", new, None, plain),
        )
        report("assemble: history fits the window (no encoding)", await measure("50%", new))
        report("assemble: history trimmed to a 1500-token window", await measure("1500", new))
        report("assemble: client re-sent all 20 turns (detected)", await measure("50%", resend))
        big = [[{"role": "user", "content": prose(rng, 3000)}] for _ in range(rounds)]
        report(
            "assemble: a new ~4.6k-token message, 8k window (encoded)",
            await measure("8000", new, big),
        )
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    start = time.perf_counter()
    counter = TokenCounter()
    print(f"encoding loaded in {(time.perf_counter() - start) * 1000:.0f} ms (once per process)")
    with serving_collector():
        bench_counting(counter, args.rounds)
        asyncio.run(bench_assembly(counter, args.rounds))


if __name__ == "__main__":
    main()
