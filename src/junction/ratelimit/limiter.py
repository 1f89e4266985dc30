"""Admit a call against its workspace's and key's per-minute limits, then settle its tokens.

Every limit that is set is enforced together: a request passes only if the workspace's and
the key's requests-per-minute and tokens-per-minute all have room. Tokens are charged twice:
the prompt estimate when the request is admitted, then the difference to the real usage when
the call finishes (``settle``, run by a ``Runtime.call_observers`` observer). An estimate above
the real usage is not refunded; ``estimate.py`` keeps it low so that this is rare.

Windows are sliding (``limits``' sliding-window counter) and one minute long.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from junction.core.call import Call
from junction.errors import RateLimited
from junction.ratelimit.headers import add_window_headers, retry_after
from junction.ratelimit.store import CounterStore, Usage, Window, Windows

log = logging.getLogger(__name__)

NOTE = "ratelimit"


def _key(scope: str, owner: str, kind: str, limit: int) -> str:
    """The key the ``limits`` library gives a per-minute limit (``RateLimitItemPerMinute(limit,
    namespace="junction").key_for(scope, owner, kind)``): Redis counters stay shared with routers
    of earlier versions, and the library is not imported without Redis."""
    return f"junction/{scope}/{owner}/{kind}/{limit}/1/minute"


@dataclass(frozen=True)
class Rule:
    kind: str  # "requests" | "tokens"
    scope: str  # "workspace" | "key"
    owner: str  # the workspace's or key's id
    limit: int

    @property
    def window(self) -> Window:
        return Window(_key(self.scope, self.owner, self.kind, self.limit), self.limit)


@dataclass
class Admission:
    rules: tuple[Rule, ...]
    tokens_charged: int


def rules_for(call: Call) -> tuple[Rule, ...]:
    rules = []
    for scope, owner in (("workspace", call.workspace), ("key", call.key)):
        if owner is None:
            continue
        if owner.rpm_limit:
            rules.append(Rule("requests", scope, owner.id, owner.rpm_limit))
        if owner.tpm_limit:
            rules.append(Rule("tokens", scope, owner.id, owner.tpm_limit))
    return tuple(rules)


class Limits:
    """A call's limits as the limiter uses them, worked out once per workspace and key view
    (the views are immutable: a changed limit comes as a new view)."""

    __slots__ = ("key", "rules", "token_rules", "token_windows", "windows", "workspace")

    def __init__(self, call: Call) -> None:
        self.workspace, self.key = call.workspace, call.key  # held: their ids stay theirs
        self.rules = rules_for(call)
        self.windows = [r.window for r in self.rules]
        self.token_rules = tuple(r for r in self.rules if r.kind == "tokens")
        self.token_windows = [r.window for r in self.token_rules]


MAX_CACHED_LIMITS = 4096


class RateLimits:
    def __init__(self, store: CounterStore | None = None) -> None:
        self.store = store or CounterStore()
        # Tokens used beyond the estimates, per set of token limits, not yet charged: one task
        # charges whatever has gathered (under load, many calls' worth at once).
        self._owed: dict[tuple[Rule, ...], int] = {}
        self._settler: asyncio.Task[None] | None = None
        self._limits: dict[tuple[int, int], Limits] = {}

    def limits(self, call: Call) -> Limits:
        """The call's limits, from a cache bounded in size (cleared when full)."""
        cache = self._limits
        found = cache.get((id(call.workspace), id(call.key)))
        if found is not None and found.workspace is call.workspace and found.key is call.key:
            return found
        if len(cache) >= MAX_CACHED_LIMITS:
            cache.clear()
        found = cache[(id(call.workspace), id(call.key))] = Limits(call)
        return found

    async def admit(self, call: Call, tokens: int) -> None:
        """Charge one request and ``tokens`` to every limit of the call's key and workspace;
        raise ``RateLimited`` (charging nothing) if any of them has no room left. The
        ``x-ratelimit-*`` headers go into ``call.headers`` either way."""
        limits = self.limits(call)
        rules = limits.rules
        if not rules:
            return
        tokens = max(1, tokens)
        costs = [1 if r.kind == "requests" else tokens for r in rules]
        windows = limits.windows
        if self.store.shared is None:  # in-process: no coroutine per counter operation
            stats, admitted = self.store.local.charge_now(windows, costs)
        else:

            async def charge(counters: Windows) -> tuple[list[Usage], list[bool]]:
                stats = await counters.read(windows)
                if any(s.remaining < c for s, c in zip(stats, costs, strict=True)):
                    return stats, [False] * len(rules)
                return stats, await counters.take(windows, costs)

            stats, passed = await self.store.run(charge)
            admitted = all(passed)
        _add_headers(call.headers, rules, stats, costs if admitted else None)
        if not admitted:
            raise _refusal(rules, stats, costs)
        call.notes[NOTE] = Admission(rules, tokens)

    async def describe(self, call: Call) -> None:
        """The ``x-ratelimit-*`` headers for a call that was not admitted (``/v1/models``, or one
        refused before admission, e.g. an unknown model), without charging anything."""
        if call.headers or call.key is None:
            return
        limits = self.limits(call)
        if not limits.rules:
            return
        windows = limits.windows

        async def read(counters: Windows) -> list[Usage]:
            return await counters.read(windows)

        try:
            stats = await self.store.run(read)
        except Exception:  # headers are a courtesy: never fail an answer for them
            log.exception("rate limits: reading the windows failed")
            return
        _add_headers(call.headers, limits.rules, stats, None)

    def observe(self, call: Call) -> None:
        """A ``Runtime.call_observers`` entry: settle the call's real token usage, off the path."""
        admission = call.notes.get(NOTE)
        if not isinstance(admission, Admission) or call.prompt_tokens is None:
            return
        used = call.prompt_tokens + (call.completion_tokens or 0)
        extra = used - admission.tokens_charged
        if extra <= 0:
            return
        limits = self.limits(call)
        token_rules = limits.token_rules
        if not token_rules:
            return
        if self.store.shared is None:  # in-process: settled at once, nothing to wait for
            self.store.local.top_up_now(limits.token_windows, extra)
            return
        self._owed[token_rules] = self._owed.get(token_rules, 0) + extra
        if self._settler is None or self._settler.done():
            self._settler = asyncio.get_running_loop().create_task(self._settle_owed())

    async def _settle_owed(self) -> None:
        while self._owed:
            rules, extra = self._owed.popitem()
            await self._settle(list(rules), extra)

    async def _settle(self, rules: list[Rule], extra: int) -> None:
        """Charge tokens used beyond the estimate. A window with less room than that is filled
        up to its limit: the next requests wait for it to slide."""

        async def charge(counters: Windows) -> None:
            windows = [r.window for r in rules]
            stats = await counters.read(windows)
            costs = [min(extra, s.remaining) for s in stats]
            chosen = [(w, c) for w, c in zip(windows, costs, strict=True) if c > 0]
            if chosen:
                await counters.take([w for w, _ in chosen], [c for _, c in chosen])

        try:
            await self.store.run(charge)
        except Exception:  # settling is best effort; it must never break anything
            log.exception("rate limits: settling a call's tokens failed")

    async def close(self) -> None:
        if self._settler is not None:
            await asyncio.gather(self._settler, return_exceptions=True)
        await self.store.close()


