"""Every call shape of a Tilores_X-style app works with ChatCerebras and RoutedChatModel.

The sample app (``app.py``) is written against ``ChatGroq``; each test runs it unchanged
with the class swapped by configuration, against the emulator (``emulator_env`` points
``CEREBRAS_*`` and ``GROQ_*`` at it). ``ChatGroq`` is the baseline the others must match.
"""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import groq
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import LLMResult
from langchain_core.runnables import RunnableConfig
from langchain_groq import ChatGroq

from langchain_cerebras_router import ChatCerebras, InvalidMessagesError, RoutedChatModel
from langchain_cerebras_router.testing import Emulator, Fault, Provider
from tests.sample_app import app

MODEL = "llama-3.3-70b-versatile"
MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "You are the support assistant of a customer database."},
    {"role": "user", "content": "Which fields does a customer record have?"},
]
TOOL_QUESTION: list[dict[str, Any]] = [
    {"role": "system", "content": "Use the tools to answer."},
    {"role": "user", "content": "Find customer 42 with lookup_customer and tell me the city."},
]


@dataclass(frozen=True)
class Variant:
    """One configuration of the app: the class swapped in, and where calls must land."""

    id: str
    chat_class: str
    provider: Provider
    """The emulated provider that must answer."""
    priority: str | None = None
    """``LANGCHAIN_ROUTER_PRIORITY`` for the router variants."""


GROQ = Variant("ChatGroq", "ChatGroq", "groq")
CEREBRAS = Variant("ChatCerebras", "ChatCerebras", "cerebras")
ROUTED = Variant("RoutedChatModel", "RoutedChatModel", "groq")  # default: balanced, Groq first
ROUTED_FAST = Variant("RoutedChatModel-ultimate_speed", "RoutedChatModel", "cerebras", "fastest")
VARIANTS = (GROQ, CEREBRAS, ROUTED, ROUTED_FAST)


def variants(**xfail: str) -> list[Any]:
    """``VARIANTS`` as pytest params; ``xfail={variant_id_with_underscores: reason}``."""
    params = []
    for variant in VARIANTS:
        reason = xfail.get(variant.id.replace("-", "_"))
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        params.append(pytest.param(variant, id=variant.id, marks=marks))
    return params


@dataclass
class Setup:
    """The configured app for one test."""

    variant: Variant
    emulator: Emulator

    def llm(self) -> BaseChatModel:
        return app.get_llm(MODEL)

    def chat_requests(self, provider: Provider | None = None) -> int:
        return self.emulator.request_count(provider)


@pytest.fixture
def setup(
    request: pytest.FixtureRequest, emulator_env: Emulator, monkeypatch: pytest.MonkeyPatch
) -> Setup:
    variant: Variant = request.param
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("LANGCHAIN_CEREBRAS_ROUTER_CATALOGUE", raising=False)
    monkeypatch.delenv("LANGCHAIN_ROUTER_STATE_URL", raising=False)
    monkeypatch.setenv(app.CLASS_ENV_VAR, variant.chat_class)
    if variant.priority:
        monkeypatch.setenv("LANGCHAIN_ROUTER_PRIORITY", variant.priority)
    else:
        monkeypatch.delenv("LANGCHAIN_ROUTER_PRIORITY", raising=False)
    return Setup(variant, emulator_env)


