"""JSON bodies and SSE frames exactly as Cerebras and Groq put them on the wire.

Stream frames are assembled from pre-encoded templates (one ``json.dumps`` of the token per
chunk), so a long stream costs little CPU per chunk.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any, Final

from langchain_cerebras_router.testing.answers import Answer, stable_hash
from langchain_cerebras_router.testing.catalog import Provider

_PROMPT_SPEEDUP: Final = 25.0
_MIN_QUEUE_TIME: Final = 0.000_12


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _string(text: str) -> str:
    """A JSON string literal (the C-accelerated encoder; non-ASCII kept as is)."""
    return encode_basestring(text)


def new_id(prefix: str, size: int = 24) -> str:
    """A random id such as ``chatcmpl-1f0c...`` (ids differ between identical requests)."""
    return prefix + os.urandom(size // 2).hex()


def fingerprint(model: str) -> str:
    """A stable ``system_fingerprint`` per model."""
    return f"fp_{stable_hash('fingerprint', model) & 0xFFFFFFFFFF:010x}"


@dataclass(frozen=True)
class Timing:
    """Server-side timings in seconds, as reported in ``time_info`` / Groq ``usage``."""

    queue_time: float
    prompt_time: float
    completion_time: float
    total_time: float
    created: float

    def as_time_info(self) -> dict[str, float]:
        """Cerebras ``time_info``."""
        return {
            "queue_time": self.queue_time,
            "prompt_time": self.prompt_time,
            "completion_time": self.completion_time,
            "total_time": self.total_time,
            "created": self.created,
        }


def compute_timing(
    prompt_tokens: int,
    completion_tokens: int,
    tokens_per_second: float,
    *,
    time_to_first_token: float = 0.0,
    server_latency: float = 0.0,
    now: float | None = None,
) -> Timing:
    """Timings from the speed that applies: completion time is ``tokens / tokens_per_second``."""
    speed = max(tokens_per_second, 1e-6)
    queue = round(max(server_latency, _MIN_QUEUE_TIME), 6)
    prompt = round(max(time_to_first_token, prompt_tokens / (speed * _PROMPT_SPEEDUP)), 6)
    completion = round(max(completion_tokens, 1) / speed, 6)
    return Timing(
        queue_time=queue,
        prompt_time=prompt,
        completion_time=completion,
        total_time=round(queue + prompt + completion, 6),
        created=time.time() if now is None else now,
    )


def usage_body(
    provider: Provider,
    answer: Answer,
    prompt_tokens: int,
    cached_tokens: int,
    timing: Timing,
    *,
    reasoning_model: bool,
) -> dict[str, Any]:
    """The ``usage`` object of each provider."""
    usage: dict[str, Any] = {}
    if provider == "groq":
        usage["queue_time"] = timing.queue_time
        usage["prompt_time"] = timing.prompt_time
        usage["completion_time"] = timing.completion_time
        usage["total_time"] = timing.total_time
    usage["prompt_tokens"] = prompt_tokens
    usage["completion_tokens"] = answer.completion_tokens
    usage["total_tokens"] = prompt_tokens + answer.completion_tokens
    usage["prompt_tokens_details"] = {"cached_tokens": cached_tokens}
    if reasoning_model:
        usage["completion_tokens_details"] = {"reasoning_tokens": answer.reasoning_tokens}
    return usage


def broken_arguments(arguments: str) -> str:
    """Tool-call arguments cut so that they are no longer valid JSON."""
    return arguments[: max(1, len(arguments) - 1)]


class ChatWire:
    r"""Builds one response's bodies and frames for a provider (chat or text completion).

    Example:
        ```python
        from langchain_cerebras_router.testing.wire import ChatWire

        wire = ChatWire("cerebras", "llama3.1-8b")
        frame = wire.content_frames([" Hello"])[0]
        assert frame.startswith(b"data: {") and frame.endswith(b"}\n\n")
        ```
    """

    def __init__(self, provider: Provider, model: str, *, text_completion: bool = False) -> None:
        """Fix the ids and templates of one response."""
        self.provider = provider
        self.model = model
        self.text_completion = text_completion
        self.id = new_id("cmpl-" if text_completion else "chatcmpl-")
        self.request_id = "req_" + os.urandom(13).hex()
        self.created = int(time.time())
        self.fingerprint = fingerprint(model)
        self.object = "text_completion" if text_completion else "chat.completion.chunk"
        meta_tail = _dumps(self._meta())[1:]  # '"created":...,"object":...}'
        if provider == "groq":
            head = {"id": self.id, "object": self.object, "created": self.created, "model": model}
            head["system_fingerprint"] = self.fingerprint
            self._prefix = _dumps(head)[:-1] + ',"choices":[{"index":0,'
            self._suffix = ',"logprobs":null,"finish_reason":null}]}\n\n'
        else:
            self._prefix = _dumps({"id": self.id})[:-1] + ',"choices":[{'
            finish = ',"finish_reason":null' if text_completion else ""
            self._suffix = f',"index":0{finish}}}],{meta_tail}\n\n'

    # ------------------------------------------------------------------ stream frames
    def _frame(self, delta_json: str) -> bytes:
        return f"data: {self._prefix}{delta_json}{self._suffix}".encode()

    def role_frame(self) -> bytes:
        """The first chunk: ``delta: {"role": "assistant", "content": ""}``."""
        if self.text_completion:
            return self._frame('"text":""')
        frame = self._chunk_object({"role": "assistant", "content": ""}, None)
        if self.provider == "groq":
            frame["x_groq"] = {"id": self.request_id}
        return f"data: {_dumps(frame)}\n\n".encode()

    def content_frames(self, tokens: Sequence[str]) -> list[bytes]:
        """One chunk per content token."""
        if self.text_completion:
            return [self._frame(f'"text":{_string(token)}') for token in tokens]
        return [self._frame(f'"delta":{{"content":{_string(token)}}}') for token in tokens]

    def reasoning_frames(self, tokens: Sequence[str]) -> list[bytes]:
        """One chunk per reasoning token (``delta.reasoning``)."""
        return [self._frame(f'"delta":{{"reasoning":{_string(token)}}}') for token in tokens]

    def tool_call_frame(self, index: int, call_id: str, name: str, arguments: str) -> bytes:
        """A whole tool call in one chunk."""
        call = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }
        return self._frame('"delta":' + _dumps({"tool_calls": [call]}))

    def final_frame(
        self,
        finish_reason: str,
        usage: Mapping[str, Any],
        timing: Timing,
        *,
        include_usage: bool = False,
    ) -> bytes:
        """The last chunk: empty delta, ``finish_reason``, usage and timings."""
        if self.text_completion:
            choice: dict[str, Any] = {"index": 0, "text": "", "finish_reason": finish_reason}
            body: dict[str, Any] = {"id": self.id, "choices": [choice], **self._meta()}
            body["usage"] = dict(usage)
            body["time_info"] = timing.as_time_info()
            return f"data: {_dumps(body)}\n\n".encode()
        frame = self._chunk_object({}, finish_reason)
        if self.provider == "groq":
            frame["x_groq"] = {"id": self.request_id, "usage": dict(usage)}
            if include_usage:
                frame["usage"] = dict(usage)
        else:
            frame["usage"] = dict(usage)
            frame["time_info"] = timing.as_time_info()
        return f"data: {_dumps(frame)}\n\n".encode()

    def error_frame(self, status: int, message: str, type_: str, code: str) -> bytes:
        """An in-stream error event (Cerebras carries ``status_code``)."""
        error = {"message": message, "type": type_, "code": code}
        body: dict[str, Any] = {"error": error}
        if self.provider == "cerebras":
            body = {"status_code": status, "error": error}
        return f"data: {_dumps(body)}\n\n".encode()

    def malformed_json_frame(self) -> bytes:
        """A data line that is not JSON."""
        return b"data: {broken\n\n"

    def cut_frame(self) -> bytes:
        """A data line cut in the middle of its JSON, without the blank line that ends it."""
        whole = self.content_frames(["cut"])[0]
        return whole[: len(whole) // 2]

    def _meta(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "model": self.model,
            "system_fingerprint": self.fingerprint,
            "object": self.object,
        }

    def _chunk_object(self, delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
        if self.provider == "groq":
            return {
                "id": self.id,
                "object": self.object,
                "created": self.created,
                "model": self.model,
                "system_fingerprint": self.fingerprint,
                "choices": [
                    {
                        "index": 0,
                        "delta": delta,
                        "logprobs": None,
                        "finish_reason": finish_reason,
                    }
                ],
            }
        choice: dict[str, Any] = {"delta": delta, "index": 0}
        if finish_reason is not None:
            choice = {"delta": delta, "finish_reason": finish_reason, "index": 0}
        return {"id": self.id, "choices": [choice], **self._meta()}

    # ------------------------------------------------------------------ whole bodies
    def completion_body(
        self,
        answer: Answer,
        usage: Mapping[str, Any],
        timing: Timing,
        call_ids: Sequence[str],
        *,
        break_arguments: bool = False,
    ) -> dict[str, Any]:
        """The non-stream ``chat.completion`` (or ``text_completion``) body."""
        if self.text_completion:
            choice = {
                "index": 0,
                "text": answer.content_text,
                "finish_reason": answer.finish_reason,
                "logprobs": None,
            }
            body = {"id": self.id, "choices": [choice], **self._meta()}
            body["object"] = "text_completion"
            body["usage"] = dict(usage)
            body["time_info"] = timing.as_time_info()
            return body
        message: dict[str, Any] = {"role": "assistant"}
        has_calls = bool(answer.tool_calls)
        message["content"] = None if has_calls and not answer.content else answer.content_text
        if answer.reasoning:
            message["reasoning"] = answer.reasoning_text
        if has_calls:
            message["tool_calls"] = [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {
                        "name": call.name,
                        "arguments": broken_arguments(call.arguments)
                        if break_arguments
                        else call.arguments,
                    },
                }
                for call, call_id in zip(answer.tool_calls, call_ids, strict=False)
            ]
        if self.provider == "groq":
            return {
                "id": self.id,
                "object": "chat.completion",
                "created": self.created,
                "model": self.model,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "logprobs": None,
                        "finish_reason": answer.finish_reason,
                    }
                ],
                "usage": dict(usage),
                "usage_breakdown": None,
                "system_fingerprint": self.fingerprint,
                "x_groq": {"id": self.request_id},
                "service_tier": "on_demand",
            }
        return {
            "id": self.id,
            "choices": [{"finish_reason": answer.finish_reason, "index": 0, "message": message}],
            "created": self.created,
            "model": self.model,
            "system_fingerprint": self.fingerprint,
            "object": "chat.completion",
            "usage": dict(usage),
            "time_info": timing.as_time_info(),
        }


def encode_json(value: Any) -> bytes:
    """Compact UTF-8 JSON."""
    return _dumps(value).encode()
