"""Kind ``ollama`` against a loopback server speaking Ollama's native API, driven through the
official ``openai`` client at a real router."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import RouterProcess, Tenant, make_tenant
from tests.openai_schema import validate
from tests.upstream_ollama import OllamaState, start_ollama

USER = [{"role": "user", "content": "hello there"}]
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "weather",
            "description": "Weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


@pytest.fixture(scope="module")
def ollama() -> Iterator[OllamaState]:
    state, server = start_ollama()
    yield state
    server.stop()


@pytest.fixture(scope="module")
def oprov(router: RouterProcess, ollama: OllamaState) -> str:
    name = "ollama-" + secrets.token_hex(3)
    with router.admin() as admin:
        response = admin.post(
            "/providers", json={"name": name, "kind": "ollama", "base_url": ollama.url}
        )
    assert response.status_code == 201, response.text
    assert response.json()["discovery_error"] is None
    return name


@pytest.fixture
def oten(router: RouterProcess, oprov: str) -> Tenant:
    return make_tenant(router)


def test_discovery_with_context_lengths(router: RouterProcess, oprov: str) -> None:
    with router.admin() as admin:
        models = {m["name"]: m for m in admin.get(f"/providers/{oprov}").json()["models"]}
        catalog = admin.get("/models").json()["data"]
    assert set(models) == {"llama3.2:3b", "qwen3:14b", "nomic-embed-text"}
    assert models["llama3.2:3b"]["context_length"] == 131072, "from model_info"
    assert models["qwen3:14b"]["context_length"] == 8192, "the Modelfile's num_ctx wins"
    assert {"id": f"{oprov}/qwen3:14b", "kind": "ollama"}.items() <= next(
        m for m in catalog if m["id"] == f"{oprov}/qwen3:14b"
    ).items()


def test_chat_maps_options_and_usage(oten: Tenant, oprov: str, ollama: OllamaState) -> None:
    oten.assistant("llama", model=f"{oprov}/llama3.2:3b", system_prompt="Be brief.")
    with oten.client() as client:
        answer = client.chat.completions.create(
            model="llama",
            messages=USER,
            temperature=0.2,
            top_p=0.9,
            seed=7,
            stop=["END"],
            max_tokens=100,
            extra_body={"keep_alive": "10m", "options": {"top_k": 20}},
        )
    sent = ollama.last("/api/chat")
    assert sent["stream"] is False
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["options"] == {
        "temperature": 0.2,
        "top_p": 0.9,
        "seed": 7,
        "stop": ["END"],
        "num_predict": 100,
        "top_k": 20,
    }
    assert sent["keep_alive"] == "10m"
    assert "think" not in sent
    assert answer.model == "llama"
    assert answer.choices[0].message.content == "echo: hello there"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (4, 3)


def test_length_limit_and_json_format(oten: Tenant, oprov: str, ollama: OllamaState) -> None:
    oten.assistant("llama", model=f"{oprov}/llama3.2:3b")
    with oten.client() as client:
        cut = client.chat.completions.create(model="llama", messages=USER, max_tokens=2)
        assert cut.choices[0].finish_reason == "length"
        assert cut.choices[0].message.content == "echo: hello"
        shaped = client.chat.completions.create(
            model="llama",
            messages=USER,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "e", "schema": {"type": "object"}},
            },
        )
    assert ollama.last("/api/chat")["format"] == {"type": "object"}
    assert json.loads(shaped.choices[0].message.content or "") == {"echo": "echo: hello there"}


def test_streaming_translates_ndjson(oten: Tenant, oprov: str, ollama: OllamaState) -> None:
    oten.assistant("qwen", model=f"{oprov}/qwen3:14b")
    with oten.client() as client:
        chunks = list(
            client.chat.completions.create(
                model="qwen", messages=USER, stream=True, stream_options={"include_usage": True}
            )
        )
    assert ollama.last("/api/chat")["stream"] is True
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert deltas[0].role == "assistant"
    text = "".join(d.content or "" for d in deltas)
    reasoning = "".join(getattr(d, "reasoning_content", None) or "" for d in deltas)
    assert text == "echo: hello there"
    assert reasoning == "Let me think."
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = [c.usage for c in chunks if c.usage]
    assert len(usage) == 1 and usage[0].completion_tokens == 3
    assert all(c.model == "qwen" for c in chunks)


def test_disable_thinking_sends_think_false(oten: Tenant, oprov: str, ollama: OllamaState) -> None:
    oten.assistant("qwen", model=f"{oprov}/qwen3:14b")
    with oten.client() as client:
        answer = client.chat.completions.create(
            model="qwen",
            messages=USER,
            extra_body={"chat_template_kwargs": {"enable_thinking": False}},
        )
        assert ollama.last("/api/chat")["think"] is False
        assert getattr(answer.choices[0].message, "reasoning_content", None) is None
        thought = client.chat.completions.create(model="qwen", messages=USER)
    assert "think" not in ollama.last("/api/chat")
    assert getattr(thought.choices[0].message, "reasoning_content", None) == "Let me think."


def test_tools_round_trip(oten: Tenant, oprov: str, ollama: OllamaState) -> None:
    oten.assistant("llama", model=f"{oprov}/llama3.2:3b")
    ask: list[Any] = [{"role": "user", "content": "weather in Paris?"}]
    with oten.client() as client:
        first = client.chat.completions.create(model="llama", messages=ask, tools=TOOLS)
        call = (first.choices[0].message.tool_calls or [])[0]
        assert first.choices[0].finish_reason == "tool_calls"
        assert call.function.name == "weather"
        assert json.loads(call.function.arguments) == {"city": "Paris"}
        assert ollama.last("/api/chat")["tools"] == TOOLS

        follow: list[Any] = [
            *ask,
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
        ]
        second = client.chat.completions.create(model="llama", messages=follow, tools=TOOLS)
        assert second.choices[0].message.content == "tool said: sunny"
        sent = ollama.last("/api/chat")["messages"]
        assert sent[1]["tool_calls"] == [
            {"function": {"name": "weather", "arguments": {"city": "Paris"}}}
        ]
        assert sent[2] == {"role": "tool", "content": "sunny", "tool_name": "weather"}

        streamed = list(
            client.chat.completions.create(model="llama", messages=ask, tools=TOOLS, stream=True)
        )
    calls = [tc for c in streamed if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert len(calls) == 1 and calls[0].function and calls[0].function.name == "weather"
    assert calls[0].index == 0 and calls[0].id
    assert [c.choices[0].finish_reason for c in streamed if c.choices][-1] == "tool_calls"


def test_images_go_inline(oten: Tenant, oprov: str, ollama: OllamaState) -> None:
    oten.assistant("llama", model=f"{oprov}/llama3.2:3b")
    png = base64.b64encode(b"\x89PNG fake").decode()
    content: Any = [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
    ]
    with oten.client() as client:
        answer = client.chat.completions.create(
            model="llama", messages=[{"role": "user", "content": content}]
        )
        assert answer.choices[0].message.content == "echo: what is this [images: 1]"
        assert ollama.last("/api/chat")["messages"][0]["images"] == [png]
        remote: Any = [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]
        with pytest.raises(openai.BadRequestError) as refused:
            client.chat.completions.create(
                model="llama", messages=[{"role": "user", "content": remote}]
            )
    assert "data: URLs" in refused.value.message


def test_embeddings_and_missing_model(
    router: RouterProcess, oten: Tenant, oprov: str, ollama: OllamaState
) -> None:
    oten.assistant("embed", model=f"{oprov}/nomic-embed-text")
    with oten.client() as client:
        result = client.embeddings.create(model="embed", input=["ab", "cdef"])
        assert [d.embedding for d in result.data] == [[0.5, 0.25, 2.0], [0.5, 0.25, 4.0]]
        assert result.usage.prompt_tokens == 4
        assert ollama.last("/api/embed") == {"model": "nomic-embed-text", "input": ["ab", "cdef"]}
    with router.admin() as admin:
        response = admin.post(
            f"/workspaces/{oten.name}/assistants",
            json={"name": "ghost", "model": f"{oprov}/ghost:1b"},
        )
    assert response.status_code == 422, "models are checked against discovery"


@pytest.mark.parametrize("tools", [None, TOOLS])
def test_answers_validate_against_openai_schema(
    oten: Tenant, oprov: str, tools: list[Any] | None
) -> None:
    oten.assistant("qwen", model=f"{oprov}/qwen3:14b")
    body: dict[str, Any] = {"model": "qwen", "messages": USER}
    if tools:
        body["tools"] = tools
    url, auth = oten.router.url + "/v1/chat/completions", {"Authorization": f"Bearer {oten.key}"}
    answer = httpx.post(url, json=body, headers=auth, timeout=10).json()
    validate("CreateChatCompletionResponse", answer)
    with httpx.stream("POST", url, json={**body, "stream": True}, headers=auth) as response:
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    for event in events[:-1]:
        validate("CreateChatCompletionStreamResponse", json.loads(event))


def test_stream_is_incremental_and_client_disconnect_stops_ollama(
    oten: Tenant, oprov: str, ollama: OllamaState
) -> None:
    oten.assistant("llama", model=f"{oprov}/llama3.2:3b")
    slow = [{"role": "user", "content": "slowly one two three four five six"}]
    cancelled = ollama.cancelled
    with oten.client() as client:
        stream = client.chat.completions.create(model="llama", messages=slow, stream=True)
        first = next(iter(stream))
        assert first.choices[0].delta.content == "echo:"
        stream.close()
    # The upstream counts a stream as cancelled only when it is dropped before its last word
    # (it sends one word every 0.2 s): so the first word reached the client without waiting for
    # the rest, and the client's leaving reached the upstream.
    deadline = time.monotonic() + 10
    while ollama.cancelled == cancelled and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ollama.cancelled == cancelled + 1


def test_text_completions_go_to_generate(oten: Tenant, oprov: str, ollama: OllamaState) -> None:
    oten.assistant("llama", model=f"{oprov}/llama3.2:3b", temperature=0.3)
    with oten.client() as client:
        answer = client.completions.create(
            model="llama", prompt="Once upon", suffix=" END", max_tokens=50, seed=1
        )
        sent = ollama.last("/api/generate")
        assert sent == {
            "model": "llama3.2:3b",
            "prompt": "Once upon",
            "stream": False,
            "raw": True,
            "suffix": " END",
            "options": {"temperature": 0.3, "seed": 1, "num_predict": 50},
        }
        assert answer.model == "llama" and answer.object == "text_completion"
        assert answer.choices[0].text == "completed: Once upon END"
        assert answer.choices[0].finish_reason == "stop"
        assert answer.usage is not None and answer.usage.completion_tokens == 4

        chunks = list(
            client.completions.create(
                model="llama",
                prompt="a b c d",
                max_tokens=3,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        assert "".join(c.choices[0].text for c in chunks if c.choices) == "completed: a b"
        assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
        assert [c.usage.completion_tokens for c in chunks if c.usage] == [3]
        with pytest.raises(openai.BadRequestError):
            client.completions.create(model="llama", prompt=["one", "two"])