def _add_headers(
    headers: dict[str, str], rules: tuple[Rule, ...], stats: list[Usage], costs: list[int] | None
) -> None:
    """Per kind, the tightest of the key's and the workspace's limits."""
    for kind in ("requests", "tokens"):
        best: tuple[int, Rule, Usage] | None = None
        for i, rule in enumerate(rules):
            if rule.kind != kind:
                continue
            stat = stats[i]
            left = stat.remaining - (costs[i] if costs else 0)
            if best is None or left < best[0]:
                best = (left, rule, stat)
        if best is not None:
            left, rule, stat = best
            add_window_headers(headers, kind, rule.limit, left, stat.reset_in)


def _refusal(rules: tuple[Rule, ...], stats: list[Usage], costs: list[int]) -> RateLimited:
    blocked = [
        (r, s, c) for r, s, c in zip(rules, stats, costs, strict=True) if s.remaining < c
    ] or list(zip(rules, stats, costs, strict=True))
    rule, stat, cost = max(blocked, key=lambda b: b[1].next_in)
    per = "requests per minute" if rule.kind == "requests" else "tokens per minute"
    if cost > rule.limit:
        wait = 60.0
        message = (
            f"Request too large: about {cost} tokens, more than the {rule.scope}'s limit of "
            f"{rule.limit} {per}."
        )
    else:
        wait = max(stat.next_in, 0.001)
        message = (
            f"Rate limit reached for {per} on this {rule.scope}: limit {rule.limit}, "
            f"remaining {max(0, stat.remaining)}, requested {cost}. "
            f"Try again in {wait:.1f} s."
        )
    return RateLimited(message, headers=retry_after(wait))
