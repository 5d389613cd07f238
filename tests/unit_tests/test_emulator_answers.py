"""Deterministic answers, schema values, validation rules and quotas, without a server."""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field, TypeAdapter
from typing_extensions import TypedDict

from langchain_cerebras_router.testing import DEFAULT_MODELS, count_tokens
from langchain_cerebras_router.testing.answers import (
    Answer,
    PrefixCache,
    build_answer,
    filler_tokens,
    prompt_tokens,
    tokenize,
)
from langchain_cerebras_router.testing.ratelimits import (
    RateLimiter,
    go_duration,
    rate_limit_headers,
    retry_after_value,
)
from langchain_cerebras_router.testing.schema_values import (
    TextFacts,
    capitalised_phrases,
    numbers_in,
    quoted_strings,
    value_for_schema,
)
from langchain_cerebras_router.testing.validation import (
    ApiError,
    error_body,
    strict_schema_problem,
    validate_chat,
)

SPECS = {spec.id: spec for spec in DEFAULT_MODELS}
LLAMA = SPECS["llama3.1-8b"]
GPT_OSS = SPECS["gpt-oss-120b"]


def _user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def _tool(name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": parameters}}


MAGIC = _tool(
    "magic_function",
    {
        "type": "object",
        "properties": {
            "input": {"type": "integer", "exclusiveMinimum": -1000, "exclusiveMaximum": 1000}
        },
        "required": ["input"],
    },
)
ADDER = _tool(
    "my_adder_tool",
    {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
)
WEATHER = _tool(
    "get_weather",
    {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
)


def _answer(body: dict[str, Any], answer_tokens: int = 24) -> Answer:
    spec = SPECS[body["model"]]
    return build_answer(body, spec, spec.provider, answer_tokens)


# ---------------------------------------------------------------------- tokens and text
def test_tokenize_round_trips_and_counts() -> None:
    text = 'Hello, world!  The quick brown fox — {"a": 1}\n'
    assert "".join(tokenize(text)) == text
    assert count_tokens("Hello world.") == 3
    assert count_tokens("internationalization") == 3  # word pieces of up to 8 characters


def test_filler_is_deterministic_and_exact_length() -> None:
    first = filler_tokens(42, 100)
    assert first == filler_tokens(42, 100)
    assert first != filler_tokens(43, 100)
    assert len(first) == 100
    assert first[-1] == "."
    assert not first[0].startswith(" ")
    assert tokenize("".join(first)) == first  # the stream chunks are the text's tokens


def test_plain_answer_has_answer_tokens_and_same_request_same_answer() -> None:
    body = {"model": LLAMA.id, "messages": _user("Tell me about wafers")}
    answer = _answer(body, answer_tokens=40)
    assert len(answer.content) == 40
    assert answer.completion_tokens == 40
    assert answer.finish_reason == "stop"
    assert answer == _answer(dict(body), answer_tokens=40)
    assert answer.content != _answer({**body, "messages": _user("Other prompt")}).content


def test_max_tokens_caps_with_length() -> None:
    body = {"model": LLAMA.id, "messages": _user("Hello"), "max_completion_tokens": 5}
    answer = _answer(body, answer_tokens=40)
    assert len(answer.content) == 5
    assert answer.finish_reason == "length"
    assert (
        answer.content
        == _answer({**body, "max_completion_tokens": 500}, answer_tokens=40).content[:5]
    )
    assert _answer({**body, "max_tokens": 7, "max_completion_tokens": None}).completion_tokens == 7


def test_stop_sequence_truncates() -> None:
    body = {"model": LLAMA.id, "messages": _user("Hello")}
    full = _answer(body, answer_tokens=60).content_text
    word = full.split()[5]
    stopped = _answer({**body, "stop": [word]}, answer_tokens=60)
    assert word not in stopped.content_text
    assert full.startswith(stopped.content_text)
    assert stopped.finish_reason == "stop"


def test_repeat_the_quoted_phrase() -> None:
    only = _answer(
        {"model": LLAMA.id, "messages": _user("Say 'pineapple express' and nothing else.")}
    )
    assert only.content_text == "pineapple express"
    longer = _answer({"model": LLAMA.id, "messages": _user('Please repeat "blue moon".')})
    assert longer.content_text.startswith("blue moon.")
    assert len(longer.content) == 24


def test_reasoning_modes() -> None:
    base = {"model": GPT_OSS.id, "messages": _user("Hello")}
    parsed = _answer(base)
    assert parsed.reasoning_text.startswith('The user says: "Hello".')
    assert parsed.completion_tokens == len(parsed.content) + len(parsed.reasoning)
    assert parsed.reasoning_tokens == len(parsed.reasoning)
    hidden = _answer({**base, "reasoning_format": "hidden"})
    assert hidden.reasoning == ()
    assert hidden.completion_tokens == parsed.completion_tokens
    raw = _answer({**base, "reasoning_format": "raw"})
    assert raw.content_text.startswith("<think>" + parsed.reasoning_text + "</think>")
    for off in ({"disable_reasoning": True}, {"reasoning_effort": "none"}):
        answer = _answer({**base, **off})
        assert answer.reasoning == ()
        assert answer.reasoning_tokens == 0
    assert _answer({"model": LLAMA.id, "messages": _user("Hello")}).reasoning == ()


def test_budget_spent_on_reasoning_leaves_no_content() -> None:
    answer = _answer({"model": GPT_OSS.id, "messages": _user("Hello"), "max_completion_tokens": 3})
    assert answer.content == ()
    assert len(answer.reasoning) == 3
    assert answer.finish_reason == "length"


# ---------------------------------------------------------------------- tool calls
def test_tool_call_arguments_from_the_prompt() -> None:
    body = {
        "model": LLAMA.id,
        "messages": _user("What is the value of magic_function(3)? Use the tool."),
        "tools": [MAGIC],
        "tool_choice": "required",
    }
    answer = _answer(body)
    assert answer.finish_reason == "tool_calls"
    assert answer.content == ()
    [call] = answer.tool_calls
    assert (call.name, json.loads(call.arguments)) == ("magic_function", {"input": 3})


def test_numbers_fill_integer_properties_in_order() -> None:
    body = {"model": LLAMA.id, "messages": _user("What is 3 + 4"), "tools": [ADDER]}
    [call] = _answer(body).tool_calls
    assert json.loads(call.arguments) == {"a": 3, "b": 4}


def test_tool_named_in_the_text_is_chosen_and_strings_come_from_the_text() -> None:
    body = {
        "model": LLAMA.id,
        "messages": _user("What is the weather in San Francisco, CA? Call get_weather."),
        "tools": [MAGIC, WEATHER],
        "parallel_tool_calls": False,
    }
    [call] = _answer(body).tool_calls
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"location": "San Francisco, CA"}


def test_unicode_quoted_strings() -> None:
    tool = _tool(
        "unicode_customer",
        {
            "type": "object",
            "properties": {"customer_name": {"type": "string"}, "description": {"type": "string"}},
            "required": ["customer_name", "description"],
        },
    )
    text = "Create a customer named '你好啊集团' (Hello Group) - a Chinese technology company"
    [call] = _answer({"model": LLAMA.id, "messages": _user(text), "tools": [tool]}).tool_calls
    assert json.loads(call.arguments)["customer_name"] == "你好啊集团"
    assert "你好啊集团" in call.arguments  # not \u-escaped


def test_forced_function_and_parallel_calls() -> None:
    forced = {"type": "function", "function": {"name": "get_weather"}}
    body = {"model": LLAMA.id, "messages": _user("Hello!"), "tools": [MAGIC, WEATHER]}
    assert _answer({**body, "tool_choice": forced}).tool_calls[0].name == "get_weather"
    assert _answer({**body, "tool_choice": "required"}).tool_calls[0].name == "magic_function"
    both = {**body, "messages": _user("Use get_weather for Paris and magic_function(5).")}
    assert [call.name for call in _answer(both).tool_calls] == ["get_weather", "magic_function"]
    assert len(_answer({**both, "parallel_tool_calls": False}).tool_calls) == 1
    assert _answer({**body, "tool_choice": "none"}).tool_calls == ()


def test_tool_result_is_answered_in_text() -> None:
    messages = [
        {"role": "user", "content": "What is 1 + 2"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "abc123",
                    "type": "function",
                    "function": {"name": "my_adder_tool", "arguments": '{"a": 1, "b": 2}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "abc123", "content": '{"result": 3}'},
    ]
    answer = _answer({"model": LLAMA.id, "messages": messages, "tools": [ADDER]})
    assert answer.tool_calls == ()
    assert 'The my_adder_tool tool returned {"result": 3}.' in answer.content_text
    forced = _answer(
        {"model": LLAMA.id, "messages": messages, "tools": [ADDER], "tool_choice": "required"}
    )
    assert forced.tool_calls[0].name == "my_adder_tool"


def test_tool_without_parameters() -> None:
    tool = {"type": "function", "function": {"name": "magic_function_no_args"}}
    [call] = _answer({"model": LLAMA.id, "messages": _user("Go"), "tools": [tool]}).tool_calls
    assert json.loads(call.arguments) == {}


# ---------------------------------------------------------------------- JSON output
class Joke(BaseModel):
    setup: str = Field(description="question to set up a joke")
    punchline: str | None = Field(default=None, description="answer to resolve the joke")


class Address(BaseModel):
    city: str
    zip_code: str = Field(min_length=5, max_length=5)


class Person(BaseModel):
    name: str
    age: int = Field(ge=18, le=99)
    email: str = Field(json_schema_extra={"format": "email"})
    kind: Literal["admin", "user"]
    tags: list[str] = Field(min_length=2)
    address: Address
    previous: list[Address]
    score: float = Field(gt=0, lt=1)
    nickname: str | None


class Movie(TypedDict):
    title: str
    year: int


@pytest.mark.parametrize("model", [Joke, Person])
def test_json_schema_answers_validate(model: type[BaseModel]) -> None:
    schema = model.model_json_schema()
    body = {
        "model": LLAMA.id,
        "messages": _user("Alice is 30. Tell me a joke about cats."),
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
    }
    value = json.loads(_answer(body).content_text)
    model.model_validate(value)


def test_typed_dict_schema_validates() -> None:
    adapter = TypeAdapter(Movie)
    facts = TextFacts("The movie 'Heat' came out in 1995.", lambda path: f"filler {path}")
    value = value_for_schema(adapter.json_schema(), facts)
    assert adapter.validate_python(value) == {"title": "Heat", "year": 1995}


def test_json_object_uses_quoted_keys() -> None:
    text = "Return the result as a JSON with 'setup' and 'punchline' keys."
    body = {"model": LLAMA.id, "messages": _user(text), "response_format": {"type": "json_object"}}
    assert set(json.loads(_answer(body).content_text)) == {"setup", "punchline"}
    plain = {**body, "messages": _user("Give me JSON.")}
    assert set(json.loads(_answer(plain).content_text)) == {"answer"}


def test_schema_values_cover_refs_unions_and_bounds() -> None:
    schema = {
        "$defs": {"Leaf": {"type": "object", "properties": {"v": {"enum": ["x", "y"]}}}},
        "type": "object",
        "properties": {
            "leaf": {"$ref": "#/$defs/Leaf"},
            "maybe": {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 7}]},
            "const": {"const": 5},
            "many": {
                "type": "array",
                "items": {"type": "integer"},
                "minItems": 3,
                "uniqueItems": True,
            },
            "none": {"type": "array", "maxItems": 0},
            "day": {"type": "string", "format": "date"},
            "ratio": {"type": "number", "multipleOf": 0.5, "minimum": 2},
            "flag": {"type": "boolean"},
            "mixed": {"type": ["null", "string"]},
        },
    }
    value = value_for_schema(schema, TextFacts("", lambda path: path))
    assert value["leaf"] == {"v": "x"}
    assert value["maybe"] == 7
    assert value["const"] == 5
    assert len(value["many"]) == 3
    assert len(set(value["many"])) == 3
    assert value["none"] == []
    assert value["day"] == "2025-01-15"
    assert value["ratio"] == 2.0
    assert value["flag"] is True
    assert value["mixed"] == "mixed"


def test_text_facts_extraction() -> None:
    assert quoted_strings("say 'hi there' and \"bye\", don't 'x'") == ["hi there", "bye", "x"]
    assert numbers_in("magic_function(3) is 2.5 or -4, gpt-4o") == [3.0, 2.5, -4.0]
    assert capitalised_phrases("Using the tool, generate a Pirate greeting.") == ["Pirate"]
    assert capitalised_phrases("What is the weather in San Francisco, CA?") == ["San Francisco, CA"]


# ---------------------------------------------------------------------- prompt cache
def test_prefix_cache_counts_shared_blocks() -> None:
    cache = PrefixCache()
    system = {"role": "system", "content": "word " * 300}
    first = {"messages": [system, {"role": "user", "content": "one"}]}
    second = {"messages": [system, {"role": "user", "content": "two"}]}
    assert cache.cached_tokens("m", prompt_tokens(first)) == 0
    cached = cache.cached_tokens("m", prompt_tokens(second))
    assert cached == 256
    assert cache.cached_tokens("other-model", prompt_tokens(second)) == 0
    assert cache.cached_tokens("m", prompt_tokens({"messages": _user("short")})) == 0
    cache.clear()
    assert cache.cached_tokens("m", prompt_tokens(second)) == 0


# ---------------------------------------------------------------------- validation
def _chat(**fields: Any) -> dict[str, Any]:
    return {"model": LLAMA.id, "messages": _user("Hi"), **fields}


CEREBRAS_MODELS = {spec.id: spec for spec in DEFAULT_MODELS if spec.provider == "cerebras"}
GROQ_MODELS = {spec.id: spec for spec in DEFAULT_MODELS if spec.provider == "groq"}

STRICT_OK = {
    "type": "object",
    "properties": {
        "a": {"type": "string"},
        "b": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
    },
    "required": ["a", "b"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        (STRICT_OK, None),
        ({**STRICT_OK, "additionalProperties": True}, "additionalProperties"),
        ({**STRICT_OK, "required": ["a"]}, "missing: b"),
        (
            {
                **STRICT_OK,
                "properties": {"a": {"type": "string", "format": "email"}},
                "required": ["a"],
            },
            "'format'",
        ),
        (
            {**STRICT_OK, "properties": {"a": {"type": "array", "minItems": 1}}, "required": ["a"]},
            "'minItems'",
        ),
        (
            {
                **STRICT_OK,
                "properties": {"a": {"type": "string", "pattern": "x"}},
                "required": ["a"],
            },
            "'pattern'",
        ),
        (
            {
                **STRICT_OK,
                "properties": {"a": {"$ref": "#/$defs/N"}},
                "required": ["a"],
                "$defs": {"N": {"type": "object", "properties": {"x": {"type": "string"}}}},
            },
            "#/$defs/N",
        ),
        ({"type": "array", "items": {"type": "string"}}, "root"),
    ],
)
def test_strict_schema_rules(schema: dict[str, Any], problem: str | None) -> None:
    found = strict_schema_problem(schema)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


def test_a_property_named_format_is_not_a_keyword() -> None:
    schema = {**STRICT_OK, "properties": {"format": {"type": "string"}}, "required": ["format"]}
    assert strict_schema_problem(schema) is None


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (_chat(bogus=1), "bogus"),
        (_chat(messages=[]), "messages"),
        ({"model": LLAMA.id}, "messages"),
        ({"messages": _user("x")}, "model"),
        (_chat(messages=[{"role": "wizard", "content": "x"}]), "messages"),
        (
            _chat(messages=[{"role": "assistant", "content": "x", "reasoning_content": "r"}]),
            "messages",
        ),
        (
            _chat(messages=[*_user("x"), {"role": "tool", "tool_call_id": "nope", "content": "3"}]),
            "messages",
        ),
        (_chat(tool_choice="any", tools=[MAGIC]), "tool_choice"),
        (
            _chat(tool_choice={"type": "function", "function": {"name": "missing"}}, tools=[MAGIC]),
            "tool_choice",
        ),
        (_chat(tool_choice="required"), "tool_choice"),
        (_chat(reasoning_effort="extreme"), "reasoning_effort"),
        (_chat(reasoning_format="verbose"), "reasoning_format"),
        (_chat(service_tier="on_demand"), "service_tier"),
        (_chat(temperature=3), "temperature"),
        (_chat(max_completion_tokens=0), "max_completion_tokens"),
        (_chat(n=2), "n"),
        (_chat(stop=["a", "b", "c", "d", "e"]), "stop"),
        (_chat(response_format={"type": "xml"}), "response_format"),
        (
            _chat(
                response_format={
                    "type": "json_schema",
                    "json_schema": {
                        "name": "x",
                        "schema": {"type": "object", "properties": {"a": {"type": "string"}}},
                        "strict": True,
                    },
                }
            ),
            "response_format",
        ),
        (_chat(tools=[{"type": "function", "function": {"name": "bad name!"}}]), "tools"),
        (
            _chat(
                messages=[
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "id": "1",
                                "type": "function",
                                "function": {"name": "f", "arguments": {"a": 1}},
                            }
                        ],
                    }
                ]
            ),
            "messages",
        ),
    ],
)
def test_cerebras_rejects(body: dict[str, Any], param: str) -> None:
    with pytest.raises(ApiError) as info:
        validate_chat(body, "cerebras", CEREBRAS_MODELS)
    assert info.value.status == 400
    assert info.value.param == param


