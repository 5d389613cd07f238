from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import json
from collections.abc import Iterator
from typing import Any

import cerebras.cloud.sdk as cerebras_sdk
import groq
import httpx
import openai
import pytest

from langchain_cerebras_router.errors import (
    InvalidMessagesError,
    MalformedStreamError,
    StreamInterruptedError,
    StreamTimeoutError,
)
from langchain_cerebras_router.failures import (
    Failure,
    FailureKind,
    classify_failure,
    parse_retry_after,
    redact_secrets,
)

CEREBRAS_URL = "https://api.cerebras.ai/v1/chat/completions"
GROQ_URL = "https://api.groq.com/openai/v1/chat/completions"
REQUEST = httpx.Request("POST", CEREBRAS_URL)
GROQ_REQUEST = httpx.Request("POST", GROQ_URL)


def response(
    status: int, headers: dict[str, str] | None = None, request: httpx.Request = REQUEST
) -> httpx.Response:
    return httpx.Response(status, headers=headers or {}, request=request)


def cerebras_error(
    cls: type[cerebras_sdk.APIStatusError],
    status: int,
    body: object = None,
    headers: dict[str, str] | None = None,
    message: str = "error",
) -> cerebras_sdk.APIStatusError:
    return cls(message, response=response(status, headers), body=body)


def groq_error(
    cls: type[groq.APIStatusError],
    status: int,
    body: object = None,
    headers: dict[str, str] | None = None,
    message: str = "error",
) -> groq.APIStatusError:
    return cls(message, response=response(status, headers, GROQ_REQUEST), body=body)


# --------------------------------------------------------------------------- status errors


@pytest.mark.parametrize(
    ("cls", "status", "kind"),
    [
        (cerebras_sdk.AuthenticationError, 401, FailureKind.AUTHENTICATION),
        (cerebras_sdk.PermissionDeniedError, 403, FailureKind.AUTHENTICATION),
        (cerebras_sdk.BadRequestError, 400, FailureKind.BAD_REQUEST),
        (cerebras_sdk.NotFoundError, 404, FailureKind.BAD_REQUEST),
        (cerebras_sdk.UnprocessableEntityError, 422, FailureKind.BAD_REQUEST),
        (cerebras_sdk.RateLimitError, 429, FailureKind.RATE_LIMITED),
        (cerebras_sdk.InternalServerError, 500, FailureKind.SERVER_ERROR),
        (cerebras_sdk.InternalServerError, 503, FailureKind.SERVER_ERROR),
        (cerebras_sdk.APIStatusError, 498, FailureKind.CAPACITY),
        (cerebras_sdk.APIStatusError, 408, FailureKind.TIMEOUT),
        (cerebras_sdk.ConflictError, 409, FailureKind.SERVER_ERROR),
        (cerebras_sdk.APIStatusError, 413, FailureKind.BAD_REQUEST),
    ],
)
def test_cerebras_status_errors(
    cls: type[cerebras_sdk.APIStatusError], status: int, kind: FailureKind
) -> None:
    failure = classify_failure(cerebras_error(cls, status))
    assert failure.kind is kind
    assert failure.status_code == status
    assert failure.exception_type == f"cerebras.cloud.sdk.{cls.__name__}"
    assert failure.in_stream is False


@pytest.mark.parametrize(
    ("cls", "status", "kind"),
    [
        (groq.AuthenticationError, 401, FailureKind.AUTHENTICATION),
        (groq.BadRequestError, 400, FailureKind.BAD_REQUEST),
        (groq.RateLimitError, 429, FailureKind.RATE_LIMITED),
        (groq.InternalServerError, 502, FailureKind.SERVER_ERROR),
        (groq.APIStatusError, 498, FailureKind.CAPACITY),
    ],
)
def test_groq_status_errors(cls: type[groq.APIStatusError], status: int, kind: FailureKind) -> None:
    body = {"error": {"message": "boom", "type": "x", "code": None}}
    failure = classify_failure(groq_error(cls, status, body))
    assert failure.kind is kind
    assert failure.status_code == status
    assert failure.exception_type == f"groq.{cls.__name__}"


