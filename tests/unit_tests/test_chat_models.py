"""Behaviour of ``ChatCerebras``, offline, against a ``httpx.MockTransport`` fake of Cerebras.

Sections follow the behaviours pinned down: 1 request building, 2 the six call paths and
streams, 3 tool calling, 5 structured output, 6 errors, 7 secrets and serialisation,
8 clients, 9 LangSmith params. Message conversion (4) and stream-chunk conversion are in
``test_message_conversion.py``; the fake server is ``mock_cerebras.py``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any, Literal

import httpx
import pytest
from cerebras.cloud.sdk import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    AsyncCerebras,
    AuthenticationError,
    BadRequestError,
    Cerebras,
    InternalServerError,
    RateLimitError,
)
from langchain_core.exceptions import OutputParserException
from langchain_core.load import dumps, loads
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from langchain_cerebras_router import ChatCerebras
from langchain_cerebras_router import chat_models as chat_models_module
from langchain_cerebras_router.errors import (
    InvalidMessagesError,
    InvalidToolChoiceError,
    MalformedResponseError,
    MalformedStreamError,
    StreamInterruptedError,
    StreamTimeoutError,
)
from langchain_cerebras_router.failures import FailureKind, classify_failure
from langchain_cerebras_router.strict_schema import StrictSchemaError
from langchain_cerebras_router.testing import Emulator
from tests.unit_tests.mock_cerebras import (
    CALL_PATHS,
    MODEL,
    PATHS,
    Answer,
    ErrorReply,
    FakeCerebras,
    RawStream,
    chunks_of,
    expected_summary,
    run,
    summary,
    tool_call,
)

LABEL = f"cerebras/{MODEL}"
CANARY = "csk-CANARY-do-not-leak-1234567890"


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CEREBRAS_API_KEY", raising=False)
    monkeypatch.delenv("CEREBRAS_BASE_URL", raising=False)


@pytest.fixture
def fake() -> FakeCerebras:
    return FakeCerebras()


# ------------------------------------------------------------------ 1. request building


@tool
def get_weather(city: str) -> str:
    """Weather in a city."""
    return "sunny"


class GetTime(BaseModel):
    """Current time in a zone."""

    zone: str = Field(min_length=2, description="IANA zone")
    precise: bool = False


def test_defaults_send_only_model_and_messages(fake: FakeCerebras) -> None:
    fake.chat_model().invoke("hi")
    assert fake.last_body == {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}


def test_constructor_fields_map_to_the_wire(fake: FakeCerebras) -> None:
    fields = {"temperature": 0.3, "top_p": 0.9, "seed": 42, "stop": ["END"],
              "reasoning_effort": "low", "reasoning_format": "parsed",
              "disable_reasoning": False, "service_tier": "flex"}  # fmt: skip
    fake.chat_model(max_tokens=77, **fields).invoke("hi")
    body = fake.last_body
    assert body.pop("messages") == [{"role": "user", "content": "hi"}]
    assert body == {"model": MODEL, "max_completion_tokens": 77, **fields}


@pytest.mark.parametrize("reasoning_format", ["parsed", "text_parsed", "raw", "hidden", "none"])
def test_every_sdk_reasoning_format_is_accepted(fake: FakeCerebras, reasoning_format: str) -> None:
    fake.chat_model(reasoning_format=reasoning_format).invoke("hi")
    assert fake.last_body["reasoning_format"] == reasoning_format


def test_aliases_are_accepted(fake: FakeCerebras) -> None:
    llm = fake.chat_model(model_name="llama3.1-8b", max_completion_tokens=5, stop_sequences="X")
    llm.invoke("hi")
    assert (fake.last_body["model"], fake.last_body["max_completion_tokens"]) == ("llama3.1-8b", 5)
    assert fake.last_body["stop"] == "X"


@pytest.mark.parametrize("path", PATHS)
async def test_per_call_overrides(fake: FakeCerebras, path: str) -> None:
    llm = fake.chat_model(temperature=0.1, max_tokens=10, stop=["A"])
    message = await run(llm, path, model="llama3.1-8b", temperature=0.9, max_tokens=5, stop=["B"])
    body = fake.last_body
    assert (body["model"], body["temperature"], body["stop"]) == ("llama3.1-8b", 0.9, ["B"])
    assert body["max_completion_tokens"] == 5
    assert "max_tokens" not in body
    assert message.response_metadata["model_name"] == "llama3.1-8b"


async def test_model_name_is_what_the_server_reports() -> None:
    fake = FakeCerebras(default=Answer(model="gpt-oss-120b-2026-10"))
    for path in CALL_PATHS:
        message = await run(fake.chat_model(), path)
        assert message.response_metadata["model_name"] == "gpt-oss-120b-2026-10", path


def test_model_kwargs_and_unknown_kwargs_reach_the_body(fake: FakeCerebras) -> None:
    llm = fake.chat_model(
        model_kwargs={"prompt_cache_key": "conversation-1"},
        clear_thinking=True,
        vendor_flag="on",  # unknown to the SDK's create(): must travel through extra_body
        extra_body={"raw_field": 1},
    )
    assert llm.model_kwargs == {
        "prompt_cache_key": "conversation-1",
        "clear_thinking": True,
        "vendor_flag": "on",
    }
    llm.invoke("hi", per_call_flag=2)
    body = fake.last_body
    assert body["prompt_cache_key"] == "conversation-1"
    assert body["clear_thinking"] is True
    assert (body["vendor_flag"], body["raw_field"], body["per_call_flag"]) == ("on", 1, 2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"model_kwargs": {"temperature": 0.1}}, "constructor arguments"),
        ({"vendor_flag": 1, "model_kwargs": {"vendor_flag": 2}}, "given twice"),
    ],
)
def test_model_kwargs_conflicts_are_rejected(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ChatCerebras(api_key="k", **kwargs)


@pytest.mark.parametrize("path", ["stream", "astream"])
async def test_streaming_requests_usage(fake: FakeCerebras, path: str) -> None:
    await run(fake.chat_model(), path)
    assert fake.last_body["stream"] is True
    assert fake.last_body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("path", ["invoke", "ainvoke"])
async def test_streaming_flag_makes_invoke_stream(fake: FakeCerebras, path: str) -> None:
    message = await run(fake.chat_model(streaming=True), path)
    assert fake.last_body["stream"] is True
    assert summary(message) == expected_summary(Answer())


def test_catalogue_resolution(fake: FakeCerebras, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="langchain_cerebras_router")
    llm = fake.chat_model(model="llama-3.3-70b-versatile")
    assert llm.model_id == "gpt-oss-120b"
    llm.invoke("hi")
    assert fake.last_body["model"] == "gpt-oss-120b"
    lines = [r.getMessage() for r in caplog.records]
    assert any("llama-3.3-70b-versatile" in line and "gpt-oss-120b" in line for line in lines)


def test_default_headers_are_sent(fake: FakeCerebras) -> None:
    fake.chat_model(default_headers={"X-App-Trace": "trace-7"}).invoke("hi")
    headers = fake.chat_requests[-1].headers
    assert headers["x-app-trace"] == "trace-7"
    assert headers["authorization"] == "Bearer csk-unit-test-key"


class FreeForm(BaseModel):
    scores: dict[str, int]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda llm: llm.invoke([]), InvalidMessagesError),
        (lambda llm: llm.bind_tools([get_weather], tool_choice="nope"), InvalidToolChoiceError),
        (lambda llm: llm.with_structured_output(FreeForm), StrictSchemaError),
        (
            lambda llm: llm.invoke([HumanMessage("hi"), ToolMessage("sunny", tool_call_id="c9")]),
            InvalidMessagesError,
        ),
    ],
    ids=["empty", "tool_choice", "strict_schema", "orphan_tool_message"],
)
def test_bad_input_sends_no_request(
    fake: FakeCerebras, call: Callable[[ChatCerebras], Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        call(fake.chat_model())
    assert fake.requests == []


# ------------------------------------------------------------------ 2. all call paths agree

SCENARIOS = {
    "text": Answer(),
    "reasoning": Answer(reasoning="The user greets; greet back briefly.", content="Hi there!"),
    "tool_calls": Answer(
        content="",
        tool_calls=(
            tool_call("get_weather", {"city": "Paris"}, "call_a"),
            tool_call("get_time", {"zone": "CET"}, "call_b"),
        ),
    ),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("path", PATHS)
async def test_every_path_gives_the_same_message(scenario: str, path: str) -> None:
    answer = SCENARIOS[scenario]
    fake = FakeCerebras(default=answer)
    message = await run(fake.chat_model(), path)
    assert summary(message) == expected_summary(answer)


@pytest.mark.parametrize("where", ["constructor", "call"])
@pytest.mark.parametrize("path", ["stream", "astream"])
async def test_stream_usage_off(fake: FakeCerebras, path: str, where: str) -> None:
    llm = fake.chat_model(stream_usage=False) if where == "constructor" else fake.chat_model()
    kwargs = {"stream_usage": False} if where == "call" else {}
    chunks = [c async for c in chunks_of(llm, path, **kwargs)]
    assert all(c.usage_metadata is None for c in chunks)
    assert "stream_options" not in fake.last_body
    assert "stream_usage" not in fake.last_body


@pytest.mark.parametrize("done_line", [False, True], ids=["cerebras_no_done", "groq_done"])
@pytest.mark.parametrize("path", ["stream", "astream"])
async def test_stream_end_with_or_without_done_line(path: str, done_line: bool) -> None:
    answer = Answer(done_line=done_line)
    fake = FakeCerebras(default=answer)
    message = await run(fake.chat_model(), path)
    assert summary(message) == expected_summary(answer)


# ------------------------------------------------------------------ 3. tool calling


def _named(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


@pytest.mark.parametrize(
    ("tools", "choice", "wire"),
    [
        ([get_weather, GetTime], "auto", "auto"),
        ([get_weather, GetTime], "none", "none"),
        ([get_weather, GetTime], "any", "required"),
        ([get_weather, GetTime], "required", "required"),
        ([get_weather, GetTime], "GetTime", _named("GetTime")),
        ([get_weather], True, _named("get_weather")),
        ([get_weather, GetTime], _named("get_weather"), _named("get_weather")),
    ],
)
def test_tool_choice_on_the_wire(
    fake: FakeCerebras, tools: list[Any], choice: Any, wire: Any
) -> None:
    fake.chat_model().bind_tools(tools, tool_choice=choice).invoke("weather?")
    body = fake.last_body
    assert body["tool_choice"] == wire
    assert [t["function"]["name"] for t in body["tools"]] == [
        getattr(t, "name", getattr(t, "__name__", None)) for t in tools
    ]


def test_no_tool_choice_is_not_sent(fake: FakeCerebras) -> None:
    fake.chat_model().bind_tools([get_weather]).invoke("hi")
    assert "tool_choice" not in fake.last_body
    assert "parallel_tool_calls" not in fake.last_body


@pytest.mark.parametrize(
    ("tools", "choice"),
    [
        ([get_weather], "get_time"),
        ([get_weather, GetTime], True),
        ([get_weather], {"type": "function", "function": {"name": "nope"}}),
        ([get_weather], {"kind": "whatever"}),
        ([get_weather], 3),
        ([], "required"),
        ([], "any"),
    ],
    ids=[
        "unknown_name",
        "true_with_two_tools",
        "unknown_dict_name",
        "bad_dict",
        "int",
        "required_without_tools",
        "any_without_tools",
    ],
)
def test_invalid_tool_choice(fake: FakeCerebras, tools: list[Any], choice: Any) -> None:
    with pytest.raises(InvalidToolChoiceError):
        fake.chat_model().bind_tools(tools, tool_choice=choice)
    assert fake.requests == []


def test_parallel_tool_calls_and_strict_reach_the_body(fake: FakeCerebras) -> None:
    llm = fake.chat_model().bind_tools([GetTime], parallel_tool_calls=False, strict=True)
    llm.invoke("time?")
    body = fake.last_body
    assert body["parallel_tool_calls"] is False
    function = body["tools"][0]["function"]
    assert function["strict"] is True
    parameters = function["parameters"]
    assert parameters["additionalProperties"] is False
    assert sorted(parameters["required"]) == ["precise", "zone"]
    assert "minLength" not in json.dumps(parameters)


# ------------------------------------------------------------------ 5. structured output


class Joke(BaseModel):
    """A joke."""

    setup: str = Field(description="The question")
    punchline: str
    rating: int = 5


class JokeDict(TypedDict):
    """A joke."""

    setup: str
    punchline: str


JOKE_SCHEMA: dict[str, Any] = {
    "title": "Joke",
    "description": "A joke.",
    "type": "object",
    "properties": {"setup": {"type": "string"}, "punchline": {"type": "string"}},
    "required": ["setup", "punchline"],
}
StructuredMethod = Literal["json_schema", "function_calling", "json_mode"]
JOKE_JSON = {"setup": "Why?", "punchline": "Because."}
SCHEMAS: dict[str, Any] = {"pydantic": Joke, "typeddict": JokeDict, "dict": JOKE_SCHEMA}


def _parsed_as_dict(value: Any) -> dict[str, Any]:
    return value.model_dump(exclude={"rating"}) if isinstance(value, BaseModel) else value


@pytest.mark.parametrize("kind", list(SCHEMAS))
def test_structured_output_json_schema(kind: str) -> None:
    fake = FakeCerebras(default=Answer(content=json.dumps(JOKE_JSON)))
    parsed = fake.chat_model().with_structured_output(SCHEMAS[kind]).invoke("joke")
    assert isinstance(parsed, Joke if kind == "pydantic" else dict)
    assert _parsed_as_dict(parsed) == JOKE_JSON
    body = fake.last_body
    assert "tools" not in body
    assert "ls_structured_output_format" not in body
    assert body["response_format"]["type"] == "json_schema"
    spec = body["response_format"]["json_schema"]
    assert (spec["name"], spec["strict"]) == ("Joke" if kind != "typeddict" else "JokeDict", True)
    assert spec["schema"]["additionalProperties"] is False
    assert sorted(spec["schema"]["required"]) == sorted(spec["schema"]["properties"])
    assert '"default"' not in json.dumps(spec["schema"])  # sanitised: Joke.rating = 5


def test_structured_output_null_for_optional_field_lets_the_default_apply() -> None:
    fake = FakeCerebras(default=Answer(content=json.dumps({**JOKE_JSON, "rating": None})))
    parsed = fake.chat_model().with_structured_output(Joke).invoke("joke")
    assert parsed == Joke(**JOKE_JSON, rating=5)


class RateJoke(BaseModel):
    """Rate a joke."""

    joke: str
    rating: int = 5
    note: str | None  # required, and null is a real value


@pytest.mark.parametrize("path", CALL_PATHS)
async def test_strict_tool_calls_drop_nulls_that_only_mean_default(path: str) -> None:
    """``bind_tools(strict=True)``: ``rating: int = 5`` sent as null means the default."""
    call = tool_call("RateJoke", {"joke": "j", "rating": None, "note": None})
    fake = FakeCerebras(default=Answer(content="", tool_calls=(call,)))
    llm = fake.chat_model().bind_tools([RateJoke], strict=True)
    message = await run(llm, path)
    assert message.tool_calls[0]["args"] == {"joke": "j", "note": None}
    assert RateJoke(**message.tool_calls[0]["args"]).rating == 5
    assert "strict_tool_schemas" not in fake.last_body
    assert fake.last_body["tools"][0]["function"]["strict"] is True


async def test_tool_calls_keep_nulls_without_strict() -> None:
    call = tool_call("RateJoke", {"joke": "j", "rating": None, "note": None})
    fake = FakeCerebras(default=Answer(content="", tool_calls=(call,)))
    message = await run(fake.chat_model().bind_tools([RateJoke]), "invoke")
    assert message.tool_calls[0]["args"] == {"joke": "j", "rating": None, "note": None}


def test_strict_function_calling_null_for_optional_field_lets_the_default_apply() -> None:
    """Strict tools make ``rating: int = 5`` nullable and required; a null means "default"."""
    call = tool_call("Joke", {**JOKE_JSON, "rating": None})
    fake = FakeCerebras(default=Answer(content="", tool_calls=(call,)))
    runnable = fake.chat_model().with_structured_output(
        Joke, method="function_calling", strict=True
    )
    assert runnable.invoke("joke") == Joke(**JOKE_JSON, rating=5)
    assert fake.last_body["tools"][0]["function"]["strict"] is True


@pytest.mark.parametrize("kind", list(SCHEMAS))
def test_structured_output_function_calling(kind: str) -> None:
    name = "JokeDict" if kind == "typeddict" else "Joke"
    fake = FakeCerebras(default=Answer(content="", tool_calls=(tool_call(name, JOKE_JSON),)))
    runnable = fake.chat_model().with_structured_output(SCHEMAS[kind], method="function_calling")
    parsed = runnable.invoke("joke")
    assert _parsed_as_dict(parsed) == JOKE_JSON
    body = fake.last_body
    assert body["tool_choice"] == _named(name)
    assert [t["function"]["name"] for t in body["tools"]] == [name]
    assert "response_format" not in body


@pytest.mark.parametrize("kind", list(SCHEMAS))
def test_structured_output_json_mode(kind: str) -> None:
    fake = FakeCerebras(default=Answer(content=json.dumps(JOKE_JSON)))
    parsed = fake.chat_model().with_structured_output(SCHEMAS[kind], method="json_mode").invoke("j")
    assert _parsed_as_dict(parsed) == JOKE_JSON
    assert fake.last_body["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
@pytest.mark.parametrize("valid", [True, False])
def test_structured_output_include_raw(method: StructuredMethod, valid: bool) -> None:
    # invalid: broken JSON for text methods; JSON failing the schema for function calling
    text = json.dumps(JOKE_JSON) if valid else '{"setup": "Why?"'
    if method == "function_calling" and not valid:
        text = '{"setup": "Why?"}'
    answer = (
        Answer(content="", tool_calls=(tool_call("Joke", text),))
        if method == "function_calling"
        else Answer(content=text)
    )
    fake = FakeCerebras(default=answer)
    result: Any = (
        fake.chat_model()
        .with_structured_output(Joke, method=method, include_raw=True)
        .invoke("joke")
    )
    assert set(result) == {"raw", "parsed", "parsing_error"}
    assert isinstance(result["raw"], AIMessage)
    if valid:
        assert result["parsed"] == Joke(**JOKE_JSON)
        assert result["parsing_error"] is None
    else:
        assert result["parsed"] is None
        assert isinstance(result["parsing_error"], Exception)


def test_function_calling_broken_json_reports_a_parsing_error() -> None:
    fake = FakeCerebras(default=Answer(content="", tool_calls=(tool_call("Joke", '{"setup'),)))
    runnable = fake.chat_model().with_structured_output(
        Joke, method="function_calling", include_raw=True
    )
    result: Any = runnable.invoke("joke")
    assert result["raw"].invalid_tool_calls
    assert isinstance(result["parsing_error"], Exception)


def test_structured_output_parse_error_raises_without_include_raw() -> None:
    fake = FakeCerebras(default=Answer(content="not json"))
    with pytest.raises(OutputParserException, match="not json"):
        fake.chat_model().with_structured_output(Joke).invoke("joke")


def test_schema_that_cannot_be_strict(fake: FakeCerebras) -> None:
    with pytest.raises(StrictSchemaError, match="scores"):
        fake.chat_model().with_structured_output(FreeForm)
    assert fake.requests == []
    fake.chat_model().with_structured_output(FreeForm, strict=False)  # opting out works
    assert fake.requests == []


# ------------------------------------------------------------------ 6. errors


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
        (401, AuthenticationError),
        (400, BadRequestError),
    ],
)
@pytest.mark.parametrize("path", CALL_PATHS)
async def test_http_errors_are_sdk_errors_naming_the_model(
    path: str, status: int, error: type[APIError]
) -> None:
    fake = FakeCerebras(ErrorReply(status, "nope", headers={"retry-after": "0"}))
    with pytest.raises(error) as info:
        await run(fake.chat_model(api_key=CANARY), path)
    assert str(info.value).startswith(f"{LABEL}: ")
    assert CANARY not in str(info.value)
    assert len(fake.chat_requests) == 1  # max_retries=0: no SDK retry


def test_max_retries_is_handed_to_the_sdk() -> None:
    retry_soon = {"retry-after-ms": "1"}
    fake = FakeCerebras(ErrorReply(503, headers=retry_soon), ErrorReply(429, headers=retry_soon))
    message = fake.chat_model(max_retries=2).invoke("hi")
    assert message.content == Answer().content
    assert len(fake.chat_requests) == 3


MID_STREAM_FAILURES = [
    (httpx.ReadError, StreamInterruptedError, APIConnectionError),
    (httpx.RemoteProtocolError, StreamInterruptedError, APIConnectionError),
    (httpx.ReadTimeout, StreamTimeoutError, APITimeoutError),
]


def _partial_stream() -> tuple[str, ...]:
    chunks = Answer(content="Hello").chunks(MODEL, include_usage=True)
    return tuple(json.dumps(c) for c in chunks[:2])  # role chunk + "Hell"


async def _drain(llm: ChatCerebras, path: str, *, into: list[str]) -> None:
    async for chunk in chunks_of(llm, path):
        into.append(str(chunk.content))


@pytest.mark.parametrize(("failure", "error", "sdk_error"), MID_STREAM_FAILURES)
@pytest.mark.parametrize("path", ["stream", "astream"])
async def test_mid_stream_transport_failures_are_typed(
    path: str, failure: type[Exception], error: type[Exception], sdk_error: type[Exception]
) -> None:
    fake = FakeCerebras(RawStream(_partial_stream(), then_raise=failure))
    received: list[str] = []
    with pytest.raises(error) as info:
        await _drain(fake.chat_model(), path, into=received)
    assert isinstance(info.value, sdk_error)
    assert isinstance(info.value.__cause__, failure)
    assert info.value.chunks_received == 2  # type: ignore[attr-defined]
    assert LABEL in str(info.value)
    assert "".join(received) == "Hell"


@pytest.mark.parametrize("path", ["invoke", "ainvoke"])
async def test_mid_stream_failure_through_streaming_invoke(path: str) -> None:
    fake = FakeCerebras(RawStream(_partial_stream(), then_raise=httpx.ReadError))
    with pytest.raises(StreamInterruptedError):
        await run(fake.chat_model(streaming=True), path)


@pytest.mark.parametrize("path", ["invoke", "ainvoke"])
async def test_body_read_failure_without_streaming_is_a_connection_error(path: str) -> None:
    fake = FakeCerebras(RawStream(_partial_stream(), then_raise=httpx.ReadError))
    with pytest.raises(APIConnectionError) as info:
        await run(fake.chat_model(), path)
    assert str(info.value).startswith(LABEL)


@pytest.mark.parametrize("path", ["stream", "astream"])
async def test_malformed_stream_line(path: str) -> None:
    fake = FakeCerebras(RawStream((_partial_stream()[0], "{broken")))
    with pytest.raises(MalformedStreamError) as info:
        await run(fake.chat_model(), path)
    assert isinstance(info.value, APIResponseValidationError)
    assert info.value.chunks_received == 1
    assert LABEL in str(info.value)


@pytest.mark.parametrize("path", ["invoke", "ainvoke"])
async def test_malformed_answer_body_is_a_typed_server_error(emulator: Emulator, path: str) -> None:
    """A 200 whose body is not JSON: typed and labelled as for streams, not a bare JSON error."""
    llm = ChatCerebras(api_key="k", base_url=emulator.base_url, model=MODEL, max_retries=0)
    emulator.inject("malformed_json")
    with pytest.raises(MalformedResponseError) as info:
        await run(llm, path)
    assert isinstance(info.value, APIResponseValidationError)
    assert str(info.value).startswith(f"cerebras/{MODEL}: malformed response body")
    assert classify_failure(info.value).kind is FailureKind.SERVER_ERROR


@pytest.mark.parametrize("path", ["invoke", "ainvoke"])
async def test_an_event_stream_answering_an_invoke_is_a_typed_server_error(path: str) -> None:
    """A 200 event stream where a JSON object was asked for (a confused proxy)."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content='data: {"x": 1}\n\n'
        )

    transport = httpx.MockTransport(answer)
    llm = ChatCerebras(
        api_key="k",
        base_url="http://proxy",
        http_client=httpx.Client(transport=transport),
        http_async_client=httpx.AsyncClient(transport=transport),
    )
    with pytest.raises(MalformedResponseError, match="not a JSON object") as info:
        await run(llm, path)
    assert str(info.value).startswith(f"cerebras/{llm.model}: malformed response body")
    assert classify_failure(info.value).kind is FailureKind.SERVER_ERROR


