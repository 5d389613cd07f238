"""Typed errors raised by this package.

Two families:

* **Bad input** (``ValueError`` subclasses) raised *before* any network call, with a
  message that says what to fix.
* **Mid-stream transport failures** (and complete answers that are not JSON), which
  the Cerebras and Groq SDKs let escape as raw ``httpx`` errors or
  ``json.JSONDecodeError``. They are re-raised here as subclasses of
  the Cerebras SDK's own ``APIConnectionError`` / ``APITimeoutError`` /
  ``APIResponseValidationError``, so callers (and the router) classify them without
  knowing about httpx. Each carries ``failure_kind`` so that
  :func:`langchain_cerebras_router.failures.classify_failure` reads it directly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
from cerebras.cloud.sdk import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
)

__all__ = [
    "InvalidMessagesError",
    "InvalidToolChoiceError",
    "MalformedResponseError",
    "MalformedStreamError",
    "StreamInterruptedError",
    "StreamTimeoutError",
    "check_aliases_given_once",
    "malformed_response_error",
    "translate_stream_exception",
    "truncated_stream_error",
]


def check_aliases_given_once(fields: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    """Reject a field given under both its name and its alias with different values.

    Pydantic would silently keep one of them (``model="a", model_name="b"`` gives
    ``"b"``); a constructor that cannot tell which one was meant says so instead.

    Args:
        fields: The model's ``model_fields``.
        values: The constructor's keyword arguments.

    Raises:
        ValueError: Naming both spellings, when their values differ.
    """
    for name, info in fields.items():
        alias = info.alias
        given_twice = alias and alias != name and name in values and alias in values
        if given_twice and values[name] != values[alias]:
            msg = f"{name}=... and {alias}=... name the same setting: pass one of them."
            raise ValueError(msg)


class InvalidMessagesError(ValueError):
    """The message history cannot be sent: the API would reject it.

    Raised before any network call, e.g. for an empty history or a tool message whose
    ``tool_call_id`` answers no tool call of an earlier AI message.
    """

    failure_kind = "bad_request"


class InvalidToolChoiceError(ValueError):
    """``tool_choice`` names no bound tool or is not one of the accepted forms."""

    failure_kind = "bad_request"


class StreamInterruptedError(APIConnectionError):
    """The connection broke after the response body had started (reset, protocol error).

    Attributes:
        chunks_received: how many SSE chunks were parsed before the failure.
    """

    failure_kind = "stream_interrupted"

    def __init__(self, message: str, *, request: httpx.Request, chunks_received: int) -> None:
        super().__init__(message=message, request=request)
        self.chunks_received = chunks_received


class StreamTimeoutError(APITimeoutError):
    """The stream stalled: no byte arrived within the read timeout after the body started.

    Attributes:
        chunks_received: how many SSE chunks were parsed before the stall.
    """

    failure_kind = "timeout"

    def __init__(self, message: str, *, request: httpx.Request, chunks_received: int) -> None:
        super().__init__(request=request)
        self.message = message
        self.args = (message,)
        self.chunks_received = chunks_received


class MalformedStreamError(APIResponseValidationError):
    """The stream carried a line that is not valid JSON (a broken SSE frame).

    Attributes:
        chunks_received: how many SSE chunks were parsed before the bad one.
    """

    failure_kind = "stream_interrupted"

    def __init__(self, message: str, *, response: httpx.Response, chunks_received: int) -> None:
        super().__init__(response=response, body=None, message=message)
        self.chunks_received = chunks_received


class MalformedResponseError(APIResponseValidationError):
    """A complete (non-streamed) answer whose body is not valid JSON: a server fault."""

    failure_kind = "server_error"


def malformed_response_error(
    problem: json.JSONDecodeError | object, *, label: str, response: httpx.Response
) -> MalformedResponseError:
    """The typed error for a 2xx answer that is not a JSON object (``invoke``/``ainvoke``).

    Args:
        problem: The decoding error, or the decoded body that is not a JSON object.
        label: ``provider/model``.
        response: The HTTP response.
    """
    if isinstance(problem, json.JSONDecodeError):
        why = f"not JSON ({problem.msg})"
    else:
        content_type = response.headers.get("content-type", "no content type")
        why = f"not a JSON object ({type(problem).__name__}, {content_type})"
    return MalformedResponseError(
        response=response, body=None, message=f"{label}: malformed response body, {why}"
    )


def truncated_stream_error(
    *, label: str, chunks_received: int, response: httpx.Response
) -> StreamInterruptedError:
    """The body ended before the chunk carrying ``finish_reason`` (a cut-off stream).

    Cerebras sends no ``data: [DONE]``: the end of the body ends the stream, so a body
    cut short (or ending in a broken frame the SSE parser drops) must not pass as a
    complete answer.
    """
    return StreamInterruptedError(
        f"{label}: stream ended after {chunks_received} chunks without its final chunk "
        "(no finish_reason): the answer is incomplete",
        request=response.request,
        chunks_received=chunks_received,
    )


def _placeholder_request() -> httpx.Request:
    return httpx.Request("POST", "https://api.cerebras.ai/v1/chat/completions")


def translate_stream_exception(
    exc: BaseException,
    *,
    label: str,
    chunks_received: int,
    response: httpx.Response | None = None,
) -> BaseException | None:
    """Map a raw mid-stream failure to this package's typed SDK errors.

    Args:
        exc: The exception raised while iterating an SDK stream.
        label: ``"provider/model"`` for the message (never a key).
        chunks_received: Chunks parsed before the failure.
        response: The streaming HTTP response, when known.

    Returns:
        The typed exception to raise instead, or ``None`` when ``exc`` is not a raw
        transport/parse failure (SDK errors pass through untouched).
    """
    request = response.request if response is not None else _placeholder_request()
    where = f"after {chunks_received} chunk{'s' if chunks_received != 1 else ''}"
    if isinstance(exc, httpx.TimeoutException):
        return StreamTimeoutError(
            f"{label}: stream stalled {where} ({type(exc).__name__})",
            request=request,
            chunks_received=chunks_received,
        )
    if isinstance(exc, httpx.TransportError):
        return StreamInterruptedError(
            f"{label}: stream interrupted {where} ({type(exc).__name__}: {exc})",
            request=request,
            chunks_received=chunks_received,
        )
    if isinstance(exc, json.JSONDecodeError):
        bad_response = response if response is not None else httpx.Response(200, request=request)
        return MalformedStreamError(
            f"{label}: malformed stream data {where} ({exc.msg})",
            response=bad_response,
            chunks_received=chunks_received,
        )
    return None
