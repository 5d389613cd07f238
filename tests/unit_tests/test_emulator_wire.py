"""The emulator's wire format, as the real SDKs and raw httpx see it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import groq
import httpx
import pytest
from cerebras.cloud.sdk import AsyncCerebras, Cerebras
from cerebras.cloud.sdk import AuthenticationError as CerebrasAuthError
from cerebras.cloud.sdk import BadRequestError as CerebrasBadRequest
from cerebras.cloud.sdk import NotFoundError as CerebrasNotFound
from cerebras.cloud.sdk import PermissionDeniedError as CerebrasPermissionDenied
from cerebras.cloud.sdk import RateLimitError as CerebrasRateLimit

from langchain_cerebras_router.testing import Emulator, ModelSpec

KEY = "emulator-test-key"
HELLO: Any = [{"role": "user", "content": "Hello"}]
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def server() -> Iterator[Emulator]:
    extra = ModelSpec("custom-model", "cerebras", tokens_per_second=500.0)
    with Emulator(models=[extra]) as emu:
        yield emu


@pytest.fixture
def emu(server: Emulator) -> Emulator:
    server.reset()
    return server


@pytest.fixture
def cerebras(emu: Emulator) -> Iterator[Cerebras]:
    client = Cerebras(api_key=KEY, base_url=emu.base_url, warm_tcp_connection=False, max_retries=0)
    yield client
    client.close()


@pytest.fixture
def groq_client(emu: Emulator) -> Iterator[groq.Groq]:
    client = groq.Groq(api_key=KEY, base_url=emu.base_url, max_retries=0)
    yield client
    client.close()


def _chat(client: Any, **kwargs: Any) -> Any:
    """``client.chat.completions.create``, typed loosely (the SDKs return a union)."""
    return client.chat.completions.create(**kwargs)


def _sse_events(text: str) -> list[str]:
    return [line[len("data: ") :] for line in text.split("\n\n") if line.startswith("data: ")]


def _post(
    emu: Emulator, path: str, body: Any, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.post(emu.base_url + path, json=body, headers={**AUTH, **(headers or {})})


# ---------------------------------------------------------------------- non-stream
def test_cerebras_completion_shape(cerebras: Cerebras) -> None:
    reply = _chat(cerebras, model="llama3.1-8b", messages=HELLO)
    body = reply.model_dump()
    assert body["object"] == "chat.completion"
    assert body["model"] == "llama3.1-8b"
    assert body["id"].startswith("chatcmpl-")
    assert body["system_fingerprint"].startswith("fp_")
    [choice] = body["choices"]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"]
    usage = body["usage"]
    assert usage["completion_tokens"] == 24
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens_details"] == {"cached_tokens": 0}
    info = body["time_info"]
    assert set(info) >= {"queue_time", "prompt_time", "completion_time", "total_time", "created"}
    assert usage["completion_tokens"] / info["completion_time"] == pytest.approx(2200, rel=0.01)


def test_groq_completion_shape(groq_client: groq.Groq) -> None:
    reply = _chat(groq_client, model="llama-3.3-70b-versatile", messages=HELLO)
    body = reply.model_dump()
    assert body["object"] == "chat.completion"
    assert body["x_groq"]["id"].startswith("req_")
    usage = body["usage"]
    assert {"queue_time", "prompt_time", "completion_time", "total_time"} <= set(usage)
    assert usage["completion_tokens"] / usage["completion_time"] == pytest.approx(276, rel=0.01)
    assert body["choices"][0]["message"]["content"]


def test_reasoning_model_returns_reasoning(cerebras: Cerebras) -> None:
    reply = _chat(cerebras, model="gpt-oss-120b", messages=HELLO)
    message = reply.choices[0].message
    assert message.reasoning
    assert message.reasoning.startswith("The user says")
    assert reply.usage.completion_tokens_details.reasoning_tokens > 0
    hidden = _chat(cerebras, model="gpt-oss-120b", messages=HELLO, reasoning_format="hidden")
    assert hidden.choices[0].message.reasoning is None


def test_same_request_same_answer_different_ids(cerebras: Cerebras) -> None:
    first = _chat(cerebras, model="llama3.1-8b", messages=HELLO)
    second = _chat(cerebras, model="llama3.1-8b", messages=HELLO)
    assert first.choices[0].message.content == second.choices[0].message.content
    assert first.id != second.id


def test_custom_model_and_speed(emu: Emulator, cerebras: Cerebras) -> None:
    reply = _chat(cerebras, model="custom-model", messages=HELLO)
    info = reply.time_info
    assert reply.usage.completion_tokens / info.completion_time == pytest.approx(500, rel=0.01)
    emu.set_speed("cerebras", tokens_per_second=4000.0)
    emu.set_answer_tokens(40)
    reply = _chat(cerebras, model="custom-model", messages=HELLO)
    assert reply.usage.completion_tokens == 40
    assert reply.time_info.completion_time == pytest.approx(40 / 4000)


def test_cached_tokens_for_a_repeated_prefix(cerebras: Cerebras) -> None:
    system = {"role": "system", "content": "You are terse. " * 100}
    first = _chat(
        cerebras, model="llama3.1-8b", messages=[system, {"role": "user", "content": "one"}]
    )
    second = _chat(
        cerebras, model="llama3.1-8b", messages=[system, {"role": "user", "content": "two"}]
    )
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert cached > 0
    assert cached % 128 == 0
    assert cached < second.usage.prompt_tokens


# ---------------------------------------------------------------------- streams
def test_cerebras_stream_shape_raw(emu: Emulator) -> None:
    response = _post(
        emu, "/v1/chat/completions", {"model": "llama3.1-8b", "messages": HELLO, "stream": True}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _sse_events(response.text)
    assert "[DONE]" not in events
    chunks = [json.loads(event) for event in events]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    content = chunks[1:-1]
    assert len(content) == 24
    assert all(set(c["choices"][0]["delta"]) == {"content"} for c in content)
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    last = chunks[-1]
    assert last["choices"][0]["delta"] == {}
    assert last["choices"][0]["finish_reason"] == "stop"
    assert last["usage"]["completion_tokens"] == 24
    assert "completion_time" in last["time_info"]


def test_cerebras_stream_through_the_sdk_with_reasoning(cerebras: Cerebras) -> None:
    chunks = list(_chat(cerebras, model="gpt-oss-120b", messages=HELLO, stream=True))
    deltas = [chunk.choices[0].delta for chunk in chunks if chunk.choices]
    reasoning = [d.reasoning for d in deltas if d.reasoning]
    content = [d.content for d in deltas if d.content]
    assert reasoning
    assert len(content) == 24
    first_content = next(i for i, d in enumerate(deltas) if d.content)
    assert all(not d.reasoning for d in deltas[first_content:])
    assert chunks[-1].usage.completion_tokens == len(reasoning) + len(content)
    assert chunks[-1].time_info is not None


async def test_async_cerebras_stream(emu: Emulator) -> None:
    client = AsyncCerebras(
        api_key=KEY, base_url=emu.base_url, warm_tcp_connection=False, max_retries=0
    )
    try:
        stream = await _chat(client, model="llama3.1-8b", messages=HELLO, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        reply = await _chat(client, model="llama3.1-8b", messages=HELLO)
        assert text == reply.choices[0].message.content
    finally:
        await client.close()


def test_groq_stream_shape_raw(emu: Emulator) -> None:
    body = {"model": "llama-3.3-70b-versatile", "messages": HELLO, "stream": True}
    events = _sse_events(_post(emu, "/openai/v1/chat/completions", body).text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[0]["x_groq"]["id"].startswith("req_")
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "stop"
    assert last["x_groq"]["usage"]["completion_tokens"] == 24
    assert "usage" not in last
    with_usage = _post(
        emu, "/openai/v1/chat/completions", {**body, "stream_options": {"include_usage": True}}
    )
    assert json.loads(_sse_events(with_usage.text)[-2])["usage"]["completion_tokens"] == 24


def test_groq_stream_through_the_sdk(groq_client: groq.Groq) -> None:
    stream = _chat(groq_client, model="llama-3.3-70b-versatile", messages=HELLO, stream=True)
    chunks = list(stream)
    assert chunks[-1].x_groq.usage.completion_tokens == 24
    assert sum(1 for c in chunks if c.choices[0].delta.content) == 24


def test_tool_call_arrives_whole_in_one_chunk(emu: Emulator) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "magic_function",
            "parameters": {
                "type": "object",
                "properties": {"input": {"type": "integer"}},
                "required": ["input"],
            },
        },
    }
    body = {
        "model": "llama3.1-8b",
        "messages": [{"role": "user", "content": "What is magic_function(3)?"}],
        "tools": [tool],
        "stream": True,
    }
    chunks = [json.loads(e) for e in _sse_events(_post(emu, "/v1/chat/completions", body).text)]
    calls = [
        c["choices"][0]["delta"]["tool_calls"]
        for c in chunks
        if c["choices"][0]["delta"].get("tool_calls")
    ]
    assert len(calls) == 1
    [[call]] = calls
    assert call["index"] == 0
    assert call["id"].startswith("call_")
    assert call["type"] == "function"
    assert call["function"] == {"name": "magic_function", "arguments": '{"input": 3}'}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_stream_pacing_and_time_to_first_token(emu: Emulator) -> None:
    emu.set_speed("cerebras", tokens_per_second=200.0, time_to_first_token=0.2)
    emu.set_answer_tokens(20)
    started = time.perf_counter()
    body = {"model": "llama3.1-8b", "messages": HELLO, "stream": True}
    first_content = None
    with httpx.stream(
        "POST", emu.base_url + "/v1/chat/completions", json=body, headers=AUTH
    ) as response:
        for line in response.iter_lines():
            if '"content":"' in line and '"role"' not in line and first_content is None:
                first_content = time.perf_counter() - started
    total = time.perf_counter() - started
    assert first_content is not None
    assert first_content >= 0.2
    assert total >= 0.2 + 19 / 200.0


# ---------------------------------------------------------------------- other endpoints
def test_models_list_and_retrieve(
    emu: Emulator, cerebras: Cerebras, groq_client: groq.Groq
) -> None:
    ids = {model.id for model in cerebras.models.list().data}
    assert {
        "gpt-oss-120b",
        "llama3.1-8b",
        "qwen-3-235b-a22b-instruct-2507",
        "zai-glm-4.7",
        "custom-model",
    } <= ids
    assert cerebras.models.retrieve("gpt-oss-120b").id == "gpt-oss-120b"
    with pytest.raises(CerebrasNotFound):
        cerebras.models.retrieve("no-such-model")
    groq_ids = {model.id for model in groq_client.models.list().data}
    assert {
        "llama-3.3-70b-versatile",
        "openai/gpt-oss-120b",
        "deepseek-r1-distill-llama-70b",
    } <= groq_ids
    assert groq_client.models.retrieve("openai/gpt-oss-120b").id == "openai/gpt-oss-120b"


def test_tcp_warming_on_client_construction(emu: Emulator) -> None:
    Cerebras(api_key=KEY, base_url=emu.base_url).close()
    assert emu.request_count("cerebras", "/v1/tcp_warming") == 1
    assert httpx.get(emu.base_url + "/v1/tcp_warming").status_code == 200


def test_legacy_completions(emu: Emulator, cerebras: Cerebras) -> None:
    reply: Any = cerebras.completions.create(
        model="llama3.1-8b", prompt="Once upon a time", max_tokens=5
    )
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage.completion_tokens == 5
    chunks: list[Any] = list(
        cerebras.completions.create(model="llama3.1-8b", prompt="Once", stream=True)
    )
    assert len([c for c in chunks if c.choices and c.choices[0].text]) == 24


def test_unknown_paths_and_methods(emu: Emulator) -> None:
    assert httpx.get(emu.base_url + "/nope").status_code == 404
    assert httpx.get(emu.base_url + "/v1/chat/completions", headers=AUTH).status_code == 405
    assert _post(emu, "/openai/v1/completions", {}).status_code == 404


# ---------------------------------------------------------------------- auth and errors
def test_missing_auth_is_403_wrong_key_401(emu: Emulator) -> None:
    response = httpx.post(
        emu.base_url + "/v1/chat/completions", json={"model": "llama3.1-8b", "messages": HELLO}
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "Not authenticated"}
    with Emulator(api_keys=["good"]) as strict:
        client = Cerebras(
            api_key="bad", base_url=strict.base_url, warm_tcp_connection=False, max_retries=0
        )
        with pytest.raises(CerebrasAuthError) as info:
            _chat(client, model="llama3.1-8b", messages=HELLO)
        assert info.value.body == {
            "message": "Wrong API Key",
            "type": "invalid_request_error",
            "param": "api_key",
            "code": "wrong_api_key",
        }
        client = Cerebras(
            api_key="good", base_url=strict.base_url, warm_tcp_connection=False, max_retries=0
        )
        assert _chat(client, model="llama3.1-8b", messages=HELLO).choices
        bad_groq = groq.Groq(api_key="bad", base_url=strict.base_url, max_retries=0)
        with pytest.raises(groq.AuthenticationError) as groq_info:
            _chat(bad_groq, model="llama-3.3-70b-versatile", messages=HELLO)
        assert groq_info.value.body == {
            "error": {
                "message": "Invalid API Key",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
        }


def test_no_bearer_scheme_through_the_sdk(emu: Emulator) -> None:
    client = Cerebras(api_key=KEY, base_url=emu.base_url, warm_tcp_connection=False, max_retries=0)
    with pytest.raises(CerebrasPermissionDenied):
        _chat(
            client, model="llama3.1-8b", messages=HELLO, extra_headers={"Authorization": "Basic x"}
        )


def test_validation_error_bodies(cerebras: Cerebras, groq_client: groq.Groq) -> None:
    with pytest.raises(CerebrasBadRequest) as info:
        _chat(cerebras, model="llama3.1-8b", messages=HELLO, extra_body={"bogus": 1})
    body = info.value.body
    assert isinstance(body, dict)
    assert set(body) == {"message", "type", "param", "code"}
    assert body["param"] == "bogus"
    with pytest.raises(CerebrasBadRequest, match="reasoning_content"):
        _chat(
            cerebras,
            model="gpt-oss-120b",
            messages=[
                *HELLO,
                {"role": "assistant", "content": "hi", "reasoning_content": "r"},
                *HELLO,
            ],
        )
    with pytest.raises(CerebrasNotFound):
        _chat(cerebras, model="llama-3.3-70b-versatile", messages=HELLO)
    with pytest.raises(groq.BadRequestError) as groq_info:
        _chat(
            groq_client,
            model="llama-3.3-70b-versatile",
            messages=HELLO,
            extra_body={"disable_reasoning": True},
        )
    groq_body = groq_info.value.body
    assert isinstance(groq_body, dict)
    assert set(groq_body["error"]) == {"message", "type", "code"}
    with pytest.raises(groq.NotFoundError):
        _chat(groq_client, model="gpt-oss-120b", messages=HELLO)


def test_invalid_json_body(emu: Emulator) -> None:
    response = httpx.post(emu.base_url + "/v1/chat/completions", content=b"{nope", headers=AUTH)
    assert response.status_code == 400
    assert set(response.json()) == {"message", "type", "param", "code"}


# ---------------------------------------------------------------------- rate limits
def test_rate_limit_headers_on_every_chat_response(emu: Emulator) -> None:
    response = _post(emu, "/v1/chat/completions", {"model": "llama3.1-8b", "messages": HELLO})
    for name in (
        "x-ratelimit-limit-requests-day",
        "x-ratelimit-remaining-requests-day",
        "x-ratelimit-reset-requests-day",
        "x-ratelimit-limit-tokens-minute",
        "x-ratelimit-remaining-tokens-minute",
        "x-ratelimit-reset-tokens-minute",
    ):
        float(response.headers[name])
    response = _post(
        emu, "/openai/v1/chat/completions", {"model": "llama-3.3-70b-versatile", "messages": HELLO}
    )
    assert response.headers["x-ratelimit-reset-tokens"].endswith("s")
    for name in ("limit-requests", "remaining-requests", "limit-tokens", "remaining-tokens"):
        int(response.headers[f"x-ratelimit-{name}"])


def test_exhausted_quota_answers_429(emu: Emulator, cerebras: Cerebras) -> None:
    emu.set_rate_limits("cerebras", requests_per_day=2, tokens_per_minute=1_000_000)
    raw = cerebras.chat.completions.with_raw_response.create(model="llama3.1-8b", messages=HELLO)
    assert raw.headers["x-ratelimit-remaining-requests-day"] == "1"
    _chat(cerebras, model="llama3.1-8b", messages=HELLO)
    with pytest.raises(CerebrasRateLimit) as info:
        _chat(cerebras, model="llama3.1-8b", messages=HELLO)
    assert float(info.value.response.headers["retry-after"]) > 80_000
    assert info.value.response.headers["x-ratelimit-remaining-requests-day"] == "0"
    emu.set_rate_limits("cerebras", requests_per_day=100, tokens_per_minute=10)
    _chat(cerebras, model="llama3.1-8b", messages=HELLO)
    with pytest.raises(CerebrasRateLimit, match="Tokens per minute"):
        _chat(cerebras, model="llama3.1-8b", messages=HELLO)
    emu.reset()
    assert _chat(cerebras, model="llama3.1-8b", messages=HELLO).choices


# ---------------------------------------------------------------------- request log
def test_request_log_redacts_credentials(emu: Emulator, cerebras: Cerebras) -> None:
    _chat(cerebras, model="llama3.1-8b", messages=HELLO)
    [record] = emu.requests
    assert record.provider == "cerebras"
    assert record.method == "POST"
    assert record.path == "/v1/chat/completions"
    assert record.status == 200
    assert record.model == "llama3.1-8b"
    assert record.body["messages"] == HELLO
    assert record.fault is None
    assert record.headers["authorization"] == "Bearer <redacted>"
    assert KEY not in repr(emu.requests)
    assert emu.request_count() == 1
    assert emu.request_count("groq") == 0