@pytest.mark.parametrize("path", CALL_PATHS)
async def test_in_stream_error_event_raises_the_typed_error(path: str) -> None:
    event = {"status_code": 429, "error": {"message": "Too many tokens", "type": "rate_limit"}}
    fake = FakeCerebras(RawStream((*_partial_stream(), json.dumps(event))))
    llm = fake.chat_model(streaming=True) if path in ("invoke", "ainvoke") else fake.chat_model()
    with pytest.raises(RateLimitError, match="Too many tokens") as info:
        await run(llm, path)
    assert str(info.value).startswith(f"{LABEL}: ")


# ------------------------------------------------------------------ 7. secrets


async def _failure_texts(llm: ChatCerebras, fake: FakeCerebras) -> list[str]:
    """Provoke every failure kind and return the text of each exception."""
    event = {"status_code": 429, "error": {"message": "slow down"}}
    fake.queue(
        ErrorReply(401, "Wrong API key"),
        ErrorReply(429),
        ErrorReply(500),
        RawStream(_partial_stream(), then_raise=httpx.ReadError),
        RawStream(_partial_stream(), then_raise=httpx.ReadTimeout),
        RawStream((_partial_stream()[0], "{broken")),
        RawStream((*_partial_stream(), json.dumps(event))),
    )
    calls: list[Callable[[], Any]] = [
        *[lambda: llm.invoke("hi")] * 3,  # 401, 429, 500
        *[lambda: list(llm.stream("hi"))] * 4,  # reset, stall, broken line, error event
        lambda: llm.invoke([]),
        lambda: llm.bind_tools([get_weather], tool_choice="nope"),
        lambda: llm.with_structured_output(FreeForm),
        lambda: ChatCerebras(api_key=""),
    ]
    texts: list[str] = []
    for call in calls:
        with pytest.raises(Exception) as info:
            call()
        texts += [
            str(info.value),
            repr(info.value),
            "".join(traceback.format_exception(info.value)),
        ]
    fake.queue(ErrorReply(429), RawStream(_partial_stream(), then_raise=httpx.RemoteProtocolError))
    for path in ("ainvoke", "astream"):
        with pytest.raises(APIError) as async_info:
            await run(llm, path)
        texts += [str(async_info.value), repr(async_info.value)]
    return texts


