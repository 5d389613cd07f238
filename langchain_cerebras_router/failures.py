"""Classify any exception raised by a chat-model call into a small, routable `Failure`.

The router decides from a `Failure` whether to move to the next route, whether the failure
counts against the route's circuit breaker, and how long the provider asked it to wait.

Classification uses the SDKs' own exception classes (``cerebras.cloud.sdk``, ``groq`` and,
when it has been imported, ``openai``), raw ``httpx`` (and ``httpx2``) transport errors,
``json.JSONDecodeError``, the built-in timeout and connection errors, and
``asyncio.CancelledError``. String matching is used only where no type exists: to spot
context-length errors and to read the error codes of in-stream error events.

Decisions (the table below is the contract):

==================  ==========================================  ========  =======
kind                raised for                                  failover  breaker
==================  ==========================================  ========  =======
rate_limited        429; 413 with code ``rate_limit_exceeded``  yes       counts
capacity            498, or code ``capacity_exceeded``          yes       counts
server_error        >= 500, 409 (the SDKs retry it)             yes       counts
timeout             SDK / httpx / asyncio timeouts, 408         yes       counts
connection          connect errors, resets before the body      yes       counts
stream_interrupted  reset / malformed data / error event        yes       counts
                    after the body started
authentication      401, 403                                    yes       disables
model_not_found     404 ``model_not_found``, ``model_decommis-  yes       counts
                    sioned``: the route no longer serves it
bad_request         other 4xx, incl. context length             no        neutral
cancelled           ``CancelledError`` and other non-Exception  no        neutral
unknown             anything else                               yes       neutral
==================  ==========================================  ========  =======

``unknown`` fails over (as ``Runnable.with_fallbacks`` does for every ``Exception``) but does
not count against the breaker: an unrecognised error is no evidence that the provider is
down, and a caller's own bug must not open the breakers of every route.

An object with a ``failure_kind`` attribute holding a `FailureKind` value (the package's own
errors) is trusted; its status code, ``retry-after`` and provider code are still read from
the SDK error it wraps, if any. Wrappers are unwrapped through ``__cause__`` /
``__context__`` (two levels) to find a classifiable error.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

import cerebras.cloud.sdk as cerebras_sdk
import groq
import httpx

from langchain_cerebras_router.ratelimits import parse_retry_after
from langchain_cerebras_router.redaction import redact_secrets

__all__ = [
    "Failure",
    "FailureKind",
    "classify_failure",
    "parse_retry_after",
    "redact_secrets",
]

MAX_MESSAGE_CHARS = 1000
"""Failure messages are truncated to this length (some proxies answer with whole pages)."""

_CHAIN_DEPTH = 2


class FailureKind(str, Enum):
    """Why a chat-model call failed, at the granularity a router needs."""

    RATE_LIMITED = "rate_limited"
    CAPACITY = "capacity"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    STREAM_INTERRUPTED = "stream_interrupted"
    AUTHENTICATION = "authentication"
    MODEL_NOT_FOUND = "model_not_found"
    BAD_REQUEST = "bad_request"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


_NO_FAILOVER = frozenset({FailureKind.BAD_REQUEST, FailureKind.CANCELLED})
_NEUTRAL = frozenset({FailureKind.BAD_REQUEST, FailureKind.CANCELLED, FailureKind.UNKNOWN})
CONTEXT_LENGTH_CODE = "context_length_exceeded"


@dataclass(frozen=True)
class Failure:
    """A classified failure of one call on one route.

    Attributes:
        kind: The failure class.
        status_code: HTTP status (or the status an in-stream error event carried), if any.
        retry_after: Seconds the provider asked to wait (``retry-after-ms``, else
            ``retry-after`` as seconds or HTTP date), clamped to 0..60; ``None`` if absent.
        message: A redacted, truncated description, safe to log.
        exception_type: Public dotted name of the exception that decided the kind.
        provider_code: The provider's error code, e.g. ``"capacity_exceeded"`` or
            ``"context_length_exceeded"``.
        in_stream: The failure happened after the response body had started.

    Example:
        .. code-block:: python

            from langchain_cerebras_router.failures import classify_failure

            failure = classify_failure(TimeoutError("no first token"))
            assert failure.kind == "timeout" and failure.failover
    """

    kind: FailureKind
    status_code: int | None
    retry_after: float | None
    message: str
    exception_type: str
    provider_code: str | None = None
    in_stream: bool = False

    @property
    def failover(self) -> bool:
        """Whether another route should be tried (``False`` for bad requests and cancels)."""
        return self.kind not in _NO_FAILOVER

    @property
    def counts_toward_breaker(self) -> bool:
        """Whether this failure is evidence that the route is unhealthy."""
        return self.kind not in _NEUTRAL and self.kind is not FailureKind.AUTHENTICATION

    @property
    def disables_route(self) -> bool:
        """Whether the route must be taken out of rotation until reset (bad credentials)."""
        return self.kind is FailureKind.AUTHENTICATION

    @property
    def is_context_length(self) -> bool:
        """Whether the prompt did not fit the model's context window."""
        return self.provider_code == CONTEXT_LENGTH_CODE

    def summary(self) -> str:
        """One line for logs and routing explanations, e.g. ``rate_limited (HTTP 429)``."""
        details = []
        if self.status_code is not None:
            details.append(f"HTTP {self.status_code}")
        if self.provider_code:
            details.append(self.provider_code)
        if self.retry_after is not None:
            details.append(f"retry after {self.retry_after:.3g} s")
        if self.in_stream:
            details.append("in stream")
        head = f"{self.kind.value} ({', '.join(details)})" if details else self.kind.value
        return f"{head}: {self.exception_type}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (``kind`` as its string value)."""
        data = asdict(self)
        data["kind"] = self.kind.value
        return data


