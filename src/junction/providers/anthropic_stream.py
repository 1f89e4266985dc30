"""The Messages API's stream events as OpenAI ``chat.completion.chunk`` dicts (``anthropic``)."""

from __future__ import annotations

from junction.errors import JunctionError, RateLimited, UpstreamError, UpstreamUnavailable
from junction.providers.base import Json, ProviderConfig, upstream_detail
from junction.providers.translate import chunk, new_id, usage_chunk

STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def message_usage(raw: object) -> tuple[int, int]:
    if not isinstance(raw, dict):
        return 0, 0
    prompt = sum(
        v
        for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        if isinstance(v := raw.get(k), int)
    )
    output = raw.get("output_tokens")
    return prompt, output if isinstance(output, int) else 0


class StreamTranslator:
    """Messages API stream events in, ``chat.completion.chunk`` dicts out."""

    def __init__(self, model: str, config: ProviderConfig) -> None:
        self.model = model
        self.config = config
        self.id = new_id("chatcmpl-")
        self.prompt = 0
        self.output = 0
        self.tools: dict[int, int] = {}  # content block index -> tool call index
        self.done = False

    def feed(self, event: Json) -> list[Json]:
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            if isinstance(message.get("id"), str):
                self.id = "chatcmpl-" + message["id"]
            self.prompt, self.output = message_usage(message.get("usage"))
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "tool_use":
                index = self.tools[int(event.get("index", 0))] = len(self.tools)
                call = {
                    "index": index,
                    "id": block.get("id") or new_id("call_"),
                    "type": "function",
                    "function": {"name": block.get("name"), "arguments": ""},
                }
                return [self._chunk({"tool_calls": [call]})]
            if block.get("type") == "text" and block.get("text"):
                return [self._chunk({"content": block["text"]})]
            return []
        if kind == "content_block_delta":
            return self._delta(int(event.get("index", 0)), event.get("delta") or {})
        if kind == "message_delta":
            _, output = message_usage(event.get("usage"))
            self.output = output or self.output
            delta = event.get("delta") or {}
            reason = delta.get("stop_reason")
            if reason:
                out = self._chunk({}, STOP_REASONS.get(str(reason), "stop"))
                if reason == "stop_sequence" and isinstance(delta.get("stop_sequence"), str):
                    out["choices"][0]["stop_reason"] = delta["stop_sequence"]
                return [out]
            return []
        if kind == "message_stop":
            self.done = True
            return [usage_chunk(self.id, self.model, self.prompt, self.output)]
        if kind == "error":
            raise _stream_error(self.config, event.get("error"))
        return []  # ping, content_block_stop, and event types added later

    def _delta(self, index: int, delta: Json) -> list[Json]:
        kind = delta.get("type")
        if kind == "text_delta":
            return [self._chunk({"content": str(delta.get("text", ""))})]
        if kind == "thinking_delta":
            return [self._chunk({"reasoning_content": str(delta.get("thinking", ""))})]
        if kind == "signature_delta" and delta.get("signature"):
            return [self._chunk({"thinking_signature": str(delta["signature"])})]
        if kind == "input_json_delta" and index in self.tools:
            piece = {
                "index": self.tools[index],
                "function": {"arguments": delta.get("partial_json", "")},
            }
            return [self._chunk({"tool_calls": [piece]})]
        return []

    def _chunk(self, delta: Json, finish: str | None = None) -> Json:
        return chunk(self.id, self.model, delta, finish)


def _stream_error(config: ProviderConfig, error: object) -> JunctionError:
    """The caller reads the router's words; what the upstream said is for operators."""
    kind = error.get("type") if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    detail = upstream_detail(config, f"{kind}: {message}")
    if kind == "overloaded_error":
        return UpstreamUnavailable(f"provider '{config.name}' is overloaded", detail=detail)
    if kind == "rate_limit_error":
        return RateLimited(f"provider '{config.name}' is rate limited", detail=detail)
    return UpstreamError(f"provider '{config.name}' broke off the stream", detail=detail)