def test_cerebras_accepts_reasoning_key_and_matching_tool_results() -> None:
    messages = [
        *_user("x"),
        {
            "role": "assistant",
            "content": None,
            "reasoning": "thinking",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "3"},
    ]
    assert (
        validate_chat(
            _chat(messages=messages, stream=True, stream_options={"include_usage": True}),
            "cerebras",
            CEREBRAS_MODELS,
        )
        is LLAMA
    )


def test_unknown_model_is_404() -> None:
    with pytest.raises(ApiError) as info:
        validate_chat(_chat(model="nope"), "cerebras", CEREBRAS_MODELS)
    assert info.value.status == 404
    assert info.value.body("cerebras")["code"] == "model_not_found"


def test_groq_field_set_and_reasoning_rules() -> None:
    groq = {"model": "llama-3.3-70b-versatile", "messages": _user("Hi")}
    with pytest.raises(ApiError, match="disable_reasoning"):
        validate_chat({**groq, "disable_reasoning": True}, "groq", GROQ_MODELS)
    with pytest.raises(ApiError, match="not supported with this model"):
        validate_chat({**groq, "reasoning_format": "parsed"}, "groq", GROQ_MODELS)
    reasoning = {**groq, "model": "openai/gpt-oss-120b"}
    validate_chat(
        {**reasoning, "reasoning_format": "parsed", "include_domains": ["x"]}, "groq", GROQ_MODELS
    )
    with pytest.raises(ApiError, match="cannot be used together"):
        validate_chat(
            {**reasoning, "reasoning_format": "raw", "include_reasoning": True}, "groq", GROQ_MODELS
        )


