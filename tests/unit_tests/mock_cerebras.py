"""A small in-process fake of the Cerebras chat endpoint, built on ``httpx.MockTransport``.

It records every request and answers with OpenAI-shaped bodies the way Cerebras does
(``time_info``, ``usage.prompt_tokens_details.cached_tokens``, ``system_fingerprint``,
``message.reasoning``, rate-limit headers), as a JSON completion or as an SSE stream
(role chunk, reasoning chunks, content chunks, one chunk per tool call, and a final chunk
carrying ``finish_reason``, ``usage`` and ``time_info``; no ``data: [DONE]`` unless asked).

Replies are scripted per request (:class:`Answer`, :class:`ErrorReply`,
:class:`RawStream`); when the script is empty, :attr:`FakeCerebras.default` answers. The
same :class:`Answer` renders identically for the JSON and the streaming paths, so tests
can compare invoke / ainvoke / stream / astream against one expectation.

Example:
    .. code-block:: python

        fake = FakeCerebras(Answer(content="Hi!"))
        llm = fake.chat_model()
        assert llm.invoke("hello").content == "Hi!"
        assert fake.last_body["messages"] == [{"role": "user", "content": "hello"}]
"""

from __future__ import annotations

import json
import operator
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

import httpx
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable

from langchain_cerebras_router import ChatCerebras

TEST_KEY = "csk-unit-test-key"

RATE_LIMIT_HEADERS: dict[str, str] = {
    "x-ratelimit-limit-requests-day": "14400",
    "x-ratelimit-remaining-requests-day": "14399",
    "x-ratelimit-reset-requests-day": "33011.38",
    "x-ratelimit-limit-tokens-minute": "60000",
    "x-ratelimit-remaining-tokens-minute": "59000",
    "x-ratelimit-reset-tokens-minute": "11.38",
}
"""Headers sent with every successful chat reply (keys lower-case, as httpx reports them)."""


def tool_call(name: str, args: Mapping[str, Any] | str, call_id: str = "call_1") -> dict[str, Any]:
    """A wire tool call; ``args`` given as a string is sent verbatim (e.g. broken JSON)."""
    arguments = args if isinstance(args, str) else json.dumps(dict(args))
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


