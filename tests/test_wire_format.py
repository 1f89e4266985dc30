"""Junction's answers validate against OpenAI's OpenAPI document, even when upstreams are sloppy."""

from __future__ import annotations

import httpx
import jsonschema
import orjson
import pytest

from tests.conftest import Tenant
from tests.openai_schema import validate

USER = [{"role": "user", "content": "hello world"}]


def _post(tenant: Tenant, body: dict[str, object]) -> httpx.Response:
    return httpx.post(
        tenant.router.url + "/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {tenant.key}"},
        timeout=10,
    )


def test_the_validator_rejects_what_openai_would() -> None:
    with pytest.raises(jsonschema.ValidationError):
        validate("CreateChatCompletionResponse", {"id": "x", "choices": [{}]})
    with pytest.raises(jsonschema.ValidationError):
        validate("ErrorResponse", {"error": {"message": "m"}})


@pytest.mark.parametrize("model", ["local/echo", "local/sparse"])
def test_completion_validates(tenant: Tenant, model: str) -> None:
    tenant.assistant("bot", model=model)
    answer = _post(tenant, {"model": "bot", "messages": USER}).json()
    validate("CreateChatCompletionResponse", answer)
    message = answer["choices"][0]["message"]
    assert message["refusal"] is None and answer["choices"][0]["logprobs"] is None
    assert answer["id"].startswith("chatcmpl-") and isinstance(answer["created"], int)


@pytest.mark.parametrize("model", ["local/echo", "local/sparse"])
def test_stream_chunks_validate(tenant: Tenant, model: str) -> None:
    tenant.assistant("bot", model=model)
    body = {
        "model": "bot",
        "messages": USER,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with httpx.stream(
        "POST",
        tenant.router.url + "/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {tenant.key}"},
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [orjson.loads(e) for e in events[:-1]]
    assert len(chunks) >= 3
    for chunk in chunks:
        validate("CreateChatCompletionStreamResponse", chunk)
    assert len({c["id"] for c in chunks}) == 1


def test_models_embeddings_and_errors_validate(tenant: Tenant) -> None:
    tenant.assistant("bot")
    tenant.assistant("embedder", model="local/embed")
    headers = {"Authorization": f"Bearer {tenant.key}"}
    models = httpx.get(tenant.router.url + "/v1/models", headers=headers).json()
    validate("ListModelsResponse", models)
    one = httpx.get(tenant.router.url + "/v1/models/bot", headers=headers).json()
    validate("Model", one)
    embedded = httpx.post(
        tenant.router.url + "/v1/embeddings",
        json={"model": "embedder", "input": "hi"},
        headers=headers,
    ).json()
    validate("CreateEmbeddingResponse", embedded)
    for response in (
        _post(tenant, {"model": "nope", "messages": USER}),
        _post(tenant, {"messages": USER}),
        httpx.get(tenant.router.url + "/v1/models", headers={"Authorization": "Bearer bad"}),
        httpx.get(tenant.router.url + "/v1/no-such-route", headers=headers),
    ):
        assert response.status_code >= 400
        validate("ErrorResponse", response.json())


def test_openapi_document_lists_both_planes(tenant: Tenant) -> None:
    doc = httpx.get(tenant.router.url + "/openapi.json").json()
    for path in (
        "/v1/chat/completions",
        "/v1/embeddings",
        "/v1/models",
        "/admin/v1/providers",
        "/admin/v1/workspaces/{ws}/assistants/{name}",
    ):
        assert path in doc["paths"], path
    assert "ChatCompletionRequest" in doc["components"]["schemas"]
