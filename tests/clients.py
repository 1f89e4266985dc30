"""An autouse fixture that closes every ``openai`` client a test made through ``Tenant.client``,
so no socket is left for the garbage collector to warn about. Import it into a test module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.conftest import Tenant


@pytest.fixture(autouse=True)
def close_clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    made: list[openai.OpenAI] = []
    original = Tenant.client

    def tracked(self: Tenant, **kwargs: Any) -> openai.OpenAI:
        client = original(self, **kwargs)
        made.append(client)
        return client

    monkeypatch.setattr(Tenant, "client", tracked)
    yield
    for client in made:
        client.close()