def test_openai_status_errors_are_classified() -> None:
    # openai >= 3 runs on httpx2 (Python >= 3.11); the classifier only looks at the classes.
    httpx2 = pytest.importorskip("httpx2")

    request = httpx2.Request("POST", "https://api.openai.com/v1/chat/completions")
    resp = httpx2.Response(429, headers={"retry-after-ms": "250"}, request=request)
    failure = classify_failure(openai.RateLimitError("slow", response=resp, body=None))
    assert failure.kind is FailureKind.RATE_LIMITED
    assert failure.retry_after == 0.25
    assert failure.exception_type == "openai.RateLimitError"
    timeout = classify_failure(openai.APITimeoutError(request=request))
    assert timeout.kind is FailureKind.TIMEOUT
    conn = classify_failure(openai.APIConnectionError(request=request))
    assert conn.kind is FailureKind.CONNECTION
    # httpx2 transport errors escape openai streams raw, like httpx ones escape the others.
    assert classify_failure(httpx2.ReadError("reset")).kind is FailureKind.STREAM_INTERRUPTED
    assert classify_failure(httpx2.ReadTimeout("stall")).kind is FailureKind.TIMEOUT


def test_cerebras_403_not_authenticated_body() -> None:
    exc = cerebras_error(cerebras_sdk.PermissionDeniedError, 403, {"detail": "Not authenticated"})
    failure = classify_failure(exc)
    assert failure.kind is FailureKind.AUTHENTICATION
    assert failure.failover
    assert failure.disables_route
    assert not failure.counts_toward_breaker


def test_capacity_exceeded_code_on_groq_498() -> None:
    body = {"error": {"message": "over capacity", "type": "x", "code": "capacity_exceeded"}}
    failure = classify_failure(groq_error(groq.APIStatusError, 498, body))
    assert failure.kind is FailureKind.CAPACITY
    assert failure.provider_code == "capacity_exceeded"
    assert failure.failover
    assert failure.counts_toward_breaker


def test_a_model_the_route_does_not_serve_fails_over() -> None:
    # providers.md: model ids are retired often; another provider may still serve one.
    body = {
        "message": "Model llama3.1-8b does not exist or you do not have access to it.",
        "type": "not_found_error",
        "param": "model",
        "code": "model_not_found",
    }
    failure = classify_failure(cerebras_error(cerebras_sdk.NotFoundError, 404, body))
    assert failure.kind is FailureKind.MODEL_NOT_FOUND
    assert failure.failover
    assert failure.counts_toward_breaker
    assert not failure.disables_route
    retired = {
        "error": {
            "message": "The model has been decommissioned",
            "type": "invalid_request_error",
            "code": "model_decommissioned",
        }
    }
    failure = classify_failure(groq_error(groq.BadRequestError, 400, retired))
    assert failure.kind is FailureKind.MODEL_NOT_FOUND
    # A 404 that is not about the model stays a bad request.
    other = cerebras_error(cerebras_sdk.NotFoundError, 404, {"message": "no such path"})
    assert classify_failure(other).kind is FailureKind.BAD_REQUEST


def test_groq_413_over_token_limit_is_a_rate_limit() -> None:
    body = {
        "error": {
            "message": "Request too large for model on tokens per minute (TPM)",
            "type": "tokens",
            "code": "rate_limit_exceeded",
        }
    }
    failure = classify_failure(groq_error(groq.APIStatusError, 413, body))
    assert failure.kind is FailureKind.RATE_LIMITED
    assert failure.failover


def test_context_length_by_code() -> None:
    body = {
        "message": "too long",
        "type": "invalid_request_error",
        "code": "context_length_exceeded",
    }
    failure = classify_failure(cerebras_error(cerebras_sdk.BadRequestError, 400, body))
    assert failure.kind is FailureKind.BAD_REQUEST
    assert failure.is_context_length
    assert not failure.failover


def test_context_length_by_message() -> None:
    body = {
        "error": {
            "message": "Please reduce the length of the messages or completion.",
            "type": "invalid_request_error",
            "code": None,
        }
    }
    failure = classify_failure(groq_error(groq.BadRequestError, 400, body))
    assert failure.provider_code == "context_length_exceeded"
    assert failure.is_context_length