async def test_canary_key_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeCerebras()
    llm = fake.chat_model(api_key=CANARY)
    surfaces = [repr(llm), str(llm), llm.model_dump_json(), dumps(llm), dumps(llm, pretty=True),
                str(llm.model_dump()), repr(llm.bind_tools([get_weather]))]  # fmt: skip
    llm.invoke("hi")
    surfaces += await _failure_texts(llm, fake)
    assert fake.chat_requests[0].headers["authorization"] == f"Bearer {CANARY}"  # it was used
    assert len(fake.chat_requests) == 10
    logged = [f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records]
    assert any("cerebras" in line.lower() for line in logged)  # the SDK did log at DEBUG
    leaks = [text for text in surfaces + logged if CANARY in text]
    assert leaks == []


@pytest.mark.parametrize(
    "bad",
    [
        {"foo": 1, "model_kwargs": {"foo": 2}},
        {"model_kwargs": {"temperature": 1}},
        {"model": "a", "model_name": "b"},
        {"temperature": "hot"},
    ],
)
@pytest.mark.parametrize("cls", ["ChatCerebras", "RoutedChatModel"])
def test_constructor_errors_do_not_print_the_key(bad: dict[str, Any], cls: str) -> None:
    """Pydantic prints a model validator's whole input, where the key is still plain text."""
    from langchain_cerebras_router import RoutedChatModel

    if cls == "ChatCerebras":
        make: Any = functools.partial(ChatCerebras, api_key=CANARY)
    else:
        make = functools.partial(RoutedChatModel, routes=[FakeCerebras().chat_model()])
        bad = {**bad, "cerebras_api_key": CANARY}
    if cls == "RoutedChatModel" and "model_kwargs" in bad:
        pytest.skip("the router sends model_kwargs with every call; it checks none of them")
    with pytest.raises(ValueError) as info:
        make(**bad)
    assert CANARY not in str(info.value) and CANARY not in repr(info.value)