def test_error_body_shapes() -> None:
    assert error_body("cerebras", 400, "bad", param="model") == {
        "message": "bad",
        "type": "invalid_request_error",
        "param": "model",
        "code": "wrong_api_format",
    }
    wrapped = error_body("cerebras", 503, "busy")
    assert set(wrapped) == {"error"}
    assert set(wrapped["error"]) == {"message", "type", "param", "code"}
    assert error_body("groq", 429, "slow") == {
        "error": {"message": "slow", "type": "tokens", "code": "rate_limit_exceeded"}
    }


# ---------------------------------------------------------------------- quotas
class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_windows_with_a_fake_clock() -> None:
    clock = FakeClock()
    limiter = RateLimiter(requests_per_day=2, tokens_per_minute=1000, clock=clock)
    state, retry = limiter.acquire(10)
    assert retry is None
    assert state.requests_remaining == 1
    assert state.tokens_remaining == 990
    state, retry = limiter.acquire(10)
    assert retry is None
    assert state.requests_remaining == 0
    clock.now += 100
    state, retry = limiter.acquire(10)
    assert retry == pytest.approx(86_300)
    clock.now += 86_400
    assert limiter.acquire(10)[1] is None
    limiter.configure(None, 50)
    assert limiter.acquire(60)[1] is None
    state, retry = limiter.acquire(1)
    assert state.tokens_remaining == 0
    assert retry == pytest.approx(60)
    clock.now += 61
    assert limiter.acquire(1)[1] is None


def test_rate_limit_header_formats() -> None:
    clock = FakeClock()
    limiter = RateLimiter(requests_per_day=14400, tokens_per_minute=60000, clock=clock)
    state, _ = limiter.acquire(100)
    cerebras = dict(rate_limit_headers("cerebras", state))
    assert cerebras["x-ratelimit-remaining-requests-day"] == "14399"
    assert cerebras["x-ratelimit-remaining-tokens-minute"] == "59900"
    assert cerebras["x-ratelimit-reset-tokens-minute"] == "60"
    assert float(cerebras["x-ratelimit-reset-requests-day"]) == 86400
    groq = dict(rate_limit_headers("groq", state))
    assert groq["x-ratelimit-reset-requests"] == "24h0m0s"
    assert groq["x-ratelimit-reset-tokens"] == "1m0s"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(7.66, "7.66s"), (179.56, "2m59.56s"), (0.25, "250ms"), (3723.0, "1h2m3s"), (60.0, "1m0s")],
)
def test_go_duration(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


def test_retry_after_value() -> None:
    assert retry_after_value(2.0) == "2"
    assert retry_after_value(0.5) == "0.5"
    assert retry_after_value(33.2) == "34"
