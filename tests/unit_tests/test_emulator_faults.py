"""Every fault kind, as the real Cerebras and Groq SDKs observe it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import cerebras.cloud.sdk as cerebras_sdk
import groq
import httpx
import pytest

from langchain_cerebras_router.testing import FAULT_HEADER, Emulator, Fault

KEY = "emulator-test-key"
HELLO: list[Any] = [{"role": "user", "content": "Hello"}]
TOOL = {
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
STREAM_BREAKS = (httpx.RemoteProtocolError, httpx.ReadError)


@pytest.fixture(scope="module")
def server() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def emu(server: Emulator) -> Emulator:
    server.reset()
    return server


@pytest.fixture
def cerebras(emu: Emulator) -> Iterator[cerebras_sdk.Cerebras]:
    client = cerebras_sdk.Cerebras(
        api_key=KEY, base_url=emu.base_url, warm_tcp_connection=False, max_retries=0
    )
    yield client
    client.close()


@pytest.fixture
def groq_client(emu: Emulator) -> Iterator[groq.Groq]:
    client = groq.Groq(api_key=KEY, base_url=emu.base_url, max_retries=0)
    yield client
    client.close()


def _create(client: Any, fault: str | None = None, **kwargs: Any) -> Any:
    """A chat completion with an optional fault header (the SDKs return a union, hence Any)."""
    cerebras = isinstance(client, cerebras_sdk.Cerebras)
    kwargs.setdefault("model", "llama3.1-8b" if cerebras else "llama-3.3-70b-versatile")
    headers = {FAULT_HEADER: fault} if fault else None
    return client.chat.completions.create(messages=HELLO, extra_headers=headers, **kwargs)


def _consume(stream: Any, received: list[str] | None = None) -> list[str]:
    """Read a stream, appending each content delta to ``received`` as it arrives."""
    received = [] if received is None else received
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            received.append(chunk.choices[0].delta.content)
    return received


# ---------------------------------------------------------------------- errors before the body
def test_rate_limit(emu: Emulator, cerebras: cerebras_sdk.Cerebras, groq_client: groq.Groq) -> None:
    with pytest.raises(cerebras_sdk.RateLimitError) as info:
        _create(cerebras, "rate_limit:2.0")
    assert info.value.response.headers["retry-after"] == "2"
    body: Any = info.value.body
    assert set(body) == {"message", "type", "param", "code"}
    assert "x-ratelimit-remaining-requests-day" in info.value.response.headers
    with pytest.raises(groq.RateLimitError) as groq_info:
        _create(groq_client, "rate_limit:0.5", stream=True)
    assert groq_info.value.response.headers["retry-after"] == "0.5"
    groq_body: Any = groq_info.value.body
    assert groq_body["error"]["code"] == "rate_limit_exceeded"
    assert [r.fault for r in emu.requests] == ["rate_limit:2.0", "rate_limit:0.5"]
    assert [r.status for r in emu.requests] == [429, 429]


def test_rate_limit_without_retry_after(emu: Emulator, cerebras: cerebras_sdk.Cerebras) -> None:
    """``rate_limit:none``: a 429 that says nothing about when to come back."""
    with pytest.raises(cerebras_sdk.RateLimitError) as info:
        _create(cerebras, "rate_limit:none")
    assert "retry-after" not in info.value.response.headers
    assert "x-ratelimit-remaining-requests-day" in info.value.response.headers
    assert [r.fault for r in emu.requests] == ["rate_limit:none"]


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (500, cerebras_sdk.InternalServerError),
        (502, cerebras_sdk.InternalServerError),
        (503, cerebras_sdk.InternalServerError),
        (400, cerebras_sdk.BadRequestError),
        (422, cerebras_sdk.UnprocessableEntityError),
    ],
)
def test_status(
    cerebras: cerebras_sdk.Cerebras, code: int, error: type[cerebras_sdk.APIStatusError]
) -> None:
    with pytest.raises(error) as info:
        _create(cerebras, f"status:{code}")
    body = info.value.response.json()
    if code >= 500:
        assert set(body) == {"error"}
        assert set(body["error"]) == {"message", "type", "param", "code"}
    else:
        assert set(body) == {"message", "type", "param", "code"}


def test_groq_status_bodies_are_always_wrapped(groq_client: groq.Groq) -> None:
    for code, error in ((503, groq.InternalServerError), (400, groq.BadRequestError)):
        with pytest.raises(error) as info:
            _create(groq_client, f"status:{code}")
        body: Any = info.value.body
        assert set(body["error"]) == {"message", "type", "code"}


def test_capacity_exceeded(cerebras: cerebras_sdk.Cerebras, groq_client: groq.Groq) -> None:
    with pytest.raises(groq.APIStatusError) as info:
        _create(groq_client, "capacity_exceeded")
    assert info.value.status_code == 498
    body: Any = info.value.body
    assert body["error"]["code"] == "capacity_exceeded"
    with pytest.raises(cerebras_sdk.APIStatusError) as cerebras_info:
        _create(cerebras, "capacity_exceeded")
    assert cerebras_info.value.status_code == 498


def test_unauthorized(cerebras: cerebras_sdk.Cerebras, groq_client: groq.Groq) -> None:
    with pytest.raises(cerebras_sdk.AuthenticationError):
        _create(cerebras, "unauthorized")
    with pytest.raises(groq.AuthenticationError):
        _create(groq_client, "unauthorized", stream=True)


@pytest.mark.parametrize("stream", [False, True])
def test_reset_before_any_byte(
    emu: Emulator, cerebras: cerebras_sdk.Cerebras, stream: bool
) -> None:
    with pytest.raises(cerebras_sdk.APIConnectionError):
        _create(cerebras, "reset", stream=stream)
    assert emu.requests[-1].status is None
    assert emu.requests[-1].fault == "reset"
    with pytest.raises(httpx.TransportError):
        httpx.post(
            emu.base_url + "/v1/chat/completions",
            headers={FAULT_HEADER: "reset", "Authorization": "Bearer k"},
        )


def test_sdk_retries_resend_the_fault_header(emu: Emulator) -> None:
    client = cerebras_sdk.Cerebras(
        api_key=KEY, base_url=emu.base_url, warm_tcp_connection=False, max_retries=1
    )
    with pytest.raises(cerebras_sdk.RateLimitError):
        _create(client, "rate_limit:0.01")
    assert emu.request_count("cerebras") == 2


# ---------------------------------------------------------------------- failures mid-stream
@pytest.mark.parametrize("client_name", ["cerebras", "groq"])
def test_reset_after_chunks_raises_raw_httpx_error(
    request: pytest.FixtureRequest, client_name: str
) -> None:
    client = request.getfixturevalue("cerebras" if client_name == "cerebras" else "groq_client")
    stream = _create(client, "reset_after:3", stream=True)
    received: list[str] = []
    with pytest.raises(STREAM_BREAKS):
        _consume(stream, received)
    assert len(received) == 3


def test_reset_after_without_stream(cerebras: cerebras_sdk.Cerebras) -> None:
    with pytest.raises(cerebras_sdk.APIConnectionError):
        _create(cerebras, "reset_after:1")


def test_stall_then_close(emu: Emulator, cerebras: cerebras_sdk.Cerebras) -> None:
    # The clock starts before the request: the server's stall may begin before the SDK
    # hands the stream over, so only the request's whole life must include it.
    started = time.perf_counter()
    stream = _create(cerebras, "stall:2:0.2", stream=True)
    received: list[str] = []
    with pytest.raises(STREAM_BREAKS):
        _consume(stream, received)
    assert time.perf_counter() - started >= 0.2
    assert len(received) == 2


def test_stall_hits_the_client_read_timeout(emu: Emulator) -> None:
    client = cerebras_sdk.Cerebras(
        api_key=KEY,
        base_url=emu.base_url,
        warm_tcp_connection=False,
        max_retries=0,
        timeout=httpx.Timeout(0.2),
    )
    stream = _create(client, "stall:1:30", stream=True)
    received: list[str] = []
    with pytest.raises(httpx.ReadTimeout):
        _consume(stream, received)
    assert len(received) == 1
    with pytest.raises(cerebras_sdk.APITimeoutError):
        _create(client, "stall:0:30")


def test_stall_zero_sends_only_the_role_chunk(emu: Emulator) -> None:
    body = {"model": "gpt-oss-120b", "messages": HELLO, "stream": True}
    headers = {FAULT_HEADER: "stall:0:0.05", "Authorization": "Bearer k"}
    with httpx.stream(
        "POST", emu.base_url + "/v1/chat/completions", json=body, headers=headers
    ) as response:
        lines: list[str] = []
        with pytest.raises(httpx.RemoteProtocolError):
            lines.extend(line for line in response.iter_lines() if line)
    assert len(lines) == 1
    assert json.loads(lines[0][len("data: ") :])["choices"][0]["delta"]["role"] == "assistant"


def test_stop_interrupts_a_stall() -> None:
    emu = Emulator().start()
    client = cerebras_sdk.Cerebras(
        api_key=KEY, base_url=emu.base_url, warm_tcp_connection=False, max_retries=0
    )
    errors: list[BaseException] = []

    def run() -> None:
        try:
            _consume(_create(client, "stall:1:300", stream=True))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    while not emu.requests:
        time.sleep(0.01)
    started = time.perf_counter()
    emu.stop()
    emu.stop()  # idempotent
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert time.perf_counter() - started < 10
    assert errors
    assert isinstance(errors[0], STREAM_BREAKS)


def test_malformed_json(cerebras: cerebras_sdk.Cerebras, groq_client: groq.Groq) -> None:
    for client in (cerebras, groq_client):
        received: list[str] = []
        with pytest.raises(json.JSONDecodeError):
            _consume(_create(client, "malformed_json:2", stream=True), received)
        assert len(received) == 2
        with pytest.raises(json.JSONDecodeError):
            _create(client, "malformed_json:0")


def test_malformed_sse_ends_the_stream_without_a_final_chunk(
    cerebras: cerebras_sdk.Cerebras,
) -> None:
    chunks = list(_create(cerebras, "malformed_sse:2", stream=True))
    assert len(chunks) == 3  # role chunk + 2 content chunks; the cut frame is never dispatched
    assert all(chunk.choices[0].finish_reason is None for chunk in chunks)
    assert all(getattr(chunk, "usage", None) is None for chunk in chunks)
    with pytest.raises(json.JSONDecodeError):
        _create(cerebras, "malformed_sse:0")


def test_stream_error_event(cerebras: cerebras_sdk.Cerebras, groq_client: groq.Groq) -> None:
    received: list[str] = []
    with pytest.raises(cerebras_sdk.RateLimitError) as info:
        _consume(_create(cerebras, "stream_error:429:2", stream=True), received)
    assert info.value.response.status_code == 200
    assert info.value.status_code == 429  # read from the event's status_code
    error_body: Any = info.value.body
    assert set(error_body) == {"message", "type", "code"}
    assert len(received) == 2
    with pytest.raises(cerebras_sdk.InternalServerError):
        _consume(_create(cerebras, "stream_error:503:0", stream=True))
    with pytest.raises(groq.APIError) as groq_info:
        _consume(_create(groq_client, "stream_error:429:1", stream=True))
    assert type(groq_info.value) is groq.APIError
    with pytest.raises(cerebras_sdk.RateLimitError):
        _create(cerebras, "stream_error:429:1")  # non-stream: an HTTP 429


def test_after_chunks_beyond_the_answer_triggers_before_the_final_chunk(
    cerebras: cerebras_sdk.Cerebras,
) -> None:
    received: list[str] = []
    with pytest.raises(STREAM_BREAKS):
        _consume(_create(cerebras, "reset_after:1000", stream=True), received)
    assert len(received) == 24


def test_slow_first_token(emu: Emulator, cerebras: cerebras_sdk.Cerebras) -> None:
    started = time.perf_counter()
    _create(cerebras, "slow_first_token:0.2")
    assert time.perf_counter() - started >= 0.2
    requested = time.perf_counter()  # the delay may start before the SDK returns the stream
    stream = _create(cerebras, "slow_first_token:0.2", stream=True)
    opened = time.perf_counter()
    iterator = iter(stream)
    next(iterator)  # the role chunk is not delayed
    role_at = time.perf_counter() - opened
    next(iterator)
    assert time.perf_counter() - requested >= 0.2 > role_at
    assert emu.requests[-1].fault == "slow_first_token:0.2"


def test_invalid_tool_arguments(cerebras: cerebras_sdk.Cerebras, groq_client: groq.Groq) -> None:
    reply = _create(cerebras, "invalid_tool_arguments", tools=[TOOL])
    arguments = reply.choices[0].message.tool_calls[0].function.arguments
    with pytest.raises(json.JSONDecodeError):
        json.loads(arguments)
    chunks = list(_create(groq_client, "invalid_tool_arguments", tools=[TOOL], stream=True))
    [call] = [c.choices[0].delta.tool_calls[0] for c in chunks if c.choices[0].delta.tool_calls]
    with pytest.raises(json.JSONDecodeError):
        json.loads(call.function.arguments)
    normal = _create(cerebras, tools=[TOOL]).choices[0].message.tool_calls[0].function.arguments
    assert json.loads(normal) == {"input": 1}


# ---------------------------------------------------------------------- where faults come from
def test_inject_and_script_on_the_wire(
    emu: Emulator, cerebras: cerebras_sdk.Cerebras, groq_client: groq.Groq
) -> None:
    emu.script("cerebras", [Fault.status(503), None, "reset"])
    emu.inject(Fault.rate_limit(retry_after=1.0), provider="cerebras", times=1)
    with pytest.raises(cerebras_sdk.RateLimitError):
        _create(cerebras)  # inject queue first
    _create(groq_client)  # other provider: untouched
    with pytest.raises(cerebras_sdk.BadRequestError):
        _create(cerebras, "status:400")  # header wins and does not use a script step
    with pytest.raises(cerebras_sdk.InternalServerError):
        _create(cerebras)
    assert _create(cerebras).choices
    with pytest.raises(cerebras_sdk.APIConnectionError):
        _create(cerebras)
    assert _create(cerebras).choices
    statuses = [(r.provider, r.status, r.fault) for r in emu.requests]
    assert statuses == [
        ("cerebras", 429, "rate_limit:1.0"),
        ("groq", 200, None),
        ("cerebras", 400, "status:400"),
        ("cerebras", 503, "status:503"),
        ("cerebras", 200, None),
        ("cerebras", None, "reset"),
        ("cerebras", 200, None),
    ]


def test_inject_by_model(emu: Emulator, cerebras: cerebras_sdk.Cerebras) -> None:
    emu.inject("status:502", model="gpt-oss-120b", times=None)
    assert _create(cerebras).choices  # llama3.1-8b
    for _ in range(2):
        with pytest.raises(cerebras_sdk.InternalServerError):
            _create(cerebras, model="gpt-oss-120b")
    emu.clear_faults()
    assert _create(cerebras, model="gpt-oss-120b").choices


def test_bad_fault_header_is_400(cerebras: cerebras_sdk.Cerebras) -> None:
    with pytest.raises(cerebras_sdk.BadRequestError, match="x-emulator-fault"):
        _create(cerebras, "explode")


def test_faults_only_touch_chat_requests(emu: Emulator, cerebras: cerebras_sdk.Cerebras) -> None:
    emu.inject(Fault.reset(), times=None)
    assert cerebras.models.list().data
    with pytest.raises(cerebras_sdk.APIConnectionError):
        _create(cerebras)


async def _collect(stream: Any, received: list[Any]) -> None:
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            received.append(chunk)


async def test_async_client_sees_the_same_faults(emu: Emulator) -> None:
    client = cerebras_sdk.AsyncCerebras(
        api_key=KEY, base_url=emu.base_url, warm_tcp_connection=False, max_retries=0
    )
    try:
        stream: Any = await client.chat.completions.create(
            model="llama3.1-8b",
            messages=HELLO,
            stream=True,
            extra_headers={FAULT_HEADER: "reset_after:2"},
        )
        received: list[Any] = []
        with pytest.raises(STREAM_BREAKS):
            await _collect(stream, received)
        assert len(received) == 2
        with pytest.raises(cerebras_sdk.RateLimitError):
            await client.chat.completions.create(
                model="llama3.1-8b", messages=HELLO, extra_headers={FAULT_HEADER: "rate_limit:1"}
            )
    finally:
        await client.close()