def test_plain_bad_request_is_not_context_length() -> None:
    body = {"message": "bad tool_choice", "type": "invalid_request_error", "code": "wrong_param"}
    failure = classify_failure(cerebras_error(cerebras_sdk.BadRequestError, 400, body))
    assert failure.provider_code == "wrong_param"
    assert not failure.is_context_length


def test_cerebras_5xx_body_is_unwrapped_for_code() -> None:
    body = {"error": {"message": "down", "type": "server_error", "code": "service_unavailable"}}
    failure = classify_failure(cerebras_error(cerebras_sdk.InternalServerError, 503, body))
    assert failure.kind is FailureKind.SERVER_ERROR
    assert failure.provider_code == "service_unavailable"


# --------------------------------------------------------------------------- retry-after


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"Retry-After": "0.5"}, 0.5),
        ({"retry-after-ms": "1500", "retry-after": "30"}, 1.5),
        ({"retry-after-ms": "junk", "retry-after": "3"}, 3.0),
        ({"retry-after": "120"}, 60.0),
        ({"retry-after": "-4"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_on_rate_limit(headers: dict[str, str], expected: float | None) -> None:
    exc = cerebras_error(cerebras_sdk.RateLimitError, 429, headers=headers)
    assert classify_failure(exc).retry_after == expected


def test_retry_after_http_date() -> None:
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 12, usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=now) == 12.0
    past = email.utils.formatdate(now - 100, usegmt=True)
    assert parse_retry_after({"retry-after": past}, now=now) == 0.0
    far = email.utils.formatdate(now + 3600, usegmt=True)
    assert parse_retry_after({"retry-after": far}, now=now) == 60.0


def test_retry_after_http_date_through_classify_is_clamped() -> None:
    far_future = email.utils.formatdate(4_000_000_000, usegmt=True)
    exc = groq_error(groq.RateLimitError, 429, headers={"retry-after": far_future})
    assert classify_failure(exc).retry_after == 60.0


def test_parse_retry_after_without_headers() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after(httpx.Headers({"RETRY-AFTER-MS": "10"})) == 0.01


# --------------------------------------------------------------------------- transport


def test_sdk_connection_and_timeout_errors() -> None:
    for sdk in (cerebras_sdk, groq):
        assert classify_failure(sdk.APITimeoutError(REQUEST)).kind is FailureKind.TIMEOUT
        conn = sdk.APIConnectionError(request=REQUEST)
        assert classify_failure(conn).kind is FailureKind.CONNECTION


@pytest.mark.parametrize(
    ("exc", "kind", "in_stream"),
    [
        (httpx.ReadTimeout("stall", request=REQUEST), FailureKind.TIMEOUT, False),
        (httpx.ConnectTimeout("slow", request=REQUEST), FailureKind.TIMEOUT, False),
        (httpx.PoolTimeout("pool"), FailureKind.TIMEOUT, False),
        (httpx.ConnectError("refused", request=REQUEST), FailureKind.CONNECTION, False),
        (httpx.ReadError("reset", request=REQUEST), FailureKind.STREAM_INTERRUPTED, True),
        (httpx.RemoteProtocolError("peer closed"), FailureKind.STREAM_INTERRUPTED, True),
        (httpx.WriteError("broken pipe"), FailureKind.CONNECTION, False),
        (
            json.JSONDecodeError("Expecting value", "data: {", 6),
            FailureKind.STREAM_INTERRUPTED,
            True,
        ),
        (TimeoutError("ttft"), FailureKind.TIMEOUT, False),
        (asyncio.TimeoutError(), FailureKind.TIMEOUT, False),
        (concurrent.futures.TimeoutError(), FailureKind.TIMEOUT, False),
        (ConnectionResetError("reset by peer"), FailureKind.CONNECTION, False),
    ],
)
def test_raw_errors(exc: BaseException, kind: FailureKind, in_stream: bool) -> None:
    failure = classify_failure(exc)
    assert failure.kind is kind
    assert failure.in_stream is in_stream
    assert failure.status_code is None


def test_httpx_status_error_uses_response() -> None:
    resp = httpx.Response(503, headers={"retry-after": "4"}, request=REQUEST)
    exc = httpx.HTTPStatusError("503", request=REQUEST, response=resp)
    failure = classify_failure(exc)
    assert (failure.kind, failure.status_code, failure.retry_after) == (
        FailureKind.SERVER_ERROR,
        503,
        4.0,
    )


@pytest.mark.parametrize("exc", [asyncio.CancelledError(), KeyboardInterrupt()])
def test_cancellation(exc: BaseException) -> None:
    failure = classify_failure(exc)
    assert failure.kind is FailureKind.CANCELLED
    assert not failure.failover
    assert not failure.counts_toward_breaker


def test_unknown_fails_over_but_is_neutral() -> None:
    failure = classify_failure(KeyError("choices"))
    assert failure.kind is FailureKind.UNKNOWN
    assert failure.failover
    assert not failure.counts_toward_breaker
    assert failure.exception_type == "KeyError"


# --------------------------------------------------------------------------- in-stream events


def test_groq_in_stream_error_event_without_code() -> None:
    exc = groq.APIError("An error occurred during streaming", GROQ_REQUEST, body={"message": "x"})
    failure = classify_failure(exc)
    assert failure.kind is FailureKind.STREAM_INTERRUPTED
    assert failure.in_stream
    assert failure.status_code is None


@pytest.mark.parametrize(
    ("body", "kind", "code"),
    [
        (
            {"message": "slow", "type": "tokens", "code": "rate_limit_exceeded"},
            "rate_limited",
            None,
        ),
        ({"message": "full", "code": "capacity_exceeded"}, "capacity", None),
        ({"message": "oops", "type": "server_error"}, "server_error", None),
        (
            {"message": "long", "type": "invalid_request_error", "code": "context_length_exceeded"},
            "bad_request",
            "context_length_exceeded",
        ),
        (
            {"message": "key", "type": "invalid_request_error", "code": "invalid_api_key"},
            "authentication",
            None,
        ),
        ({"status_code": 503, "message": "down"}, "server_error", None),
    ],
)
def test_groq_in_stream_error_event_by_body(
    body: dict[str, Any], kind: str, code: str | None
) -> None:
    failure = classify_failure(groq.APIError(str(body["message"]), GROQ_REQUEST, body=body))
    assert failure.kind.value == kind
    assert failure.in_stream
    if code is not None:
        assert failure.provider_code == code


def test_cerebras_in_stream_status_error_reads_status_from_body() -> None:
    body = {"status_code": 429, "error": {"message": "limit", "code": "rate_limit_exceeded"}}
    exc = cerebras_sdk.RateLimitError("limit", response=response(200), body=body)
    failure = classify_failure(exc)
    assert failure.kind is FailureKind.RATE_LIMITED
    assert failure.status_code == 429
    assert failure.in_stream
    assert failure.provider_code == "rate_limit_exceeded"


# --------------------------------------------------------------------------- through the SDKs


def _sse(*events: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)


_CHUNK = {
    "id": "c1",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "m",
    "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}}],
}


class _BreakingStream(httpx.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        yield _sse(_CHUNK)
        raise httpx.ReadError("connection reset by peer")


def _cerebras(handler: Any) -> cerebras_sdk.Cerebras:
    return cerebras_sdk.Cerebras(
        api_key="csk-test-0000000000",
        base_url="http://cerebras.test",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        max_retries=0,
        warm_tcp_connection=False,
    )


def _groq(handler: Any) -> groq.Groq:
    return groq.Groq(
        api_key="gsk_test0000000000",
        base_url="http://groq.test",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        max_retries=0,
    )


def _consume(stream: Any) -> None:
    for _ in stream:
        pass


MESSAGES: Any = [{"role": "user", "content": "hi"}]


def test_sdk_429_with_retry_after() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"message": "Too many requests", "type": "too_many_requests_error", "code": None}
        return httpx.Response(429, headers={"retry-after": "7"}, json=body)

    with pytest.raises(cerebras_sdk.RateLimitError) as info:
        _cerebras(handler).chat.completions.create(model="m", messages=MESSAGES)
    failure = classify_failure(info.value)
    assert (failure.kind, failure.retry_after, failure.in_stream) == (
        FailureKind.RATE_LIMITED,
        7.0,
        False,
    )


def test_sdk_cerebras_in_stream_error_event() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        event = {"status_code": 503, "error": {"message": "overloaded", "type": "server_error"}}
        body = _sse(_CHUNK, event)
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    stream = _cerebras(handler).chat.completions.create(model="m", messages=MESSAGES, stream=True)
    with pytest.raises(cerebras_sdk.APIStatusError) as info:
        _consume(stream)
    failure = classify_failure(info.value)
    assert (failure.kind, failure.status_code, failure.in_stream) == (
        FailureKind.SERVER_ERROR,
        503,
        True,
    )


def test_sdk_groq_in_stream_error_event() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        event = {
            "error": {"message": "Rate limit", "type": "tokens", "code": "rate_limit_exceeded"}
        }
        body = _sse(_CHUNK, event)
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    stream = _groq(handler).chat.completions.create(model="m", messages=MESSAGES, stream=True)
    with pytest.raises(groq.APIError) as info:
        _consume(stream)
    assert not isinstance(info.value, groq.APIStatusError)
    failure = classify_failure(info.value)
    assert failure.kind is FailureKind.RATE_LIMITED
    assert failure.in_stream


def test_sdk_stream_reset_escapes_raw_and_is_stream_interrupted() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=_BreakingStream()
        )

    stream = _cerebras(handler).chat.completions.create(model="m", messages=MESSAGES, stream=True)
    with pytest.raises(httpx.ReadError) as info:
        _consume(stream)
    failure = classify_failure(info.value)
    assert failure.kind is FailureKind.STREAM_INTERRUPTED