@pytest.mark.parametrize("cls", ["ChatCerebras", "RoutedChatModel"])
def test_a_setting_given_under_both_its_names_must_agree(cls: str) -> None:
    from langchain_cerebras_router import RoutedChatModel

    routes = {"routes": [FakeCerebras().chat_model()]} if cls == "RoutedChatModel" else {}
    make: Any = RoutedChatModel if cls == "RoutedChatModel" else ChatCerebras
    with pytest.raises(
        ValueError, match=r"model=\.\.\. and model_name=\.\.\. name the same setting"
    ):
        make(api_key="k", model="gpt-oss-120b", model_name="llama3.1-8b", **routes)
    same = make(api_key="k", model="gpt-oss-120b", model_name="gpt-oss-120b", **routes)
    assert same.model == "gpt-oss-120b"


def test_client_cache_does_not_hold_the_raw_key() -> None:
    llm = FakeCerebras().chat_model(api_key=CANARY)
    llm.invoke("hi")
    assert CANARY not in repr(llm.__pydantic_private__)


def test_serialization_round_trip() -> None:
    llm = ChatCerebras(api_key=CANARY, model="llama3.1-8b", temperature=0.2, max_tokens=64,
                       stop=["END"], reasoning_effort="low", default_headers={"X-App": "t"},
                       model_kwargs={"prompt_cache_key": "k"}, max_retries=1)  # fmt: skip
    text = dumps(llm)
    assert CANARY not in text
    loaded = loads(
        text,
        allowed_objects=[ChatCerebras],
        valid_namespaces=["langchain_cerebras_router"],
        secrets_map={"CEREBRAS_API_KEY": CANARY},
    )
    assert isinstance(loaded, ChatCerebras)
    assert loaded.model_dump() == llm.model_dump()
    assert loaded.api_key is not None
    assert loaded.api_key.get_secret_value() == CANARY
    assert dumps(loaded) == text