@dataclass(frozen=True)
class Answer:
    """One assistant answer, rendered as a completion or as a stream."""

    content: str = "Hello from the fake Cerebras!"
    reasoning: str | None = None
    tool_calls: tuple[dict[str, Any], ...] = ()
    finish_reason: str | None = None
    """Defaults to ``tool_calls`` when there are tool calls, else ``stop``."""
    model: str | None = None
    """Model name the server reports; ``None`` echoes the requested one."""
    prompt_tokens: int = 11
    completion_tokens: int = 24
    cached_tokens: int | None = 5
    completion_time: float = 0.012
    system_fingerprint: str = "fp_fake_1"
    chunk_chars: int = 4
    """Characters per content / reasoning chunk when streaming."""
    done_line: bool = False
    """End the stream with ``data: [DONE]`` (Groq style); Cerebras does not send it."""

    @property
    def finish(self) -> str:
        return self.finish_reason or ("tool_calls" if self.tool_calls else "stop")

    @property
    def tokens_per_second(self) -> float:
        return round(self.completion_tokens / self.completion_time, 1)

    def usage(self) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }
        if self.cached_tokens is not None:
            usage["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens}
        return usage

    def time_info(self) -> dict[str, float]:
        return {
            "queue_time": 0.0001,
            "prompt_time": 0.002,
            "completion_time": self.completion_time,
            "total_time": 0.002 + self.completion_time,
            "created": 1_790_000_000.0,
        }

    def completion(self, model: str) -> dict[str, Any]:
        """The ``chat.completion`` body."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.reasoning is not None:
            message["reasoning"] = self.reasoning
        if self.tool_calls:
            message["tool_calls"] = [dict(tc) for tc in self.tool_calls]
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 1_790_000_000,
            "model": self.model or model,
            "system_fingerprint": self.system_fingerprint,
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish}],
            "usage": self.usage(),
            "time_info": self.time_info(),
        }

    def chunks(self, model: str, *, include_usage: bool) -> list[dict[str, Any]]:
        """The ``chat.completion.chunk`` bodies of the stream, in order."""

        def chunk(delta: dict[str, Any], **extra: Any) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "finish_reason": extra.pop("finish", None)}
            return {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 1_790_000_000,
                "model": self.model or model,
                "system_fingerprint": self.system_fingerprint,
                "choices": [choice],
                **extra,
            }

        step = self.chunk_chars
        chunks = [chunk({"role": "assistant"})]
        reasoning = self.reasoning or ""
        chunks += [
            chunk({"reasoning": reasoning[i : i + step]}) for i in range(0, len(reasoning), step)
        ]
        chunks += [
            chunk({"content": self.content[i : i + step]})
            for i in range(0, len(self.content), step)
        ]
        chunks += [
            chunk({"tool_calls": [{"index": i, **tc}]}) for i, tc in enumerate(self.tool_calls)
        ]
        final: dict[str, Any] = {"finish": self.finish, "time_info": self.time_info()}
        if include_usage:
            final["usage"] = self.usage()
        chunks.append(chunk({}, **final))
        return chunks


@dataclass(frozen=True)
class ErrorReply:
    """An HTTP error: 4xx bodies are flat, 5xx wrapped in ``error`` (as Cerebras does)."""

    status: int
    message: str = "fake failure"
    headers: Mapping[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        error = {"message": self.message, "type": f"http_{self.status}", "param": "", "code": ""}
        return {"error": error} if self.status >= 500 else error


@dataclass(frozen=True)
class RawStream:
    """An SSE stream of raw ``data:`` payloads, optionally failing after the last one.

    ``then_raise`` is an exception class instantiated and raised by the response body
    stream once the payloads are sent, like a transport that breaks mid-stream.
    """

    payloads: tuple[str, ...]
    then_raise: type[BaseException] | None = None
    status: int = 200


Reply = Answer | ErrorReply | RawStream


def sse_events(payloads: list[str], *, done: bool = False) -> list[bytes]:
    """SSE events (one ``bytes`` per event) for the given ``data:`` payloads."""
    events = [f"data: {payload}\n\n".encode() for payload in payloads]
    if done:
        events.append(b"data: [DONE]\n\n")
    return events


class _SyncEvents(httpx.SyncByteStream):
    def __init__(self, events: list[bytes], then_raise: type[BaseException] | None) -> None:
        self._events = events
        self._then_raise = then_raise

    def __iter__(self) -> Iterator[bytes]:
        yield from self._events
        if self._then_raise is not None:
            raise self._then_raise("fake transport failure mid-stream")


class _AsyncEvents(httpx.AsyncByteStream):
    def __init__(self, events: list[bytes], then_raise: type[BaseException] | None) -> None:
        self._events = events
        self._then_raise = then_raise

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for event in self._events:
            yield event
        if self._then_raise is not None:
            raise self._then_raise("fake transport failure mid-stream")


@dataclass(frozen=True)
class RecordedRequest:
    """What the fake server saw."""

    method: str
    path: str
    headers: httpx.Headers
    body: dict[str, Any] | None


class FakeCerebras:
    """Scriptable fake of ``api.cerebras.ai`` for ``httpx.MockTransport``.

    Args:
        *replies: Replies for the next chat requests, in order.
        default: The answer once the script is used up.
        on_request: Called with each request before it is answered (e.g. to block).
    """

    def __init__(
        self,
        *replies: Reply,
        default: Answer | None = None,
        on_request: Callable[[httpx.Request], None] | None = None,
    ) -> None:
        self.requests: list[RecordedRequest] = []
        self.default = default or Answer()
        self.on_request = on_request
        self._script: deque[Reply] = deque(replies)
        self._lock = threading.Lock()

    def queue(self, *replies: Reply) -> None:
        """Append replies to the script."""
        self._script.extend(replies)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == "/v1/chat/completions"]

    @property
    def last_body(self) -> dict[str, Any]:
        bodies = [r.body for r in self.chat_requests if r.body is not None]
        assert bodies, "no chat request was sent"
        return bodies[-1]

    # -- transports ----------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Sync handler for ``httpx.MockTransport``."""
        return self._respond(request, is_async=False)

    async def ahandle(self, request: httpx.Request) -> httpx.Response:
        """Async handler for ``httpx.MockTransport``."""
        return self._respond(request, is_async=True)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    def async_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.ahandle))

    def chat_model(self, **kwargs: Any) -> ChatCerebras:
        """A ``ChatCerebras`` wired to this fake (no SDK retries unless asked)."""
        kwargs.setdefault("api_key", TEST_KEY)
        kwargs.setdefault("max_retries", 0)
        return ChatCerebras(
            http_client=self.client(), http_async_client=self.async_client(), **kwargs
        )

    # -- the server ------------------------------------------------------------------------

    def _respond(self, request: httpx.Request, *, is_async: bool) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        with self._lock:
            self.requests.append(
                RecordedRequest(request.method, request.url.path, request.headers, body)
            )
        if self.on_request is not None:
            self.on_request(request)
        if request.url.path == "/v1/tcp_warming":
            return httpx.Response(200, json={"status": "warm"})
        if request.url.path != "/v1/chat/completions" or body is None:
            return httpx.Response(404, json=ErrorReply(404, "Not found").body())
        with self._lock:
            reply = self._script.popleft() if self._script else self.default
        if isinstance(reply, ErrorReply):
            return httpx.Response(reply.status, json=reply.body(), headers=dict(reply.headers))
        streaming = bool(body.get("stream"))
        if isinstance(reply, RawStream):
            return self._stream(list(reply.payloads), reply.then_raise, is_async, reply.status)
        if not streaming:
            return httpx.Response(
                200, json=reply.completion(body["model"]), headers=RATE_LIMIT_HEADERS
            )
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        payloads = [json.dumps(c) for c in reply.chunks(body["model"], include_usage=include_usage)]
        return self._stream(payloads, None, is_async, 200, done=reply.done_line)

    @staticmethod
    def _stream(
        payloads: list[str],
        then_raise: type[BaseException] | None,
        is_async: bool,
        status: int,
        *,
        done: bool = False,
    ) -> httpx.Response:
        events = sse_events(payloads, done=done)
        stream = _AsyncEvents(events, then_raise) if is_async else _SyncEvents(events, then_raise)
        headers = {"content-type": "text/event-stream", **RATE_LIMIT_HEADERS}
        return httpx.Response(status, headers=headers, stream=stream)