def test_sdk_connection_refused_before_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(groq.APIConnectionError) as info:
        _groq(handler).chat.completions.create(model="m", messages=MESSAGES)
    assert classify_failure(info.value).kind is FailureKind.CONNECTION


# --------------------------------------------------------------------------- wrapping


def _wrap(inner: BaseException, *outer: type[Exception]) -> BaseException:
    exc = inner
    for cls in outer:
        try:
            raise cls("wrapper") from exc
        except cls as wrapped:
            exc = wrapped
    return exc


def test_wrapped_once_and_twice() -> None:
    inner = cerebras_error(cerebras_sdk.RateLimitError, 429, headers={"retry-after": "3"})
    for depth in (1, 2):
        failure = classify_failure(_wrap(inner, *[RuntimeError] * depth))
        assert failure.kind is FailureKind.RATE_LIMITED
        assert failure.retry_after == 3.0
        assert failure.exception_type == "cerebras.cloud.sdk.RateLimitError"


def test_wrapped_three_levels_deep_is_unknown() -> None:
    inner = cerebras_error(cerebras_sdk.RateLimitError, 429)
    failure = classify_failure(_wrap(inner, RuntimeError, RuntimeError, RuntimeError))
    assert failure.kind is FailureKind.UNKNOWN


def test_implicit_context_is_walked() -> None:
    try:
        try:
            raise httpx.ReadTimeout("stall")
        except httpx.ReadTimeout:
            raise ValueError("while parsing") from None
    except ValueError as exc:
        outer = exc
    assert classify_failure(outer).kind is FailureKind.TIMEOUT