def all_variants(**xfail: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("setup", variants(**xfail), indirect=True)


def assert_answered_by(setup: Setup, message: BaseMessage) -> None:
    """The call reached the expected provider only, and says so."""
    expected = setup.variant.provider
    other: Provider = "cerebras" if expected == "groq" else "groq"
    assert setup.chat_requests(expected) >= 1
    assert setup.chat_requests(other) == 0
    assert message.response_metadata["model_provider"] == expected
    if setup.variant.chat_class == "RoutedChatModel":
        routing = message.response_metadata["routing"]
        assert routing["provider"] == expected
        assert [a["outcome"] for a in routing["attempts"]] == ["answered"]


def aggregate(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    assert chunks, "the stream yielded nothing"
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


# --------------------------------------------------------------------------------------
# The class swap itself
# --------------------------------------------------------------------------------------


def test_the_table_is_written_for_groq() -> None:
    assert {entry["class"] for entry in app.MODEL_TABLE.values()} == {ChatGroq}


@pytest.mark.parametrize(
    ("name", "expected"),
    [("ChatGroq", ChatGroq), ("ChatCerebras", ChatCerebras), ("RoutedChatModel", RoutedChatModel)],
)
def test_classes_are_swapped_by_env_var(
    emulator_env: Emulator, monkeypatch: pytest.MonkeyPatch, name: str, expected: type
) -> None:
    monkeypatch.setenv(app.CLASS_ENV_VAR, name)
    assert {type(app.get_llm(model)) for model in app.MODEL_TABLE} == {expected}


def test_a_table_override_in_code_wins_over_the_env_var(
    emulator_env: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(app.CLASS_ENV_VAR, "ChatGroq")
    llm = app.get_llm(MODEL, class_override=ChatCerebras)
    assert isinstance(llm, ChatCerebras)
    assert llm.model_id == "gpt-oss-120b"  # the Groq id resolves through the catalogue
    assert app.MODEL_TABLE[MODEL]["class"] is ChatGroq  # the app's table is untouched


def test_an_unknown_class_name_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(app.CLASS_ENV_VAR, "ChatNope")
    with pytest.raises(ValueError, match="SAMPLE_APP_CHAT_CLASS='ChatNope'"):
        app.get_llm(MODEL)


# --------------------------------------------------------------------------------------
# invoke / stream with OpenAI-style dicts
# --------------------------------------------------------------------------------------


@all_variants()
def test_invoke_with_openai_style_dicts(setup: Setup) -> None:
    reply = app.chat_completion(setup.llm(), MESSAGES)
    assert isinstance(reply, AIMessage)
    assert reply.text
    assert reply.usage_metadata is not None and reply.usage_metadata["output_tokens"] > 0
    assert_answered_by(setup, reply)
    sent = setup.emulator.requests[-1].body["messages"]
    assert [m["role"] for m in sent] == ["system", "user"]


@all_variants()
def test_stream_with_openai_style_dicts(setup: Setup) -> None:
    llm = setup.llm()
    answer = llm.invoke(MESSAGES)
    chunks = list(llm.stream(MESSAGES))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert sum(1 for c in chunks if c.text) > 1, "the answer arrived in pieces"
    total = aggregate(chunks)
    assert total.text == answer.text
    assert total.usage_metadata is not None
    assert_answered_by(setup, total)


# --------------------------------------------------------------------------------------
# Where the sync API is called from
# --------------------------------------------------------------------------------------


def invoke_and_stream(llm: BaseChatModel) -> tuple[str, str]:
    """One sync invoke and one sync stream; their texts."""
    invoked = llm.invoke(MESSAGES).text
    streamed = "".join(c.text for c in llm.stream(MESSAGES))
    return invoked, streamed


@all_variants()
def test_sync_api_inside_an_async_handler(setup: Setup) -> None:
    llm = setup.llm()
    expected = llm.invoke(MESSAGES).text

    async def handler() -> tuple[tuple[str, str], Any, Any]:
        asyncio.get_running_loop()  # really inside a running loop
        direct = invoke_and_stream(llm)
        plain = await app.handle_chat_request({"model": MODEL, "messages": MESSAGES})
        streamed = await app.handle_chat_request(
            {"model": MODEL, "messages": MESSAGES, "stream": True}
        )
        return direct, plain, streamed

    direct, plain, streamed = asyncio.run(handler())
    assert direct == (expected, expected)
    assert plain["choices"][0]["message"]["content"] == expected
    assert sse_text(list(streamed)) == expected


@all_variants()
def test_sync_api_from_a_thread_pool(setup: Setup) -> None:
    llm = setup.llm()
    expected = llm.invoke(MESSAGES).text
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: invoke_and_stream(llm), range(8)))
    assert results == [(expected, expected)] * 8


@all_variants()
def test_sync_api_after_asyncio_run_closed_the_loop(setup: Setup) -> None:
    llm = setup.llm()
    expected = llm.invoke(MESSAGES).text

    async def handler() -> tuple[str, str]:
        return invoke_and_stream(llm)

    assert asyncio.run(handler()) == (expected, expected)
    assert asyncio.run(handler()) == (expected, expected)
    assert invoke_and_stream(llm) == (expected, expected)


@all_variants()
def test_sync_api_with_a_closed_loop_set_as_current(setup: Setup) -> None:
    llm = setup.llm()
    expected = llm.invoke(MESSAGES).text
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.close()
    try:
        assert invoke_and_stream(llm) == (expected, expected)
    finally:
        asyncio.set_event_loop(None)


@all_variants()
def test_sync_api_in_a_worker_thread_whose_loops_were_closed(setup: Setup) -> None:
    llm = setup.llm()
    expected = llm.invoke(MESSAGES).text
    outcome: list[Any] = []

    def worker() -> None:
        async def handler() -> tuple[str, str]:
            return invoke_and_stream(llm)

        try:
            outcome.append(asyncio.run(handler()))
            outcome.append(asyncio.run(handler()))
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            loop.close()
            outcome.append(invoke_and_stream(llm))
        except Exception as exc:  # reported to the test thread
            outcome.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(timeout=20)
    assert outcome == [(expected, expected)] * 3


@all_variants()
def test_async_api_in_successive_event_loops(setup: Setup) -> None:
    """Not a sync call shape, but the same apps also run ``ainvoke`` under ``asyncio.run``."""
    llm = setup.llm()
    replies = [asyncio.run(llm.ainvoke(MESSAGES)) for _ in range(3)]
    for reply in replies:
        assert_answered_by(setup, reply)
    assert len({r.text for r in replies}) == 1


# --------------------------------------------------------------------------------------
# Tools and the app's own tool loop
# --------------------------------------------------------------------------------------


@all_variants()
def test_bind_tools_and_the_apps_own_tool_loop(setup: Setup) -> None:
    result = app.run_tool_loop(setup.llm(), TOOL_QUESTION)
    assert result["tool_runs"] == ["lookup_customer"], "the tool ran exactly once"
    assert result["model_calls"] == 2
    tool_result = result["history"][3]["content"]
    assert json.loads(tool_result)["name"] == "unknown"  # the emulator invents the id
    assert tool_result in result["answer"], "the final answer is built on the tool's result"
    first, second = (r.body for r in setup.emulator.requests[-2:])
    assert {t["function"]["name"] for t in first["tools"]} == {"lookup_customer", "count_records"}
    roles = [m["role"] for m in second["messages"]]
    assert roles == ["system", "user", "assistant", "tool"]
    call = second["messages"][2]["tool_calls"][0]
    assert second["messages"][3]["tool_call_id"] == call["id"]
    assert setup.chat_requests("groq" if setup.variant.provider == "cerebras" else "cerebras") == 0


# --------------------------------------------------------------------------------------
# config: run_name, tags, metadata, callbacks
# --------------------------------------------------------------------------------------


class Recorder(BaseCallbackHandler):
    """Keeps what LangChain tells callback handlers about each chat-model run."""

    def __init__(self) -> None:
        self.starts: list[dict[str, Any]] = []
        self.ends: list[UUID] = []
        self.tokens: dict[UUID, list[str]] = {}

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.starts.append(
            {
                "run_id": run_id,
                "parent_run_id": parent_run_id,
                "name": kwargs.get("name"),
                "tags": tags,
                "metadata": metadata,
            }
        )

    def on_llm_new_token(
        self, token: str | list[str | dict[str, Any]], *, run_id: UUID, **kwargs: Any
    ) -> None:
        assert isinstance(token, str)
        self.tokens.setdefault(run_id, []).append(token)

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        self.ends.append(run_id)


@all_variants()
@pytest.mark.parametrize("call", ["invoke", "stream"])
def test_config_run_name_tags_metadata_and_callbacks(setup: Setup, call: str) -> None:
    recorder = Recorder()
    config: RunnableConfig = {
        "run_name": "tilores-chat",
        "tags": ["sample-app"],
        "metadata": {"session_id": "s-1"},
        "callbacks": [recorder],
    }
    llm = setup.llm()
    if call == "invoke":
        text = str(llm.invoke(MESSAGES, config=config).text)
    else:
        text = "".join(c.text for c in llm.stream(MESSAGES, config=config))
    assert text
    # The app's run is the root; a router may add one child run per routing attempt.
    (root,) = [s for s in recorder.starts if s["parent_run_id"] is None]
    assert root["name"] == "tilores-chat"
    assert "sample-app" in (root["tags"] or [])
    metadata = root["metadata"] or {}
    assert metadata["session_id"] == "s-1"
    assert metadata["ls_provider"] == setup.variant.provider
    if call == "stream":
        assert "".join(recorder.tokens[root["run_id"]]) == text, "every token reached the handler"
    for child in recorder.starts:
        assert (child["metadata"] or {}).get("session_id") == "s-1", "metadata is inherited"
    assert sorted(map(str, recorder.ends)) == sorted(str(s["run_id"]) for s in recorder.starts)


# --------------------------------------------------------------------------------------
# OpenAI-style SSE endpoint
# --------------------------------------------------------------------------------------


def parse_sse(lines: list[str]) -> list[dict[str, Any] | str]:
    """Each event as JSON (or the ``[DONE]`` marker); asserts the framing."""
    events: list[dict[str, Any] | str] = []
    for line in lines:
        assert line.startswith("data: ") and line.endswith("\n\n"), repr(line)
        data = line[len("data: ") : -2]
        events.append(data if data == "[DONE]" else json.loads(data))
    return events


def sse_text(lines: list[str]) -> str:
    events = parse_sse(lines)
    return "".join(
        str(e["choices"][0]["delta"].get("content") or "")
        for e in events
        if isinstance(e, dict) and e["choices"]
    )


@all_variants()
def test_sse_endpoint_forwards_stream_chunks(setup: Setup) -> None:
    llm = setup.llm()
    expected = llm.invoke(MESSAGES).text
    lines = list(app.sse_events(llm, MESSAGES, model=MODEL))
    events = parse_sse(lines)
    assert events[-1] == "[DONE]"
    chunks = [e for e in events[:-1] if isinstance(e, dict)]
    assert len(chunks) == len(events) - 1, "every line but the last is a JSON chunk"
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == MODEL for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    content_chunks = [c for c in chunks if c["choices"][0]["delta"].get("content")]
    assert len(content_chunks) > 1
    assert sse_text(lines) == expected
    final = chunks[-1]
    assert final["choices"][0]["finish_reason"] == "stop"
    assert final["usage"]["completion_tokens"] > 0


# --------------------------------------------------------------------------------------
# A history the API would reject
# --------------------------------------------------------------------------------------

ORPHAN_TOOL_RESULT: list[dict[str, Any]] = [
    {"role": "user", "content": "What is the answer?"},
    {"role": "tool", "tool_call_id": "call_missing", "content": "42"},
]


@all_variants()
@pytest.mark.parametrize("call", ["invoke", "stream"])
def test_a_history_the_api_would_reject_fails_fast(setup: Setup, call: str) -> None:
    llm = setup.llm()

    def run() -> None:
        if call == "invoke":
            llm.invoke(ORPHAN_TOOL_RESULT)
        else:
            list(llm.stream(ORPHAN_TOOL_RESULT))

    if setup.variant is GROQ:
        # The baseline has no local check: the API's 400, after exactly one request.
        with pytest.raises(groq.BadRequestError, match="tool_call_id"):
            run()
        assert setup.chat_requests() == 1
        return
    with pytest.raises(InvalidMessagesError) as caught:
        run()
    message = str(caught.value)
    assert "tool_call_id='call_missing'" in message
    assert "Put the AIMessage that made the tool call before it" in message  # names the fix
    assert setup.emulator.requests == [], "no request, so no failover storm"


# --------------------------------------------------------------------------------------
# Router behaviour the app's sync streaming relies on
# --------------------------------------------------------------------------------------


def test_sync_stream_fails_over_a_slow_first_token(emulator: Emulator) -> None:
    router = RoutedChatModel(
        routes={
            "cerebras": ChatCerebras(api_key="k", base_url=emulator.base_url),
            "groq": ChatGroq(model_name=MODEL, api_key="k", base_url=emulator.base_url),
        },
        priority="ultimate_speed",
        first_token_timeout=0.2,
    )
    emulator.inject(Fault.slow_first_token(1.0), provider="cerebras")
    total = aggregate(list(router.stream(MESSAGES)))
    outcomes = [(a["route"], a["outcome"]) for a in total.response_metadata["routing"]["attempts"]]
    assert outcomes == [("cerebras", "failed"), ("groq", "answered")]


def test_chatgroq_credential_kwargs_never_leak(emulator_env: Emulator) -> None:
    key = "gsk_sample_app_secret_0123456789"
    refused: Exception | None = None
    try:
        router = RoutedChatModel(model=MODEL, api_key=key, priority="ultimate_speed")
    except (TypeError, ValueError) as err:  # refusing the ambiguous kwarg is fine too
        refused = err
    if refused is not None:
        assert key not in str(refused)
        return
    assert key not in repr(router)
    router.invoke(MESSAGES)
    assert emulator_env.requests
    assert all(key not in json.dumps(r.body) for r in emulator_env.requests)