def _safe_message(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    text = redact_secrets(text)
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 1] + "…"
    return text


def _type_name(exc: BaseException) -> str:
    cls = type(exc)
    module = cls.__module__
    if module == "builtins":
        return cls.__qualname__
    parts = module.split(".")
    while len(parts) > 1 and parts[-1].startswith("_"):
        parts.pop()
    return f"{'.'.join(parts)}.{cls.__qualname__}"


# --------------------------------------------------------------------------- classes

_STATUS_ERRORS: tuple[type[BaseException], ...] = (
    cerebras_sdk.APIStatusError,
    groq.APIStatusError,
)
_TIMEOUT_ERRORS: tuple[type[BaseException], ...] = (
    cerebras_sdk.APITimeoutError,
    groq.APITimeoutError,
)
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    cerebras_sdk.APIConnectionError,
    groq.APIConnectionError,
)
_VALIDATION_ERRORS: tuple[type[BaseException], ...] = (
    cerebras_sdk.APIResponseValidationError,
    groq.APIResponseValidationError,
)
_API_ERRORS: tuple[type[BaseException], ...] = (cerebras_sdk.APIError, groq.APIError)
_BUILTIN_TIMEOUTS: tuple[type[BaseException], ...] = (
    TimeoutError,
    asyncio.TimeoutError,
    concurrent.futures.TimeoutError,
)


def _optional_classes(module_name: str, *names: str) -> tuple[type[BaseException], ...]:
    """Classes of an optional SDK, only if it is already imported (no import cost).

    An exception of a module that was never imported cannot exist, so looking in
    ``sys.modules`` is both free and complete.
    """
    module = sys.modules.get(module_name)
    if module is None:
        return ()
    found = (getattr(module, name, None) for name in names)
    return tuple(c for c in found if isinstance(c, type) and issubclass(c, BaseException))


def _transport_modules() -> list[Any]:
    modules: list[Any] = [httpx]
    other = sys.modules.get("httpx2")
    if other is not None:
        modules.append(other)
    return modules


# --------------------------------------------------------------------------- classify


def classify_failure(exc: BaseException) -> Failure:
    """Classify an exception raised by a chat-model call (or by the router around it).

    Args:
        exc: The exception, as caught.

    Returns:
        The `Failure`; never raises. Unrecognised exceptions become ``UNKNOWN``.

    Example:
        .. code-block:: python

            import httpx
            from cerebras.cloud.sdk import RateLimitError

            request = httpx.Request("POST", "https://api.cerebras.ai/v1/chat/completions")
            response = httpx.Response(429, headers={"retry-after": "2"}, request=request)
            failure = classify_failure(RateLimitError("slow down", response=response, body=None))
            assert failure.kind == "rate_limited" and failure.retry_after == 2.0
    """
    if isinstance(exc, asyncio.CancelledError):
        return _make(exc, FailureKind.CANCELLED)
    chain = _chain(exc)
    for i, candidate in enumerate(chain):
        trusted = _trusted_kind(candidate)
        if trusted is not None:
            return _trusted_failure(candidate, trusted, chain[i:])
        found = _classify_one(candidate)
        if found is not None:
            return found
    return _make(exc, FailureKind.UNKNOWN)