class _LeadError(Exception):
    failure_kind = "stream_interrupted"


class _BadKindError(Exception):
    failure_kind = "not-a-kind"


def test_trusted_failure_kind_keeps_details_of_the_cause() -> None:
    inner = groq_error(groq.RateLimitError, 429, headers={"retry-after": "2"})
    failure = classify_failure(_wrap(inner, _LeadError))
    assert failure.kind is FailureKind.STREAM_INTERRUPTED
    assert (failure.status_code, failure.retry_after) == (429, 2.0)
    assert failure.in_stream
    assert failure.exception_type.endswith("_LeadError")


def test_trusted_failure_kind_alone_and_invalid() -> None:
    assert classify_failure(_LeadError("x")).kind is FailureKind.STREAM_INTERRUPTED
    assert classify_failure(_BadKindError("x")).kind is FailureKind.UNKNOWN


def test_package_errors_are_trusted() -> None:
    resp = response(200)
    assert classify_failure(InvalidMessagesError("empty")).kind is FailureKind.BAD_REQUEST
    interrupted = StreamInterruptedError("reset", request=REQUEST, chunks_received=3)
    assert classify_failure(interrupted).kind is FailureKind.STREAM_INTERRUPTED
    stalled = StreamTimeoutError("stall", request=REQUEST, chunks_received=1)
    assert classify_failure(stalled).kind is FailureKind.TIMEOUT
    assert classify_failure(stalled).in_stream  # a stall after the body started
    malformed = MalformedStreamError("bad json", response=resp, chunks_received=2)
    failure = classify_failure(malformed)
    assert failure.kind is FailureKind.STREAM_INTERRUPTED
    assert failure.status_code is None


