"""A provider's own tokenizer counts prompts for the context window (vLLM's and llama.cpp's
endpoints), and a failing tokenizer falls back to tiktoken rather than failing the request."""

from __future__ import annotations

import time

import openai
import pytest

from junction.tokens.counter import REPLY_PRIMING, TokenCounter
from junction.tokens.upstream import TIMEOUT_SECONDS
from tests.conftest import RouterProcess, Tenant, make_tenant
from tests.upstream import LLAMA_CPP_TOKENS_PER_WORD, VLLM_TOKENS_PER_WORD, Upstream

WINDOW = 300
SYSTEM = "Be brief."


def words(n: int) -> str:
    return " ".join(f"word{i:03d}" for i in range(n))  # 8 bytes a word: the byte bound is over


@pytest.fixture
def counted(router: RouterProcess, upstream: Upstream) -> Tenant:
    """A workspace whose window is WINDOW tokens, with one assistant per tokenizer."""
    with router.admin() as admin:
        for tokenizer in ("vllm", "llama.cpp"):
            name = "tok-" + tokenizer.replace(".", "")
            if admin.get(f"/providers/{name}").status_code == 404:
                made = admin.post(
                    "/providers",
                    json={
                        "name": name,
                        "base_url": upstream.url,
                        "tokenizer": tokenizer,
                        "models": [{"name": "echo", "context_length": 8192}],
                    },
                )
                assert made.status_code == 201, made.text
                assert made.json()["tokenizer"] == tokenizer
    tenant = make_tenant(router, token_context_window=WINDOW)
    tenant.assistant("vllm", model="tok-vllm/echo", system_prompt=SYSTEM)
    tenant.assistant("llama", model="tok-llamacpp/echo", system_prompt=SYSTEM)
    upstream.tokenize_requests.clear()
    return tenant


def ask(tenant: Tenant, assistant: str, content: str) -> None:
    with tenant.client() as client:
        client.chat.completions.create(
            model=assistant, messages=[{"role": "user", "content": content}]
        )


def test_vllm_counts_decide_the_window(counted: Tenant, upstream: Upstream) -> None:
    # 50 words: tiktoken counts about 100 tokens (fits 300), the byte bound does not fit, and
    # vLLM's count is 5 a word: 2 (system) + 50 words -> 260, fits; 60 words -> 310, over.
    ask(counted, "vllm", words(50))
    [(path, body)] = upstream.tokenize_requests
    assert path == "/tokenize" and body["model"] == "echo" and body["add_generation_prompt"]
    assert body["messages"] == [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": words(50)},
    ]
    tiktoken_count = TokenCounter().messages(body["messages"]) + REPLY_PRIMING
    assert tiktoken_count < WINDOW, "tiktoken alone would accept the next one too"
    with pytest.raises(openai.BadRequestError) as caught:
        ask(counted, "vllm", words(60))
    assert caught.value.code == "context_length_exceeded"
    assert f"{VLLM_TOKENS_PER_WORD * 62} tokens" in caught.value.message
    assert f"{WINDOW} tokens" in caught.value.message


def test_llama_cpp_templates_then_tokenizes(counted: Tenant, upstream: Upstream) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        ask(counted, "llama", words(80))
    paths = [path for path, _ in upstream.tokenize_requests]
    assert paths == ["/apply-template", "/tokenize"]
    templated = upstream.tokenize_requests[1][1]["content"]
    assert templated.startswith("<system>Be brief.")
    expected = LLAMA_CPP_TOKENS_PER_WORD * len(templated.split())
    assert f"{expected} tokens" in caught.value.message
    ask(counted, "llama", words(40))  # 4 a word of the template: under 300


def test_a_failing_tokenizer_falls_back_to_tiktoken(
    counted: Tenant, upstream: Upstream, router: RouterProcess
) -> None:
    # 61 words and the system prompt's 2 would be over by vLLM's count; tiktoken's fits.
    assert VLLM_TOKENS_PER_WORD * (61 + 2) > WINDOW
    ask(counted, "vllm", "untokenizable " + words(60))
    assert [path for path, _ in upstream.tokenize_requests] == ["/tokenize"]
    assert upstream.last()["messages"][-1]["content"].startswith("untokenizable")
    assert "counting with its vllm tokenizer failed (UpstreamError)" in router.log()
    assert "tokenizer broke" not in router.log()


def test_a_tokenizer_that_does_not_answer_is_not_waited_for(
    counted: Tenant, upstream: Upstream, router: RouterProcess
) -> None:
    started = time.monotonic()
    ask(counted, "vllm", "slowtokenizer " + words(60))
    assert time.monotonic() - started < TIMEOUT_SECONDS + 2, "gave up after TIMEOUT_SECONDS"
    assert upstream.last()["messages"][-1]["content"].startswith("slowtokenizer")
    assert "counting with its vllm tokenizer failed (TimeoutError)" in router.log()