# -- calling a model the same way through every path ---------------------------------------

MODEL = "gpt-oss-120b"
CALL_PATHS = ("invoke", "ainvoke", "stream", "astream")
PATHS = (*CALL_PATHS, "batch", "abatch")
META_KEYS = ("model_name", "finish_reason", "system_fingerprint", "time_info", "model_provider",
             "tokens_per_second", "rate_limits")  # fmt: skip


async def chunks_of(
    llm: Runnable[Any, Any], path: str, inp: Any = "hi", **kwargs: Any
) -> AsyncIterator[Any]:
    """Iterate ``llm.stream`` (``path == "stream"``) or ``llm.astream`` uniformly."""
    if path == "stream":
        for chunk in llm.stream(inp, **kwargs):
            yield chunk
    else:
        async for chunk in llm.astream(inp, **kwargs):
            yield chunk


async def run(llm: Runnable[Any, Any], path: str, inp: Any = "hi", **kwargs: Any) -> Any:
    """One call through ``path`` (one of :data:`PATHS`); stream chunks are summed."""
    if path == "invoke":
        return llm.invoke(inp, **kwargs)
    if path == "ainvoke":
        return await llm.ainvoke(inp, **kwargs)
    if path == "batch":
        return llm.batch([inp], **kwargs)[0]
    if path == "abatch":
        return (await llm.abatch([inp], **kwargs))[0]
    chunks = [chunk async for chunk in chunks_of(llm, path, inp, **kwargs)]
    return reduce(operator.add, chunks)


def summary(message: BaseMessage) -> dict[str, Any]:
    """What must be identical whichever path produced ``message``."""
    assert isinstance(message, AIMessage)
    reasoning = [b["reasoning"] for b in message.content_blocks if b["type"] == "reasoning"]
    return {
        "content": message.content,
        "reasoning": message.additional_kwargs.get("reasoning_content"),
        "reasoning_blocks": "".join(reasoning) or None,
        "tool_calls": [(tc["name"], tc["args"], tc["id"]) for tc in message.tool_calls],
        "invalid_tool_calls": [(t["name"], t["args"]) for t in message.invalid_tool_calls],
        "usage": message.usage_metadata,
        **{key: message.response_metadata.get(key) for key in META_KEYS},
    }


def expected_summary(answer: Answer, model: str = MODEL) -> dict[str, Any]:
    """The :func:`summary` of the message that ``answer`` must produce."""
    return {
        "content": answer.content,
        "reasoning": answer.reasoning,
        "reasoning_blocks": answer.reasoning,
        "tool_calls": [
            (tc["function"]["name"], json.loads(tc["function"]["arguments"]), tc["id"])
            for tc in answer.tool_calls
        ],
        "invalid_tool_calls": [],
        "usage": {
            "input_tokens": answer.prompt_tokens,
            "output_tokens": answer.completion_tokens,
            "total_tokens": answer.prompt_tokens + answer.completion_tokens,
            "input_token_details": {"cache_read": answer.cached_tokens},
        },
        "model_name": answer.model or model,
        "finish_reason": answer.finish,
        "system_fingerprint": answer.system_fingerprint,
        "time_info": answer.time_info(),
        "model_provider": "cerebras",
        "tokens_per_second": answer.tokens_per_second,
        "rate_limits": RATE_LIMIT_HEADERS,
    }