# ------------------------------------------------------------------ 8. clients


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count SDK client constructions made by ChatCerebras."""
    counts = {"sync": 0, "async": 0}

    class CountingCerebras(Cerebras):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            counts["sync"] += 1
            super().__init__(*args, **kwargs)

    class CountingAsyncCerebras(AsyncCerebras):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            counts["async"] += 1
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(chat_models_module, "Cerebras", CountingCerebras)
    monkeypatch.setattr(chat_models_module, "AsyncCerebras", CountingAsyncCerebras)
    return counts


def test_sync_client_is_built_once(fake: FakeCerebras, built: dict[str, int]) -> None:
    llm = fake.chat_model()
    llm.invoke("hi")
    list(llm.stream("hi"))
    llm.batch(["a", "b", "c"])
    llm.warm_up()
    assert built == {"sync": 1, "async": 0}
    assert len(fake.chat_requests) == 5


def test_async_client_per_event_loop(fake: FakeCerebras, built: dict[str, int]) -> None:
    llm = fake.chat_model()

    async def three_calls() -> str:
        await llm.ainvoke("hi")
        [chunk async for chunk in llm.astream("hi")]
        return str((await llm.ainvoke("again")).content)

    assert asyncio.run(three_calls()) == Answer().content
    assert built["async"] == 1
    assert asyncio.run(three_calls()) == Answer().content  # a new loop: a new client, no error
    assert built == {"sync": 0, "async": 2}


def test_copies_with_another_config_keep_their_own_clients(
    fake: FakeCerebras, built: dict[str, int]
) -> None:
    """A model and its copy (the router's, with SDK retries off) share the client caches.

    Used in turn, each keeps its own client: one per configuration (and per event loop),
    not a new client and connection pool on every switch.
    """
    llm = fake.chat_model(max_retries=2)
    copy = llm.model_copy(update={"max_retries": 0})

    async def alternate() -> None:
        for _ in range(3):
            await llm.ainvoke("hi")
            await copy.ainvoke("hi")

    asyncio.run(alternate())
    for _ in range(3):
        llm.invoke("hi")
        copy.invoke("hi")
    assert built == {"sync": 2, "async": 2}
    assert len(fake.chat_requests) == 12


def test_an_httpx_timeout_object_is_accepted(fake: FakeCerebras) -> None:
    llm = fake.chat_model(timeout=httpx.Timeout(10.0, connect=2.0))
    assert llm.invoke("hi").content == Answer().content
    assert asyncio.run(llm.ainvoke("hi")).content == Answer().content


def test_a_copy_given_its_own_http_clients_uses_them(fake: FakeCerebras) -> None:
    llm = fake.chat_model()
    llm.invoke("hi")
    asyncio.run(llm.ainvoke("hi"))
    other = FakeCerebras()
    copy = llm.model_copy(
        update={"http_client": other.client(), "http_async_client": other.async_client()}
    )
    copy.invoke("hi")
    asyncio.run(copy.ainvoke("hi"))
    assert len(other.chat_requests) == 2
    assert len(fake.chat_requests) == 2


def test_no_network_io_at_construction(fake: FakeCerebras) -> None:
    llm = fake.chat_model()
    assert fake.requests == []
    llm.invoke("hi")  # building the SDK client must not warm the connection either
    assert [r.path for r in fake.requests] == ["/v1/chat/completions"]


async def test_no_network_io_from_async_client(fake: FakeCerebras) -> None:
    await fake.chat_model().ainvoke("hi")
    assert [r.path for r in fake.requests] == ["/v1/chat/completions"]


def test_warm_up_hits_tcp_warming(fake: FakeCerebras) -> None:
    elapsed = fake.chat_model().warm_up()
    assert isinstance(elapsed, float)
    assert elapsed >= 0
    assert [(r.method, r.path) for r in fake.requests] == [("GET", "/v1/tcp_warming")]


async def test_awarm_up_hits_tcp_warming(fake: FakeCerebras) -> None:
    assert isinstance(await fake.chat_model().awarm_up(), float)
    assert [(r.method, r.path) for r in fake.requests] == [("GET", "/v1/tcp_warming")]


def test_warm_up_failure_is_not_raised() -> None:
    def refuse(request: httpx.Request) -> None:
        raise httpx.ConnectError("refused", request=request)

    assert isinstance(FakeCerebras(on_request=refuse).chat_model().warm_up(), float)


def test_warm_tcp_connection_does_not_block_construction() -> None:
    entered, release, finished = threading.Event(), threading.Event(), threading.Event()

    def hold_warm_up(request: httpx.Request) -> None:
        if request.url.path == "/v1/tcp_warming":
            entered.set()
            release.wait(timeout=10)
            finished.set()

    fake = FakeCerebras(on_request=hold_warm_up)
    try:
        fake.chat_model(warm_tcp_connection=True)
        assert not finished.is_set()  # construction returned while the warm-up was pending
        assert entered.wait(timeout=10)  # ... and the warm-up did start
    finally:
        release.set()
    assert finished.wait(timeout=10)
    assert [r.path for r in fake.requests] == ["/v1/tcp_warming"]


# ------------------------------------------------------------------ 9. LangSmith params


def test_ls_params() -> None:
    llm = ChatCerebras(api_key="k", model="llama-3.3-70b-versatile", temperature=0.4,
                       max_tokens=99, stop="END")  # fmt: skip
    assert llm._llm_type == "cerebras-chat"
    assert llm._get_ls_params() == {
        "ls_provider": "cerebras",
        "ls_model_name": "gpt-oss-120b",
        "ls_model_type": "chat",
        "ls_temperature": 0.4,
        "ls_max_tokens": 99,
        "ls_stop": ["END"],
    }
    per_call = llm._get_ls_params(stop=["X"], model="llama3.1-8b", temperature=0.0, max_tokens=3)
    assert (per_call["ls_model_name"], per_call["ls_stop"]) == ("llama3.1-8b", ["X"])
    assert (per_call["ls_temperature"], per_call["ls_max_tokens"]) == (0.0, 3)


def test_ls_params_omit_unset_values() -> None:
    assert ChatCerebras(api_key="k")._get_ls_params() == {
        "ls_provider": "cerebras",
        "ls_model_name": MODEL,
        "ls_model_type": "chat",
    }