def _trusted_failure(exc: BaseException, kind: FailureKind, chain: list[BaseException]) -> Failure:
    """The declared kind, with status / retry-after / code of the error it wraps, if any."""
    details = [f for f in map(_classify_one, chain) if f is not None]
    detail = next((f for f in details if f.status_code is not None), None)
    if detail is None and details:
        detail = details[0]
    return Failure(
        kind=kind,
        status_code=detail.status_code if detail else None,
        retry_after=detail.retry_after if detail else None,
        message=_safe_message(exc),
        exception_type=_type_name(exc),
        provider_code=detail.provider_code if detail else None,
        # The package's mid-stream errors say how many chunks came before them.
        in_stream=(detail is not None and detail.in_stream)
        or kind is FailureKind.STREAM_INTERRUPTED
        or getattr(exc, "chunks_received", None) is not None,
    )


def _chain(exc: BaseException) -> list[BaseException]:
    chain = [exc]
    current = exc
    for _ in range(_CHAIN_DEPTH):
        nxt = current.__cause__ if current.__cause__ is not None else current.__context__
        if nxt is None or nxt in chain:
            break
        chain.append(nxt)
        current = nxt
    return chain


def _trusted_kind(exc: BaseException) -> FailureKind | None:
    value = getattr(exc, "failure_kind", None)
    if isinstance(value, FailureKind):
        return value
    if isinstance(value, str):
        try:
            return FailureKind(value)
        except ValueError:
            return None
    return None


def _make(
    exc: BaseException,
    kind: FailureKind,
    *,
    status_code: int | None = None,
    retry_after: float | None = None,
    provider_code: str | None = None,
    in_stream: bool = False,
) -> Failure:
    return Failure(
        kind=kind,
        status_code=status_code,
        retry_after=retry_after,
        message=_safe_message(exc),
        exception_type=_type_name(exc),
        provider_code=provider_code,
        in_stream=in_stream,
    )


def _classify_one(exc: BaseException) -> Failure | None:
    if not isinstance(exc, Exception):
        # CancelledError, KeyboardInterrupt, SystemExit, GeneratorExit: never fail over.
        return _make(exc, FailureKind.CANCELLED)
    status_errors = _STATUS_ERRORS + _optional_classes("openai", "APIStatusError")
    if isinstance(exc, status_errors):
        return _from_status_error(exc)
    if isinstance(exc, _TIMEOUT_ERRORS + _optional_classes("openai", "APITimeoutError")):
        return _make(exc, FailureKind.TIMEOUT)
    if isinstance(exc, _CONNECTION_ERRORS + _optional_classes("openai", "APIConnectionError")):
        return _make(exc, FailureKind.CONNECTION)
    validation = _VALIDATION_ERRORS + _optional_classes("openai", "APIResponseValidationError")
    if isinstance(exc, validation):
        # A body that does not parse: the provider answered, but with broken data.
        return _make(exc, FailureKind.STREAM_INTERRUPTED, in_stream=True)
    if isinstance(exc, _API_ERRORS + _optional_classes("openai", "APIError")):
        # Plain APIError: the groq and openai SDKs raise it for in-stream error events.
        return _from_error_event(exc, getattr(exc, "body", None))
    for module in _transport_modules():
        transport = _from_transport_error(exc, module)
        if transport is not None:
            return transport
    if isinstance(exc, json.JSONDecodeError):
        return _make(exc, FailureKind.STREAM_INTERRUPTED, in_stream=True)
    if isinstance(exc, _BUILTIN_TIMEOUTS):
        return _make(exc, FailureKind.TIMEOUT)
    if isinstance(exc, ConnectionError):
        return _make(exc, FailureKind.CONNECTION)
    return None


def _from_transport_error(exc: Exception, module: Any) -> Failure | None:
    if isinstance(exc, module.HTTPStatusError):
        response = exc.response
        return _from_status(
            exc, int(response.status_code), _json_body(response), response.headers, False
        )
    if isinstance(exc, module.TimeoutException):
        return _make(exc, FailureKind.TIMEOUT)
    if isinstance(exc, module.ConnectError):
        return _make(exc, FailureKind.CONNECTION)
    if isinstance(exc, (module.ReadError, module.RemoteProtocolError, module.DecodingError)):
        return _make(exc, FailureKind.STREAM_INTERRUPTED, in_stream=True)
    if isinstance(exc, module.TransportError):
        # WriteError, CloseError, ProxyError, UnsupportedProtocol, LocalProtocolError.
        return _make(exc, FailureKind.CONNECTION)
    return None


def _json_body(response: Any) -> object | None:
    try:
        return response.json()  # type: ignore[no-any-return]
    except Exception:  # the body may be unread, streamed or not JSON
        return None


def _from_status_error(exc: BaseException) -> Failure:
    status = getattr(exc, "status_code", None)
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    response_status = getattr(response, "status_code", None)
    # The Cerebras SDK raises status errors for in-stream error events of a 200 response.
    in_stream = isinstance(response_status, int) and response_status < 400
    if not isinstance(status, int):
        status = response_status if isinstance(response_status, int) else None
    if status is None:
        return _from_error_event(exc, getattr(exc, "body", None))
    return _from_status(exc, status, getattr(exc, "body", None), headers, in_stream)


