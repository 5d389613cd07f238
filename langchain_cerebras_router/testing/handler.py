"""Request handling: routing, auth, faults, validation, rate limits, and the responses."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from langchain_cerebras_router.testing.answers import (
    Answer,
    build_answer,
    build_text_completion,
    prompt_tokens,
)
from langchain_cerebras_router.testing.catalog import ModelSpec, Provider
from langchain_cerebras_router.testing.faults import Fault
from langchain_cerebras_router.testing.http11 import HttpRequest, HttpResponder
from langchain_cerebras_router.testing.ratelimits import (
    rate_limit_headers,
    retry_after_value,
)
from langchain_cerebras_router.testing.state import (
    EmulatorState,
    RecordedRequest,
    redact_headers,
)
from langchain_cerebras_router.testing.validation import (
    ApiError,
    error_fields,
    validate_chat,
    validate_completion,
)
from langchain_cerebras_router.testing.wire import (
    ChatWire,
    broken_arguments,
    compute_timing,
    encode_json,
    new_id,
    usage_body,
)

FAULT_HEADER: Final = "x-emulator-fault"
_JSON: Final = ("content-type", "application/json")
_SSE: Final = ("content-type", "text/event-stream; charset=utf-8")
_BATCH: Final = 64
_AFTER_CHUNK_KINDS: Final = frozenset(
    {"reset_after", "stall", "malformed_json", "malformed_sse", "stream_error"}
)


@dataclass
class _Exchange:
    """One chat request on its way through the handler."""

    request: HttpRequest
    responder: HttpResponder
    provider: Provider
    body: Any
    fault: Fault | None
    stream: bool
    text_completion: bool

    @property
    def model(self) -> str | None:
        model = self.body.get("model") if isinstance(self.body, Mapping) else None
        return model if isinstance(model, str) else None


class RequestHandler:
    """Serves both providers' APIs from one :class:`EmulatorState`.

    Internal to :class:`~langchain_cerebras_router.testing.Emulator`, which runs it on an
    :class:`~langchain_cerebras_router.testing.http11.HttpServer`.
    """

    def __init__(
        self,
        state: EmulatorState,
        catalog: Mapping[Provider, Mapping[str, ModelSpec]],
        api_keys: frozenset[str] | None,
    ) -> None:
        """Bind the shared state, the model tables and the accepted keys (``None``: any)."""
        self._state = state
        self._catalog = catalog
        self._api_keys = api_keys

    # ------------------------------------------------------------------ entry point
    async def __call__(self, request: HttpRequest, responder: HttpResponder) -> None:
        """Route one request."""
        path = request.path.rstrip("/") or "/"
        provider: Provider | None
        if path.startswith("/openai/v1/"):
            provider, endpoint = "groq", path[len("/openai/v1") :]
        elif path.startswith("/v1/"):
            provider, endpoint = "cerebras", path[len("/v1") :]
        else:
            await self._plain(request, responder, None, 404, {"detail": "Not Found"})
            return
        if provider == "cerebras" and endpoint == "/tcp_warming":
            await self._plain(request, responder, provider, 200, {})
            return
        post = endpoint in ("/chat/completions", "/completions")
        known = endpoint == "/chat/completions" or endpoint.startswith("/models")
        known = known or (provider == "cerebras" and endpoint == "/completions")
        if not known:
            await self._plain(request, responder, provider, 404, {"detail": "Not Found"})
            return
        if request.method != ("POST" if post else "GET"):
            await self._plain(request, responder, provider, 405, {"detail": "Method Not Allowed"})
            return
        denied = self._auth_error(request, provider)
        if denied is not None:
            status, body = denied
            await self._plain(request, responder, provider, status, body)
            return
        if post:
            await self._completion(request, responder, provider, endpoint == "/completions")
        else:
            await self._models(request, responder, provider, endpoint)

    def _auth_error(
        self, request: HttpRequest, provider: Provider
    ) -> tuple[int, dict[str, Any]] | None:
        header = request.header("authorization") or ""
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer":
            return 403, {"detail": "Not authenticated"}
        key = key.strip()
        if not key or (self._api_keys is not None and key not in self._api_keys):
            message = "Wrong API Key" if provider == "cerebras" else "Invalid API Key"
            return 401, ApiError(401, message).body(provider)
        return None

    def _record(
        self,
        request: HttpRequest,
        provider: Provider | None,
        status: int | None,
        *,
        body: Any = None,
        fault: Fault | None = None,
    ) -> None:
        model = body.get("model") if isinstance(body, Mapping) else None
        self._state.record(
            RecordedRequest(
                provider=provider,
                method=request.method,
                path=request.path,
                headers=redact_headers(request.headers),
                body=body,
                fault=str(fault) if fault is not None else None,
                status=status,
                model=model if isinstance(model, str) else None,
                time=time.time(),
            )
        )

    async def _plain(
        self,
        request: HttpRequest,
        responder: HttpResponder,
        provider: Provider | None,
        status: int,
        body: Any,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        self._record(request, provider, status, body=_parse_json(request.body)[0])
        await responder.send(status, [_JSON, *(headers or [])], encode_json(body))

    # ------------------------------------------------------------------ models
    async def _models(
        self, request: HttpRequest, responder: HttpResponder, provider: Provider, endpoint: str
    ) -> None:
        models = self._catalog[provider]
        if endpoint == "/models":
            data = [self._model_entry(spec) for spec in models.values()]
            await self._plain(request, responder, provider, 200, {"object": "list", "data": data})
            return
        model_id = endpoint[len("/models/") :]
        spec = models.get(model_id)
        if spec is None:
            error = ApiError(404, f"Model {model_id} does not exist.", param="model")
            await self._plain(request, responder, provider, 404, error.body(provider))
            return
        await self._plain(request, responder, provider, 200, self._model_entry(spec))

    @staticmethod
    def _model_entry(spec: ModelSpec) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "id": spec.id,
            "object": "model",
            "created": spec.created,
            "owned_by": spec.owner,
        }
        if spec.provider == "groq":
            entry.update(active=True, context_window=spec.context_window, public_apps=None)
        return entry

    # ------------------------------------------------------------------ completions
    async def _completion(
        self, request: HttpRequest, responder: HttpResponder, provider: Provider, text: bool
    ) -> None:
        body, _ = _parse_json(request.body)
        stream = isinstance(body, Mapping) and body.get("stream") is True
        exchange = _Exchange(request, responder, provider, body, None, stream, text)
        try:
            header = request.header(FAULT_HEADER)
            if header is not None:
                try:
                    exchange.fault = Fault.parse(header) if header.strip() else None
                except ValueError as exc:
                    raise ApiError(400, f"invalid {FAULT_HEADER} header: {exc}") from None
            else:
                exchange.fault = self._state.next_fault(provider, exchange.model)
            speed = self._state.speed(provider)
            if speed.server_latency > 0:
                await asyncio.sleep(speed.server_latency)
            fault = exchange.fault
            if fault is not None and (
                fault.is_pre_response or (not stream and fault.kind in ("stream_error", "stall"))
            ):
                await self._pre_response_fault(exchange, fault)
                return
            await self._answer(exchange)
        except ApiError as error:
            headers = [*error.headers, *self._quota_headers(provider)]
            self._record(request, provider, error.status, body=body, fault=exchange.fault)
            await responder.send(error.status, [_JSON, *headers], encode_json(error.body(provider)))

    def _quota_headers(self, provider: Provider) -> list[tuple[str, str]]:
        return rate_limit_headers(provider, self._state.limiters[provider].state())

    async def _pre_response_fault(self, exchange: _Exchange, fault: Fault) -> None:
        request, responder, provider = exchange.request, exchange.responder, exchange.provider
        if fault.kind == "reset":
            self._record(request, provider, None, body=exchange.body, fault=fault)
            responder.reset()
            return
        if fault.kind == "stall":
            self._record(request, provider, None, body=exchange.body, fault=fault)
            await asyncio.sleep(fault.seconds or 0.0)
            responder.close()
            return
        model = exchange.model or "unknown"
        if fault.kind == "rate_limit":
            retry = None if fault.retry_after is None else retry_after_value(fault.retry_after)
            message = (
                f"Rate limit reached for model `{model}` on requests per minute (RPM). "
                f"Please try again in {retry or 1}s."
                if provider == "groq"
                else "Requests per minute limit exceeded - too many requests sent."
            )
            headers = [] if retry is None else [("retry-after", retry)]
            raise ApiError(429, message, headers=headers)
        if fault.kind == "capacity_exceeded":
            raise ApiError(498, "The flex tier is at capacity. Please try again later.")
        if fault.kind == "unauthorized":
            raise ApiError(401, "Wrong API Key" if provider == "cerebras" else "Invalid API Key")
        raise ApiError(fault.status_code or 500)

    async def _answer(self, exchange: _Exchange) -> None:
        body, provider = exchange.body, exchange.provider
        if not isinstance(body, Mapping):
            raise ApiError(400, "The request body is not a valid JSON object.")
        models = self._catalog[provider]
        if exchange.text_completion:
            spec = validate_completion(body, models)
        else:
            spec = validate_chat(body, provider, models)
        tokens = prompt_tokens(body)
        if len(tokens) > spec.context_window:
            raise ApiError(
                400,
                f"Please reduce the length of the messages or completion: the prompt has "
                f"{len(tokens)} tokens, the context window of {spec.id} is "
                f"{spec.context_window}.",
                param="messages",
                code="context_length_exceeded",
            )
        answer = self._build(body, spec, provider, exchange.text_completion)
        limiter = self._state.limiters[provider]
        quota, retry = limiter.acquire(len(tokens) + answer.completion_tokens)
        headers = [("x-request-id", new_id("", 32)), *rate_limit_headers(provider, quota)]
        if retry is not None:
            raise ApiError(
                429,
                "Requests per day limit exceeded - too many requests sent."
                if quota.requests_remaining <= 0
                else "Tokens per minute limit exceeded - too many tokens processed.",
                headers=[("retry-after", retry_after_value(retry))],
            )
        cached = self._state.prefix_cache.cached_tokens(f"{provider}:{spec.id}", tokens)
        speed = self._state.speed(provider)
        fault = exchange.fault
        ttft = speed.time_to_first_token
        if fault is not None and fault.kind == "slow_first_token":
            ttft = fault.seconds or 0.0
        timing = compute_timing(
            len(tokens),
            answer.completion_tokens,
            speed.tokens_per_second or spec.tokens_per_second,
            time_to_first_token=ttft,
            server_latency=speed.server_latency,
        )
        usage = usage_body(
            provider, answer, len(tokens), cached, timing, reasoning_model=spec.reasoning
        )
        wire = ChatWire(provider, spec.id, text_completion=exchange.text_completion)
        call_ids = [new_id("call_") for _ in answer.tool_calls]
        self._record(exchange.request, provider, 200, body=body, fault=fault)
        if exchange.stream:
            options = body.get("stream_options")
            include_usage = isinstance(options, Mapping) and options.get("include_usage") is True
            final = wire.final_frame(
                answer.finish_reason, usage, timing, include_usage=include_usage
            )
            await self._stream(
                exchange, wire, answer, call_ids, final, headers, ttft, speed.tokens_per_second
            )
            return
        delay = ttft
        if speed.tokens_per_second:
            delay += answer.completion_tokens / speed.tokens_per_second
        if delay > 0:
            await asyncio.sleep(delay)
        broken = fault is not None and fault.kind == "invalid_tool_arguments"
        data = encode_json(
            wire.completion_body(answer, usage, timing, call_ids, break_arguments=broken)
        )
        await self._send_whole(exchange.responder, [_JSON, *headers], data, fault)

    def _build(
        self, body: Mapping[str, Any], spec: ModelSpec, provider: Provider, text: bool
    ) -> Answer:
        answer_tokens = self._state.answer_tokens
        significant = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
        key = json.dumps(
            [provider, spec.id, text, answer_tokens, significant], sort_keys=True, default=str
        )
        if text:
            return self._state.cached_answer(
                key, lambda: build_text_completion(body, spec, answer_tokens)
            )
        return self._state.cached_answer(
            key, lambda: build_answer(body, spec, provider, answer_tokens)
        )

    @staticmethod
    async def _send_whole(
        responder: HttpResponder, headers: list[tuple[str, str]], data: bytes, fault: Fault | None
    ) -> None:
        kind = fault.kind if fault is not None else None
        if kind == "reset_after":
            await responder.send_partial(200, headers, data, len(data) // 2)
            responder.reset()
        elif kind == "malformed_json":
            await responder.send(200, headers, b"{broken" + data[1 : len(data) // 2])
        elif kind == "malformed_sse":
            await responder.send(200, headers, data[: len(data) // 2])
        else:
            await responder.send(200, headers, data)

    # ------------------------------------------------------------------ streaming
    async def _stream(
        self,
        exchange: _Exchange,
        wire: ChatWire,
        answer: Answer,
        call_ids: list[str],
        final: bytes,
        headers: list[tuple[str, str]],
        ttft: float,
        tokens_per_second: float | None,
    ) -> None:
        responder, fault = exchange.responder, exchange.fault
        frames = [(frame, False) for frame in wire.reasoning_frames(answer.reasoning)]
        frames.extend((f, True) for f in wire.content_frames(answer.content))
        broken = fault is not None and fault.kind == "invalid_tool_arguments"
        for index, (call, call_id) in enumerate(zip(answer.tool_calls, call_ids, strict=False)):
            arguments = broken_arguments(call.arguments) if broken else call.arguments
            frames.append((wire.tool_call_frame(index, call_id, call.name, arguments), True))
        trigger = None
        if fault is not None and fault.kind in _AFTER_CHUNK_KINDS:
            trigger = fault.after_chunks or 0

        responder.start_stream(200, [_SSE, ("cache-control", "no-cache"), *headers])
        responder.write(wire.role_frame())
        await responder.drain()
        if ttft > 0 and trigger != 0:
            await asyncio.sleep(ttft)
        loop = asyncio.get_running_loop()
        interval = 1.0 / tokens_per_second if tokens_per_second else 0.0
        start = loop.time()
        batch: list[bytes] = []
        sent_content = 0
        for index, (frame, is_content) in enumerate(frames):
            if fault is not None and trigger is not None and sent_content >= trigger:
                await self._flush(responder, batch)
                await self._in_stream_fault(exchange, wire, fault)
                return
            if interval:
                wait = start + index * interval - loop.time()
                if wait > 0.001:
                    await self._flush(responder, batch)
                    await asyncio.sleep(wait)
            batch.append(frame)
            sent_content += is_content
            if len(batch) >= _BATCH:
                await self._flush(responder, batch)
        await self._flush(responder, batch)
        if fault is not None and trigger is not None:
            await self._in_stream_fault(exchange, wire, fault)
            return
        responder.write(final + (b"data: [DONE]\n\n" if exchange.provider == "groq" else b""))
        await responder.end_stream()

    @staticmethod
    async def _flush(responder: HttpResponder, batch: list[bytes]) -> None:
        if batch:
            responder.write(b"".join(batch))
            batch.clear()
            await responder.drain()

    @staticmethod
    async def _in_stream_fault(exchange: _Exchange, wire: ChatWire, fault: Fault) -> None:
        responder = exchange.responder
        kind = fault.kind
        if kind == "reset_after":
            await responder.flush()
            responder.reset()
        elif kind == "stall":
            await responder.flush()
            await asyncio.sleep(fault.seconds or 0.0)
            responder.close()
        elif kind == "malformed_json":
            responder.write(wire.malformed_json_frame())
            await responder.end_stream()
        elif kind == "malformed_sse":
            responder.write(wire.cut_frame())
            await responder.end_stream()
        elif kind == "stream_error":
            status = fault.status_code or 500
            message = (
                "Requests per minute limit exceeded - too many requests sent."
                if status == 429
                else f"The model failed while generating (status {status})."
            )
            type_, code = error_fields(exchange.provider, status, None, None)
            responder.write(wire.error_frame(status, message, type_, code))
            await responder.end_stream()


def _parse_json(raw: bytes) -> tuple[Any, bool]:
    """``(value, ok)``; ``(None, False)`` when the body is empty or not JSON."""
    if not raw:
        return None, False
    try:
        return json.loads(raw), True
    except ValueError:
        return None, False
