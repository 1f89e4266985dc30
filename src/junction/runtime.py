"""Everything a running router holds, built by ``create_app`` and handed to the handlers."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from junction.routing.catalog import Catalog
from junction.routing.router import Router
from junction.security.secrets import SecretBox
from junction.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    box: SecretBox
    catalog: Catalog
    router: Router = field(default_factory=Router)
    admin_key_hash: str = ""