def test_trusted_kind_inside_a_wrapper_wins_over_its_base_class() -> None:
    # StreamInterruptedError is an APIConnectionError (connection); its declared kind wins.
    interrupted = StreamInterruptedError("reset", request=REQUEST, chunks_received=3)
    failure = classify_failure(_wrap(interrupted, RuntimeError))
    assert failure.kind is FailureKind.STREAM_INTERRUPTED
    assert failure.exception_type == "langchain_cerebras_router.errors.StreamInterruptedError"


def test_response_validation_error_is_stream_interrupted() -> None:
    exc = cerebras_sdk.APIResponseValidationError(response(200), body="<html>")
    assert classify_failure(exc).kind is FailureKind.STREAM_INTERRUPTED


# --------------------------------------------------------------------------- safety, shape

SECRETS = [
    "csk-9f8e7d6c5b4a39281706",
    "gsk_AbCdEf0123456789xyz",
    "sk-proj-abcdefghijklmnop",
    "s3cr3tvalue",
]


def test_messages_never_contain_keys() -> None:
    text = (
        f"Authorization: Bearer {SECRETS[0]} rejected; also {SECRETS[1]} and {SECRETS[2]}; "
        f"api_key={SECRETS[3]}"
    )
    exc = cerebras_error(cerebras_sdk.AuthenticationError, 401, message=text)
    failure = classify_failure(exc)
    for secret in SECRETS:
        assert secret not in failure.message
        assert secret not in failure.summary()
        assert secret not in json.dumps(failure.to_dict())
    assert "[REDACTED]" in failure.message


def test_redaction_leaves_ordinary_words() -> None:
    text = "task-force and risk-free numbers sk-1 stay"
    assert redact_secrets(text) == text
    assert redact_secrets("GET /v1?key=abcdef&x=1") == "GET /v1?key=[REDACTED]&x=1"


def test_long_messages_are_truncated() -> None:
    failure = classify_failure(RuntimeError("x" * 5000))
    assert len(failure.message) == 1000


def test_empty_message_uses_type_name() -> None:
    assert classify_failure(ValueError()).message == "ValueError"


@pytest.mark.parametrize(
    ("kind", "failover", "counts", "disables"),
    [
        (FailureKind.RATE_LIMITED, True, True, False),
        (FailureKind.CAPACITY, True, True, False),
        (FailureKind.SERVER_ERROR, True, True, False),
        (FailureKind.TIMEOUT, True, True, False),
        (FailureKind.CONNECTION, True, True, False),
        (FailureKind.STREAM_INTERRUPTED, True, True, False),
        (FailureKind.AUTHENTICATION, True, False, True),
        (FailureKind.BAD_REQUEST, False, False, False),
        (FailureKind.CANCELLED, False, False, False),
        (FailureKind.UNKNOWN, True, False, False),
    ],
)
def test_decision_table(kind: FailureKind, failover: bool, counts: bool, disables: bool) -> None:
    failure = Failure(kind, None, None, "m", "T")
    assert (failure.failover, failure.counts_toward_breaker, failure.disables_route) == (
        failover,
        counts,
        disables,
    )


def test_summary_and_dict() -> None:
    exc = groq_error(groq.RateLimitError, 429, headers={"retry-after": "1.5"}, message="slow down")
    failure = classify_failure(exc)
    assert failure.summary() == (
        "rate_limited (HTTP 429, retry after 1.5 s): groq.RateLimitError: slow down"
    )
    data = failure.to_dict()
    assert data["kind"] == "rate_limited"
    assert json.loads(json.dumps(data)) == data
    assert str(FailureKind.TIMEOUT) == "timeout"
    assert FailureKind("capacity") is FailureKind.CAPACITY
