"""The HTTP exchange of one ``ChatCerebras`` call, on the SDK client's ``post()``.

:class:`PreparedCall` holds the JSON body and the SDK request options built once per call
(shared by the four call paths); :func:`send` / :func:`asend` post it and return the raw
SDK response; :func:`named_errors` and :func:`typed_stream_error` label and type what
goes wrong. The answer is converted by :mod:`~langchain_cerebras_router.message_conversion`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from cerebras.cloud.sdk import APIError, AsyncCerebras, AsyncStream, Cerebras, Stream
from langchain_core.outputs import ChatResult

from langchain_cerebras_router.errors import malformed_response_error, translate_stream_exception
from langchain_cerebras_router.message_conversion import (
    StreamChunkConverter,
    chat_result_from_completion,
)
from langchain_cerebras_router.redaction import redact_exception

__all__ = [
    "PreparedCall",
    "asend",
    "named_errors",
    "request_options",
    "send",
    "typed_stream_error",
]

_CHAT_PATH = "/v1/chat/completions"
#: Request parameters that are HTTP headers, not body fields (as the SDK maps them).
_HEADER_PARAMS = {"cf_ray": "CF-RAY", "x_amz_cf_id": "X-Amz-Cf-Id", "x_delay_time": "X-delay-time"}
#: The SDK's marker asking ``post()`` for the raw response (headers as well as the body).
_RAW_RESPONSE_HEADER = "X-Stainless-Raw-Response"


def request_options(params: dict[str, Any]) -> dict[str, Any]:
    """Take the SDK request options out of ``params``; what is left is the JSON body.

    ``extra_body`` is merged into the body, ``extra_headers``/``extra_query``/``timeout``
    become request options, and header parameters become headers: what ``create()``
    does with them.
    """
    headers: dict[str, str] = {_RAW_RESPONSE_HEADER: "raw"}
    for name, header in _HEADER_PARAMS.items():
        if name in params:
            headers[header] = str(params.pop(name))
    headers.update(params.pop("extra_headers", None) or {})
    options: dict[str, Any] = {"headers": headers}
    if (query := params.pop("extra_query", None)) is not None:
        options["params"] = query
    if "timeout" in params:
        options["timeout"] = params.pop("timeout")
    params.update(params.pop("extra_body", None) or {})
    return options


def _rate_limit_headers(headers: httpx.Headers) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.startswith(("x-ratelimit", "retry-after"))}


@dataclass(slots=True)
class PreparedCall:
    """Everything one call needs, built once and shared by all four call paths.

    ``body`` is the JSON request body and ``options`` the SDK request options (headers,
    timeout). They go through the SDK client's ``post()``: its auth, retries, error
    classes and SSE decoding, without ``chat.completions.create()``'s TypedDict
    transform, which costs 0.1-0.5 ms per call and is the identity on a body that is
    already JSON (the only aliased parameters, ``cf_ray``, ``x_amz_cf_id`` and
    ``x_delay_time``, are headers; they are mapped here the same way).
    """

    body: dict[str, Any]
    options: dict[str, Any]
    model_id: str
    label: str
    include_usage: bool
    stream: bool
    #: Original parameter schemas of the tools bound with ``strict=True``, by name.
    strict_tool_schemas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def result(self, body: object, response: httpx.Response) -> ChatResult:
        """The ``ChatResult`` of a complete answer (its decoded ``body``).

        Raises:
            MalformedResponseError: The body is not a JSON object (e.g. a 200 answered
                with an event stream): a server fault, failed over by routers.
        """
        if not isinstance(body, Mapping):
            raise malformed_response_error(body, label=self.label, response=response)
        rate_limits = _rate_limit_headers(response.headers)
        return chat_result_from_completion(
            body,
            requested_model=self.model_id,
            extra_metadata={"rate_limits": rate_limits} if rate_limits else None,
            strict_tool_schemas=self.strict_tool_schemas,
        )

    def converter(self, headers: httpx.Headers) -> StreamChunkConverter:
        """The converter of a streamed answer's chunks."""
        rate_limits = _rate_limit_headers(headers)
        return StreamChunkConverter(
            requested_model=self.model_id,
            include_usage=self.include_usage,
            extra_metadata={"rate_limits": rate_limits} if rate_limits else None,
            strict_tool_schemas=self.strict_tool_schemas,
        )


def send(client: Cerebras, call: PreparedCall) -> Any:
    """POST a prepared call through the SDK client; returns its raw response."""
    post: Any = client.post
    if call.stream:
        return post(
            _CHAT_PATH,
            body=call.body,
            options=call.options,
            cast_to=object,
            stream=True,
            stream_cls=Stream[object],
        )
    return post(_CHAT_PATH, body=call.body, options=call.options, cast_to=object)


async def asend(client: AsyncCerebras, call: PreparedCall) -> Any:
    """:func:`send` with the async client."""
    post: Any = client.post
    if call.stream:
        return await post(
            _CHAT_PATH,
            body=call.body,
            options=call.options,
            cast_to=object,
            stream=True,
            stream_cls=AsyncStream[object],
        )
    return await post(_CHAT_PATH, body=call.body, options=call.options, cast_to=object)


@contextlib.contextmanager
def named_errors(label: str) -> Iterator[None]:
    """Prefix SDK error messages with ``provider/model``; redact any key a server echoed."""
    try:
        yield
    except APIError as exc:
        if not str(exc.message).startswith(label):
            exc.message = f"{label}: {exc.message}"
            exc.args = (exc.message, *exc.args[1:])
        redact_exception(exc)
        raise


def typed_stream_error(
    exc: BaseException,
    call: PreparedCall,
    converter: StreamChunkConverter,
    response: httpx.Response,
) -> BaseException:
    """This package's typed error for a raw mid-stream failure (else ``exc`` itself)."""
    typed = translate_stream_exception(
        exc, label=call.label, chunks_received=converter.chunks, response=response
    )
    return typed if typed is not None else exc
