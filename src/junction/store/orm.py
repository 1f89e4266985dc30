"""SQLAlchemy's engine and sessions, made on first use.

A router that only serves talks to the database through ``serving_db``; the features that use
the ORM (the admin API, the UI, stored conversations, knowledge, usage queries) reach it here,
and SQLAlchemy is imported when the first of them does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker


class LazyOrm:
    def __init__(self, url: str) -> None:
        self._url = url
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None

    @property
    def started(self) -> bool:
        return self._engine is not None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            from junction.store.db import create_engine

            self._engine = create_engine(self._url)
        return self._engine

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        if self._sessions is None:
            from junction.store.db import session_factory

            self._sessions = session_factory(self.engine)
        return self._sessions

    async def dispose(self) -> None:
        engine, self._engine, self._sessions = self._engine, None, None
        if engine is not None:
            await engine.dispose()
