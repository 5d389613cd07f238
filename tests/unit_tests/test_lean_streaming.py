"""Streams nothing observes keep no chunks, and yield what BaseChatModel.stream yields.

Every parity test runs a stream twice: once unobserved (the lean path) and once with a
no-op callback handler attached, which makes ``LeanStreamingChatModel`` defer to
``BaseChatModel.stream``; both must yield the same chunks.
"""

from __future__ import annotations

import gc
import uuid
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult, LLMResult
from langchain_core.rate_limiters import BaseRateLimiter
from langchain_core.tracers.context import collect_runs
from pydantic import BaseModel, Field

from langchain_cerebras_router import ChatCerebras, RoutedChatModel
from langchain_cerebras_router.lean_streaming import LeanStreamingChatModel
from tests.unit_tests.mock_cerebras import Answer, ErrorReply, FakeCerebras, tool_call


class _Scripted(LeanStreamingChatModel):
    """Yields ``texts`` one chunk each, the last with a finish reason; records kwargs."""

    texts: list[str] = Field(default_factory=lambda: ["Hel", "lo", "!"])
    fail_after: int | None = None
    seen_kwargs: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage("".join(self.texts)))])

    def _chunks(self, kwargs: dict[str, Any]) -> Iterator[ChatGenerationChunk]:
        self.seen_kwargs.append(kwargs)
        for position, text in enumerate(self.texts):
            if position == self.fail_after:
                raise ConnectionResetError("peer reset")
            last = position == len(self.texts) - 1
            yield ChatGenerationChunk(
                message=AIMessageChunk(content=text, response_metadata={"position": position}),
                generation_info={"finish_reason": "stop"} if last else None,
            )

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> Iterator[ChatGenerationChunk]:
        yield from self._chunks(kw)

    async def _astream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._chunks(kw):
            yield chunk


class _Recorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.ends: list[LLMResult] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        self.ends.append(response)


async def _collect(model: Any, api: str, config: dict[str, Any] | None, **kw: Any) -> list[Any]:
    if api == "stream":
        return list(model.stream("hi", config, **kw))
    return [chunk async for chunk in model.astream("hi", config, **kw)]


def _observed(config: dict[str, Any] | None = None) -> dict[str, Any]:
    return {**(config or {}), "callbacks": [BaseCallbackHandler()]}


async def _both_paths(model: Any, api: str, **kw: Any) -> tuple[list[Any], list[Any]]:
    run_id = uuid.uuid4()
    lean = await _collect(model, api, {"run_id": run_id}, **kw)
    full = await _collect(model, api, _observed({"run_id": run_id}), **kw)
    return lean, full


APIS = pytest.mark.parametrize("api", ["stream", "astream"])


@APIS
async def test_unobserved_and_observed_streams_yield_the_same_chunks(api: str) -> None:
    lean, full = await _both_paths(_Scripted(), api)
    assert [c.model_dump() for c in lean] == [c.model_dump() for c in full]
    assert [c.content for c in lean] == ["Hel", "lo", "!", ""]
    assert lean[-1].chunk_position == "last"
    assert lean[-2].response_metadata == {"finish_reason": "stop", "position": 2}


@APIS
async def test_chat_cerebras_paths_agree_on_text_reasoning_tools_and_usage(api: str) -> None:
    answer = Answer(
        content="It is sunny.",
        reasoning="The user asks about weather.",
        tool_calls=(tool_call("get_weather", {"city": "Paris"}),),
    )
    fake = FakeCerebras(default=answer)
    model = fake.chat_model(model="gpt-oss-120b")
    lean, full = await _both_paths(model, api)
    assert [c.model_dump() for c in lean] == [c.model_dump() for c in full]
    merged = sum(lean[1:], lean[0])
    assert merged.content == "It is sunny."
    assert merged.additional_kwargs["reasoning_content"] == "The user asks about weather."
    assert merged.tool_calls[0]["args"] == {"city": "Paris"}
    assert merged.usage_metadata is not None
    assert merged.response_metadata["time_info"]


@APIS
async def test_router_streams_take_the_lean_path_with_the_same_text(api: str) -> None:
    fake = FakeCerebras(default=Answer(content="Routed hello"))
    router = RoutedChatModel(routes={"cerebras": fake.chat_model()}, priority="ultimate_speed")
    lean, full = await _both_paths(router, api)
    assert "".join(c.content for c in lean) == "".join(c.content for c in full) == "Routed hello"
    assert lean[-1].chunk_position == full[-1].chunk_position == "last"
    assert {c.id for c in lean} == {c.id for c in full}


@APIS
async def test_message_ids_come_from_the_run_id_as_in_base_chat_model(api: str) -> None:
    run_id = uuid.uuid4()
    chunks = await _collect(_Scripted(), api, {"run_id": run_id})
    assert {c.id for c in chunks} == {f"lc_run--{run_id}"}
    fresh = await _collect(_Scripted(), api, None)
    assert len({c.id for c in fresh}) == 1
    assert fresh[0].id.startswith("lc_run--")


def _long_answer_models() -> dict[str, Any]:
    fake = FakeCerebras(default=Answer(content="x" * 200, chunk_chars=4))
    return {
        "scripted": _Scripted(texts=[f"t{i}" for i in range(50)]),
        "ChatCerebras": fake.chat_model(),
        "RoutedChatModel": RoutedChatModel(routes={"cerebras": fake.chat_model()}),
    }


