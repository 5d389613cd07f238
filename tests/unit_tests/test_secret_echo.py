"""A server (or proxy) that echoes the caller's key in its errors: the key must stop here.

Neither real provider does this today, but an error's text goes to the caller, to
tracebacks and to every callback handler (LangSmith): the package redacts it on the way.
"""

from __future__ import annotations

import json
import traceback
from typing import Any

import httpx
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_groq import ChatGroq

from langchain_cerebras_router import ChatCerebras, PartialStreamError, RoutedChatModel

CEREBRAS_KEY = "csk-echoed-canary-1234567890"
GROQ_KEY = "gsk_echoed-canary-0987654321"


def _echo_server(mode: str) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        key = request.headers.get("authorization", "").partition(" ")[2]
        if mode == "stream":
            delta = {"role": "assistant", "content": "Hel"}
            chunk = {"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m",
                     "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}  # fmt: skip
            error = {"error": {"message": f"upstream failed for key {key}", "type": "server_error"}}
            body = f"data: {json.dumps(chunk)}\n\ndata: {json.dumps(error)}\n\n"
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
        error = {"message": f"bad request from key {key}", "type": "invalid_request_error"}
        return httpx.Response(400, json={"error": error, **error})

    return httpx.MockTransport(answer)


def _members(mode: str) -> dict[str, Any]:
    return {
        "cerebras": ChatCerebras(
            api_key=CEREBRAS_KEY,
            base_url="http://echo",
            http_client=httpx.Client(transport=_echo_server(mode)),
        ),
        "groq": ChatGroq(
            model="llama-3.3-70b-versatile",
            api_key=GROQ_KEY,  # type: ignore[arg-type]
            base_url="http://echo",
            http_client=httpx.Client(transport=_echo_server(mode)),
        ),
    }


class _ErrorRecorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.errors: list[str] = []

    def on_chain_error(self, error: BaseException, **kwargs: Any) -> None:
        self.errors.append(f"{error!s} {error!r}")

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.errors.append(f"{error!s} {error!r}")


def _texts(error: BaseException, recorder: _ErrorRecorder) -> str:
    return "".join(traceback.format_exception(error)) + " ".join(recorder.errors)


@pytest.mark.parametrize("route", ["cerebras", "groq"])
def test_a_bad_request_reaches_the_caller_and_the_trace_without_the_key(route: str) -> None:
    members = _members("400")
    recorder = _ErrorRecorder()
    router = RoutedChatModel(routes={route: members[route]})
    with pytest.raises(Exception, match="bad request from key") as info:
        router.invoke("hi", config={"callbacks": [recorder]})
    assert type(info.value).__name__ == "BadRequestError"  # still the SDK's own type
    assert recorder.errors  # the attempt's run and the router's run got the error
    text = _texts(info.value, recorder)
    assert CEREBRAS_KEY not in text and GROQ_KEY not in text


def test_chat_cerebras_errors_do_not_repeat_an_echoed_key() -> None:
    recorder = _ErrorRecorder()
    with pytest.raises(Exception, match="bad request from key") as info:
        _members("400")["cerebras"].invoke("hi", config={"callbacks": [recorder]})
    assert CEREBRAS_KEY not in _texts(info.value, recorder)


@pytest.mark.parametrize("route", ["cerebras", "groq"])
def test_a_partial_stream_error_and_its_cause_do_not_carry_the_key(route: str) -> None:
    router = RoutedChatModel(routes={route: _members("stream")[route]})
    recorder = _ErrorRecorder()
    with pytest.raises(PartialStreamError) as info:
        list(router.stream("hi", config={"callbacks": [recorder]}))
    text = _texts(info.value, recorder)
    assert "upstream failed for key" in text
    assert CEREBRAS_KEY not in text and GROQ_KEY not in text


# ------------------------------------------------------------------ URLs and messages


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:hunter2@cache:6379/0", "redis://***@cache:6379/0"),
        ("http://proxyuser:pw@127.0.0.1:8080/v1", "http://***@127.0.0.1:8080/v1"),
        ("rediss://cache:6380/0?password=hunter2", "rediss://cache:6380/0?password=[REDACTED]"),
        ("redis//:hunter2@cache/0", "***@cache/0"),  # no authority found: masked anyway
        ("https://api.cerebras.ai", "https://api.cerebras.ai"),
    ],
)
def test_urls_are_shown_without_credentials(url: str, shown: str) -> None:
    from langchain_cerebras_router.redaction import redact_url

    assert redact_url(url) == shown


def test_cli_targets_show_their_endpoint_without_credentials() -> None:
    from pydantic import SecretStr

    from langchain_cerebras_router.cli_targets import Target

    target = Target("cerebras", "gpt-oss-120b", SecretStr("k"), "http://user:pw@proxy:8080")
    assert target.endpoint == "http://***@proxy:8080"
    assert target.chat_model().base_url == "http://user:pw@proxy:8080"  # still used as given


def test_an_unsupported_state_url_is_named_without_its_password() -> None:
    with pytest.raises(ValueError, match="unsupported router state") as info:
        RoutedChatModel(routes=_members("400"), state="redis//:hunter2@cache/0")
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("authorization=Bearer%20csk-abcdefgh1234", "authorization=Bearer%20[REDACTED]"),
        ("CSK-ABCDEFGH12345", "[REDACTED]"),
        ("Incorrect API key provided: gsk_SECR****4321", "Incorrect API key provided: [REDACTED]"),
        ("token=abc123secret password=hunter22", "token=[REDACTED] password=[REDACTED]"),
        ("max_tokens=5, completion_tokens: 12", "max_tokens=5, completion_tokens: 12"),
    ],
)
def test_more_spellings_of_a_secret_are_redacted(text: str, redacted: str) -> None:
    from langchain_cerebras_router.redaction import redact_secrets

    assert redact_secrets(text) == redacted