def _error_fields(body: object) -> tuple[str | None, str | None, str | None, int | None]:
    """``(code, type, message, status_code)`` from a flat or ``{"error": {...}}`` body."""
    if not isinstance(body, Mapping):
        return None, None, body if isinstance(body, str) else None, None
    status = body.get("status_code")
    inner = body.get("error")
    fields: Mapping[str, Any] = inner if isinstance(inner, Mapping) else body
    code, kind, message = fields.get("code"), fields.get("type"), fields.get("message")
    if message is None:
        message = fields.get("detail")
    return (
        str(code) if code is not None and code != "" else None,
        str(kind) if kind is not None else None,
        str(message) if message is not None else None,
        status if isinstance(status, int) and not isinstance(status, bool) else None,
    )


_CONTEXT_MESSAGE = re.compile(
    r"context[ _-]?(?:length|window)|maximum context|reduce the length of the messages"
    r"|prompt is too long|too many input tokens",
    re.IGNORECASE,
)
_CAPACITY_CODES = frozenset({"capacity_exceeded", "over_capacity"})
_RATE_CODES = frozenset({"rate_limit_exceeded", "too_many_requests", "queue_exceeded"})
_AUTH_CODES = frozenset({"invalid_api_key", "wrong_api_key", "authentication_error"})
_MODEL_GONE_CODES = frozenset({"model_not_found", "model_decommissioned"})
"""A model id this provider does not (or no longer) serve: another route may serve it."""
_SERVER_CODES = frozenset(
    {"server_error", "internal_server_error", "service_unavailable", "api_error"}
)


def _is_context_length(code: str | None, message: str | None, exc: BaseException) -> bool:
    if code == CONTEXT_LENGTH_CODE:
        return True
    text = message if message is not None else str(exc)
    return bool(_CONTEXT_MESSAGE.search(text))


def _kind_for_status(status: int, code: str | None) -> FailureKind:
    if status == 498 or code in _CAPACITY_CODES:
        return FailureKind.CAPACITY
    if status == 429 or (status == 413 and code == "rate_limit_exceeded"):
        # Groq answers 413 when one request exceeds the per-minute token limit: another
        # route may well take it, so this is a rate limit of this route, not a bad request.
        return FailureKind.RATE_LIMITED
    if status in (401, 403):
        return FailureKind.AUTHENTICATION
    if code in _MODEL_GONE_CODES:
        return FailureKind.MODEL_NOT_FOUND
    if status == 408:
        return FailureKind.TIMEOUT
    if status == 409 or status >= 500:
        return FailureKind.SERVER_ERROR
    if status >= 400:
        return FailureKind.BAD_REQUEST
    return FailureKind.UNKNOWN


def _from_status(
    exc: BaseException,
    status: int,
    body: object,
    headers: Mapping[str, str] | None,
    in_stream: bool,
) -> Failure:
    code, _, message, _ = _error_fields(body)
    kind = _kind_for_status(status, code)
    if kind is FailureKind.BAD_REQUEST and _is_context_length(code, message, exc):
        code = CONTEXT_LENGTH_CODE
    return _make(
        exc,
        kind,
        status_code=status,
        retry_after=parse_retry_after(headers),
        provider_code=code,
        in_stream=in_stream,
    )


def _kind_for_code(code: str | None, error_type: str | None) -> FailureKind:
    names = {n.lower() for n in (code, error_type) if n}
    if names & _CAPACITY_CODES:
        return FailureKind.CAPACITY
    if names & _RATE_CODES or "rate_limit_error" in names:
        return FailureKind.RATE_LIMITED
    if names & _AUTH_CODES or "permission_denied" in names:
        return FailureKind.AUTHENTICATION
    if CONTEXT_LENGTH_CODE in names or "invalid_request_error" in names:
        return FailureKind.BAD_REQUEST
    if names & _SERVER_CODES:
        return FailureKind.SERVER_ERROR
    return FailureKind.STREAM_INTERRUPTED


def _from_error_event(exc: BaseException, body: object) -> Failure:
    """An error that arrived without an HTTP status: an in-stream error event."""
    code, error_type, message, status = _error_fields(body)
    if status is not None and status >= 400:
        return _from_status(exc, status, body, None, True)
    kind = _kind_for_code(code, error_type)
    if kind is FailureKind.BAD_REQUEST and _is_context_length(code, message, exc):
        code = CONTEXT_LENGTH_CODE
    return _make(exc, kind, provider_code=code, in_stream=True)