@pytest.mark.parametrize("name", ["scripted", "ChatCerebras", "RoutedChatModel"])
def test_unobserved_stream_keeps_no_chunk_it_has_yielded(name: str) -> None:
    model = _long_answer_models()[name]
    stream = model.stream("hi")
    next(stream)  # the role chunk, for ChatCerebras
    first = weakref.ref(next(stream))
    next(stream)  # the stream holds only the latest chunk (to close the stream after it)
    gc.collect()
    assert first() is None  # the lean path let it go
    assert len(list(stream)) > 40

    observed = model.stream("hi", _observed())
    next(observed)
    kept = weakref.ref(next(observed))
    next(observed)
    gc.collect()
    assert kept() is not None  # BaseChatModel keeps chunks to merge them for on_llm_end
    list(observed)


@APIS
async def test_handlers_get_every_token_and_the_merged_generation(api: str) -> None:
    recorder = _Recorder()
    chunks = await _collect(_Scripted(), api, {"callbacks": [recorder]})
    assert recorder.tokens == ["Hel", "lo", "!", ""]
    assert recorder.ends[0].generations[0][0].text == "Hello!"
    assert len(chunks) == 4


def test_a_run_collector_in_context_is_an_observer() -> None:
    with collect_runs() as collector:
        list(_Scripted().stream("hi"))
    assert [run.outputs is not None for run in collector.traced_runs] == [True]


@APIS
async def test_events_stream_token_by_token(api: str) -> None:
    fake = FakeCerebras(default=Answer(content="one two three", chunk_chars=4))
    model = fake.chat_model()
    events = [e async for e in model.astream_events("hi", version="v2")]
    streamed = [e["data"]["chunk"].content for e in events if e["event"] == "on_chat_model_stream"]
    assert "".join(streamed) == "one two three"
    assert len([s for s in streamed if s]) == 4
    assert [e["event"] for e in events].count("on_chat_model_end") == 1


def test_langgraph_messages_mode_streams_tokens_from_a_streaming_node() -> None:
    from langgraph.graph import END, START, MessagesState, StateGraph

    fake = FakeCerebras(default=Answer(content="graph tokens here", chunk_chars=5))
    model = fake.chat_model()

    def node(state: MessagesState) -> dict[str, Any]:
        message = None
        for chunk in model.stream(state["messages"]):
            message = chunk if message is None else message + chunk
        return {"messages": [message]}

    graph = StateGraph(MessagesState).add_node("llm", node)
    graph = graph.add_edge(START, "llm").add_edge("llm", END).compile()
    tokens = [
        chunk.content
        for chunk, _ in graph.stream({"messages": [("user", "hi")]}, stream_mode="messages")
        if chunk.content
    ]
    assert "".join(tokens) == "graph tokens here"
    assert len(tokens) > 1


@APIS
async def test_a_rate_limiter_is_honoured(api: str) -> None:
    class Counting(BaseRateLimiter):
        calls = 0

        def acquire(self, *, blocking: bool = True) -> bool:
            Counting.calls += 1
            return True

        async def aacquire(self, *, blocking: bool = True) -> bool:
            Counting.calls += 1
            return True

    await _collect(_Scripted(rate_limiter=Counting()), api, None)
    assert Counting.calls == 1


@APIS
async def test_output_version_v1_still_gets_content_blocks(api: str) -> None:
    chunks = await _collect(_Scripted(output_version="v1"), api, None)
    assert chunks[0].content == [{"type": "text", "text": "Hel", "index": 0}]


@APIS
async def test_a_stream_with_no_chunk_fails_as_in_base_chat_model(api: str) -> None:
    for config in (None, _observed()):
        with pytest.raises(ValueError, match="No generation chunks were returned"):
            await _collect(_Scripted(texts=[]), api, config)


@APIS
async def test_a_failing_stream_raises_the_same_after_the_same_chunks(api: str) -> None:
    for config in (None, _observed()):
        received: list[str] = []
        model = _Scripted(fail_after=2)
        with pytest.raises(ConnectionResetError, match="peer reset"):
            if api == "stream":
                received.extend(c.content for c in model.stream("hi", config))
            else:
                async for chunk in model.astream("hi", config):
                    received.append(chunk.content)
        assert received == ["Hel", "lo"]


@APIS
async def test_tracing_only_kwargs_never_reach_the_provider(api: str) -> None:
    model = _Scripted()
    await _collect(model, api, None, ls_structured_output_format={"schema": {}}, seed=7)
    await _collect(model, api, _observed(), ls_structured_output_format={"schema": {}}, seed=7)
    assert model.seen_kwargs == [{"seed": 7}, {"seed": 7}]


@APIS
async def test_disabled_streaming_yields_the_invoke_result(api: str) -> None:
    chunks = await _collect(_Scripted(disable_streaming=True), api, None)
    assert [c.content for c in chunks] == ["Hello!"]


@APIS
async def test_structured_output_streams_on_the_lean_path(api: str) -> None:
    class Weather(BaseModel):
        city: str

    answer = Answer(content='{"city": "Paris"}')
    model = FakeCerebras(default=answer).chat_model()
    runnable = model.with_structured_output(Weather, method="json_schema")
    if api == "stream":
        outputs = list(runnable.stream("hi"))
    else:
        outputs = [o async for o in runnable.astream("hi")]
    assert outputs[-1] == Weather(city="Paris")


def test_http_errors_keep_their_type_on_both_paths() -> None:
    from cerebras.cloud.sdk import RateLimitError

    fake = FakeCerebras(ErrorReply(429, "slow down"), ErrorReply(429, "slow down"))
    model: ChatCerebras = fake.chat_model()
    for config in (None, _observed()):
        with pytest.raises(RateLimitError, match="slow down"):
            list(model.stream("hi", config))
