"""Stored responses through the official ``openai`` client: retrieve, delete, input items,
``previous_response_not_found``, and what ``POST /v1/responses`` refuses."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import openai
import orjson
import pytest

from junction.dataplane.responses_wire import response_object
from junction.history.store import ConversationStore
from junction.settings import Settings
from junction.store.db import migrate
from junction.store.orm import LazyOrm
from junction.store.serving_db import open_database
from junction.tokens.counter import TokenCounter
from tests.conftest import RouterProcess, Tenant, make_tenant
from tests.kinds import KIND_NAMES, Kinds, kinds_fixture  # noqa: F401
from tests.openai_schema import validate
from tests.upstream import Upstream


def raw_create(client: openai.OpenAI, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = client.responses.with_raw_response.create(**fields).http_response.json()
    return data


def raw_retrieve(client: openai.OpenAI, response_id: str) -> dict[str, Any]:
    data: dict[str, Any] = client.responses.with_raw_response.retrieve(
        response_id
    ).http_response.json()
    return data


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_retrieve_gives_back_what_was_returned(
    router: RouterProcess, kinds: Kinds, kind: str
) -> None:
    tenant = make_tenant(router)
    tenant.assistant("bot", model=kinds.models[kind], chat_history="on")
    client = tenant.client()
    before = int(time.time())
    returned = raw_create(client, model="bot", input="hello there")
    assert before <= returned["created_at"] <= time.time()
    assert raw_retrieve(client, returned["id"]) == returned
    assert client.responses.retrieve(returned["id"]).output_text == "echo: hello there"

    # A streamed response is stored as its final event carried it, and continues the chain.
    with client.responses.with_streaming_response.create(
        model="bot", input="again", previous_response_id=returned["id"], stream=True
    ) as streamed:
        events = [orjson.loads(x[6:]) for x in streamed.iter_lines() if x.startswith("data: ")]
    final = events[-1]["response"]
    assert events[-1]["type"] == "response.completed"
    assert raw_retrieve(client, final["id"]) == final
    assert final["output"][0]["content"][0]["text"] == "echo: again"
    assert final["previous_response_id"] == returned["id"]
    listed = client.responses.input_items.list(final["id"])
    assert [item.content[0].text for item in listed.data] == ["again"]  # type: ignore[union-attr]


def test_created_at_is_the_routers_clock() -> None:
    answer = {"created": 1, "model": "bot", "choices": []}
    assert response_object(answer, "resp_1", {}, True, 1_800_000_000)["created_at"] == 1_800_000_000


def test_input_items_are_paged(tenant: Tenant) -> None:
    tenant.assistant("bot", chat_history="on")
    client = tenant.client()
    items: list[Any] = [
        {"role": "developer", "content": "terse"},
        {"role": "user", "content": [{"type": "input_text", "text": "call it"}]},
        {"type": "function_call", "call_id": "call_9", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_9", "output": "42"},
        {"role": "assistant", "content": "it said 42"},
        {"role": "user", "content": "thanks"},
    ]
    created = client.responses.create(model="bot", input=items)
    newest_first = client.responses.input_items.list(created.id)
    assert [i.type for i in newest_first.data] == [
        "message",
        "message",
        "function_call_output",
        "function_call",
        "message",
        "message",
    ]
    assert newest_first.has_more is False
    assert newest_first.data[0].content[0].text == "thanks"  # type: ignore[union-attr]
    ids = [i.id for i in reversed(newest_first.data)]  # type: ignore[union-attr]
    assert len(set(ids)) == 6 and all(ids)

    page = client.responses.input_items.list(created.id, limit=4, order="asc")
    assert [i.id for i in page.data] == ids[:4] and page.has_more  # type: ignore[union-attr]
    # The client pages on by itself with ``after`` = the last id.
    every = list(client.responses.input_items.list(created.id, limit=4, order="asc"))
    assert [i.id for i in every] == ids  # type: ignore[union-attr]

    http = client.responses.input_items.with_raw_response.list(created.id, limit=2, after=ids[3])
    body = http.http_response.json()
    validate("ResponseItemList", body)
    assert [i["id"] for i in body["data"]] == [ids[2], ids[1]]
    assert (body["first_id"], body["last_id"], body["has_more"]) == (ids[2], ids[1], True)
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.input_items.list(created.id, limit=101)
    assert caught.value.body["param"] == "limit"  # type: ignore[index]


def test_delete_and_previous_response_not_found(tenant: Tenant, upstream: Upstream) -> None:
    tenant.assistant("bot", chat_history="on")
    client = tenant.client()
    first = client.responses.create(model="bot", input="one")
    second = client.responses.create(model="bot", input="two", previous_response_id=first.id)
    assert client.responses.delete(first.id) is None  # the client returns nothing on success
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(first.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.input_items.list(first.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(first.id)
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="bot", input="x", previous_response_id=first.id)
    error = caught.value.body
    assert error["code"] == "previous_response_not_found"  # type: ignore[index]
    assert error["param"] == "previous_response_id"  # type: ignore[index]
    # The later response still carries the deleted one's turn in its history.
    client.responses.create(model="bot", input="three", previous_response_id=second.id)
    assert [m["content"] for m in upstream.last()["messages"]] == [
        "one",
        "echo: one",
        "two",
        "echo: two",
        "three",
    ]
    assert client.responses.retrieve(second.id).output_text == "echo: two"


def test_responses_belong_to_their_key_and_workspace(router: RouterProcess, tenant: Tenant) -> None:
    tenant.assistant("bot", chat_history="on")
    made = tenant.client().responses.create(model="bot", input="mine")
    with router.admin() as admin:
        other_key = admin.post(f"/workspaces/{tenant.name}/keys", json={"name": "other"}).json()
    elsewhere = make_tenant(router)
    elsewhere.assistant("bot", chat_history="on")
    strangers = [router.client(other_key["key"]), elsewhere.client()]
    for client in strangers:
        with pytest.raises(openai.NotFoundError):
            client.responses.retrieve(made.id)
        with pytest.raises(openai.NotFoundError):
            client.responses.delete(made.id)
        with pytest.raises(openai.BadRequestError):
            client.responses.create(model="bot", input="x", previous_response_id=made.id)
    assert tenant.client().responses.retrieve(made.id).output_text == "echo: mine"


def test_what_is_refused_or_not_stored(tenant: Tenant) -> None:
    tenant.assistant("bot", chat_history="on")
    tenant.assistant("stateless", chat_history="off")
    client = tenant.client()
    for fields, param in (
        ({"background": True}, "background"),
        ({"conversation": "conv_1"}, "conversation"),
        ({"previous_response_id": "resp_nope"}, "previous_response_id"),
    ):
        with pytest.raises(openai.BadRequestError) as caught:
            client.responses.create(model="bot", input="x", **fields)
        assert caught.value.body["param"] == param  # type: ignore[index]
    unstored = client.responses.create(model="bot", input="x", store=False)
    alone = client.responses.create(model="stateless", input="x")
    for response_id in (unstored.id, alone.id, "resp_" + "0" * 32, "nonsense"):
        with pytest.raises(openai.NotFoundError):
            client.responses.retrieve(response_id)
    stored = client.responses.create(model="bot", input="x", background=False)
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.retrieve(stored.id, stream=True)
    assert caught.value.body["param"] == "stream"  # type: ignore[index]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/r.db"
    url: str = request.getfixturevalue("pg_url")
    return url


async def test_the_response_is_written_with_its_turn(tmp_path: Path, database_url: str) -> None:
    from junction.store.models import Workspace

    settings = Settings(data_dir=tmp_path, database_url=database_url, history_flush_seconds=3600)
    orm, port = LazyOrm(database_url), open_database(database_url)
    engine = orm.engine
    sessions = orm.sessions
    try:
        await migrate(engine)
        async with sessions() as s:
            if await s.get(Workspace, "ws_r") is None:
                s.add(Workspace(id="ws_r", name="ws-r"))
                await s.commit()
        store = ConversationStore(settings, port, orm, TokenCounter())
        state = store.create("ws_r", "key_1", "responses:0123456789abcdef", "bot")
        turn = store.append(state, [{"role": "user", "content": "hi"}], "bot", "req_1")
        turn.response = {"id": "resp_x", "object": "response", "output": []}
        turn.input_items = [{"id": "msg_1", "type": "message", "role": "user", "content": []}]
        await store.flush()
        fresh = ConversationStore(settings, port, orm, TokenCounter())
        loaded = await fresh.get("ws_r", "key_1", "responses:0123456789abcdef")
        assert loaded is not None
        assert loaded.turns[0].response == turn.response
        assert loaded.turns[0].input_items == turn.input_items
    finally:
        await orm.dispose()
        await port.close()
