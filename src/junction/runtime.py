"""Everything a running router holds, built by ``create_app`` and handed to the handlers."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from junction.cluster.config_sync import ConfigSync
from junction.config.catalog import Catalog
from junction.core.call import Call
from junction.history.store import ConversationStore
from junction.knowledge.service import Knowledge
from junction.ratelimit.limiter import RateLimits
from junction.routing.router import Router
from junction.security.secrets import SecretBox
from junction.security.throttle import FailureThrottle
from junction.settings import Settings
from junction.store.orm import LazyOrm
from junction.store.serving_db import Database
from junction.tokens.counter import TokenCounter

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    # The serving process's statements (start-up, background work); ``orm`` for the rest.
    db: Database
    orm: LazyOrm
    box: SecretBox
    catalog: Catalog
    config_sync: ConfigSync | None = None
    redis: Redis | None = None
    router: Router = field(default_factory=Router)
    admin_key_hash: str = ""
    # Failed admin-key attempts per client address (the UI's login form, the admin API).
    login_failures: FailureThrottle = field(default_factory=lambda: FailureThrottle(10))
    call_observers: list[Callable[[Call], None]] = field(default_factory=list)
    # Admission checks (budgets, limits): each may raise a JunctionError to refuse the call.
    call_checks: list[Callable[[Call], None]] = field(default_factory=list)

    @property
    def engine(self) -> AsyncEngine:
        """SQLAlchemy's engine (imported and made on first use)."""
        return self.orm.engine

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """SQLAlchemy's sessions (imported and made on first use)."""
        return self.orm.sessions

    def check(self, call: Call) -> None:
        """Run the admission checks once the call's workspace and assistant are known."""
        for check in self.call_checks:
            check(call)

    rate_limits: RateLimits = field(default_factory=RateLimits)
    tokens: TokenCounter = field(init=False)  # set by create_app
    history: ConversationStore = field(init=False)  # set by create_app
    knowledge: Knowledge = field(init=False)  # set by knowledge.service.install

    def finish(self, call: Call) -> None:
        """A data-plane call is complete: hand it to every observer. Never raises."""
        call.finished_at = time.perf_counter()
        for observe in self.call_observers:
            try:
                observe(call)
            except Exception:  # an observer's bug must not fail the request
                log.exception("call observer %r failed", observe)
