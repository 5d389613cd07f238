"""Tests for the speed monitor (``langchain_cerebras_router.metrics``) and its exports."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import threading
import types
import uuid
from collections.abc import Generator, Iterator
from typing import Any, cast

import httpx
import pytest
from langchain_core.callbacks import CallbackManager, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams
from langchain_core.language_models.fake import FakeListLLM
from langchain_core.language_models.fake_chat_models import (
    FakeListChatModel,
    GenericFakeChatModel,
)
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_groq import ChatGroq
from pydantic import SecretStr

from langchain_cerebras_router.metrics import (
    CallSample,
    SpeedMonitor,
    catalogue_advertised_speed,
    quantile,
)


class ManualClock:
    def __init__(self, start: float = 100.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingMonitor(SpeedMonitor):
    """Keeps every sample it records, to inspect per-call fields."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.samples: list[CallSample] = []

    def record(self, sample: CallSample) -> None:
        self.samples.append(sample)
        super().record(sample)


class RateLimited(Exception):
    failure_kind = "rate_limited"


class ScriptedChatModel(BaseChatModel):
    """Answers with a scripted message or chunks, advancing a manual clock as it goes."""

    clock: Any = None
    provider: str = "cerebras"
    model: str = "gpt-oss-120b"
    delay: float = 0.0
    result: Any = None
    llm_output: Any = None
    chunks: Any = ()
    error: Any = None

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return LangSmithParams(
            ls_provider=self.provider, ls_model_name=self.model, ls_model_type="chat"
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.clock.advance(self.delay)
        if self.error is not None:
            raise self.error
        return ChatResult(
            generations=[ChatGeneration(message=self.result)], llm_output=self.llm_output
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for delay, chunk in self.chunks:
            self.clock.advance(delay)
            yield ChatGenerationChunk(message=chunk)
        if self.error is not None:
            raise self.error


class WrapperChatModel(BaseChatModel):
    """A router-like model that calls an inner chat model with its child callbacks."""

    inner: Any

    @property
    def _llm_type(self) -> str:
        return "wrapper"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return LangSmithParams(ls_provider="routed", ls_model_name="auto", ls_model_type="chat")

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # What ParentRunManager.get_child does; LLM run managers have no such method.
        callbacks = None
        if run_manager is not None:
            callbacks = CallbackManager(
                handlers=run_manager.inheritable_handlers,
                inheritable_handlers=run_manager.inheritable_handlers,
                parent_run_id=run_manager.run_id,
            )
        answer = self.inner.invoke(messages, config={"callbacks": callbacks})
        return ChatResult(generations=[ChatGeneration(message=answer)])


def stream_script() -> list[tuple[float, AIMessageChunk]]:
    """Role-only chunk, three content chunks, and a usage/time_info chunk: Cerebras-shaped."""
    return [
        (0.1, AIMessageChunk(content="")),
        (0.2, AIMessageChunk(content="Hello")),
        (0.1, AIMessageChunk(content=" big")),
        (0.1, AIMessageChunk(content=" world")),
        (
            0.1,
            AIMessageChunk(
                content="",
                usage_metadata={"input_tokens": 12, "output_tokens": 30, "total_tokens": 42},
                response_metadata={
                    "model_name": "gpt-oss-120b",
                    "time_info": {"completion_time": 0.01, "total_time": 0.02},
                },
            ),
        ),
    ]


def make_streaming(clock: ManualClock, **kwargs: Any) -> ScriptedChatModel:
    return ScriptedChatModel(clock=clock, chunks=stream_script(), **kwargs)


# -- real LangChain runs ------------------------------------------------------------------


def test_invoke_records_latency_tokens_and_server_speed() -> None:
    monitor = SpeedMonitor(clock=iter([10.0, 10.5]).__next__, advertised=lambda p, m: None)
    message = AIMessage(
        content="hi",
        usage_metadata={"input_tokens": 7, "output_tokens": 100, "total_tokens": 107},
        response_metadata={"model_name": "llama3.1-8b", "time_info": {"completion_time": 0.25}},
    )
    model = GenericFakeChatModel(messages=iter([message]))
    model.invoke("Hi", config={"callbacks": [monitor]})

    (stats,) = monitor.stats()
    assert (stats.provider, stats.model) == ("genericfakechatmodel", "llama3.1-8b")
    assert (stats.calls, stats.errors, stats.availability) == (1, 0, 1.0)
    assert stats.latency_p50 == pytest.approx(0.5)
    assert stats.ttft_p50 is None
    assert stats.client_tokens_per_second_p50 == pytest.approx(200.0)
    assert stats.server_tokens_per_second_p50 == pytest.approx(400.0)
    assert (stats.input_tokens, stats.output_tokens, stats.streamed_calls) == (7, 100, 0)


def test_stream_records_ttft_from_first_content_chunk() -> None:
    clock = ManualClock()
    monitor = SpeedMonitor(clock=clock, advertised=lambda p, m: 6000.0)
    chunks = list(make_streaming(clock).stream("Hi", config={"callbacks": [monitor]}))
    assert "".join(str(c.content) for c in chunks) == "Hello big world"

    (stats,) = monitor.stats()
    assert (stats.provider, stats.model, stats.streamed_calls) == ("cerebras", "gpt-oss-120b", 1)
    assert stats.ttft_p50 == pytest.approx(0.3)  # the role-only chunk does not count
    assert stats.latency_p50 == pytest.approx(0.6)
    assert stats.client_tokens_per_second_p50 == pytest.approx(30 / 0.3)
    assert stats.server_tokens_per_second_p50 == pytest.approx(3000.0)
    assert stats.speed_ratio == pytest.approx(0.5)
    assert stats.ttft_sum == pytest.approx(0.3)
    assert stats.ttft_count == 1


def test_stream_counts_content_chunks_only() -> None:
    clock = ManualClock()
    monitor = RecordingMonitor(clock=clock)
    list(make_streaming(clock).stream("Hi", config={"callbacks": [monitor]}))
    assert (monitor.samples[0].chunks, monitor.samples[0].streamed) == (3, True)


def test_tool_call_chunk_counts_as_first_token() -> None:
    clock = ManualClock()
    monitor = SpeedMonitor(clock=clock, advertised=lambda p, m: None)
    tool_chunk = AIMessageChunk(
        content="",
        tool_call_chunks=[{"name": "search", "args": "{}", "id": "call_1", "index": 0}],
    )
    model = ScriptedChatModel(
        clock=clock, chunks=[(0.1, AIMessageChunk(content="")), (0.4, tool_chunk)]
    )
    list(model.stream("Hi", config={"callbacks": [monitor]}))
    assert monitor.stats()[0].ttft_p50 == pytest.approx(0.5)


async def test_ainvoke_and_astream() -> None:
    clock = ManualClock()
    monitor = SpeedMonitor(clock=clock, advertised=lambda p, m: None)
    streaming = make_streaming(clock)
    async for _ in streaming.astream("Hi", config={"callbacks": [monitor]}):
        pass
    invoking = ScriptedChatModel(
        clock=clock,
        delay=0.25,
        result=AIMessage(
            content="ok", usage_metadata={"input_tokens": 1, "output_tokens": 5, "total_tokens": 6}
        ),
    )
    await invoking.ainvoke("Hi", config={"callbacks": [monitor]})

    (stats,) = monitor.stats()
    assert (stats.calls, stats.streamed_calls) == (2, 1)
    assert stats.ttft_p50 == pytest.approx(0.3)
    assert stats.latency_sum == pytest.approx(0.6 + 0.25)
    assert stats.output_tokens == 35


async def test_concurrent_ainvoke_on_one_loop() -> None:
    monitor = SpeedMonitor(advertised=lambda p, m: None)
    model = FakeListChatModel(responses=["a"], callbacks=[monitor])
    await asyncio.gather(*(model.ainvoke("Hi") for _ in range(50)))
    (stats,) = monitor.stats()
    assert (stats.calls, monitor.in_flight_runs) == (50, 0)


def test_errors_by_kind_and_availability() -> None:
    clock = ManualClock()
    monitor = SpeedMonitor(clock=clock, advertised=lambda p, m: None)
    good = ScriptedChatModel(clock=clock, delay=1.0, result=AIMessage(content="ok"))
    limited = ScriptedChatModel(clock=clock, delay=0.01, error=RateLimited("429"))
    broken = ScriptedChatModel(clock=clock, delay=0.01, error=ValueError("bad"))
    good.invoke("x", config={"callbacks": [monitor]})
    for model in (limited, limited, broken):
        with pytest.raises((RateLimited, ValueError)):
            model.invoke("x", config={"callbacks": [monitor]})

    (stats,) = monitor.stats()
    assert (stats.calls, stats.errors, stats.window_errors) == (4, 3, 3)
    assert stats.errors_by_kind == {"rate_limited": 2, "ValueError": 1}
    assert stats.availability == pytest.approx(0.25)
    assert stats.latency_p99 == pytest.approx(1.0)  # failures do not drag latency down
    assert stats.latency_count == 1


def test_error_in_the_middle_of_a_stream() -> None:
    clock = ManualClock()
    monitor = SpeedMonitor(clock=clock)
    model = ScriptedChatModel(
        clock=clock, chunks=stream_script()[:2], error=ConnectionResetError("reset")
    )
    with pytest.raises(ConnectionResetError):
        list(model.stream("Hi", config={"callbacks": [monitor]}))
    (stats,) = monitor.stats()
    assert stats.errors_by_kind == {"ConnectionResetError": 1}
    assert (stats.streamed_calls, stats.ttft_p50) == (1, None)


def test_closing_a_stream_early_is_cancelled_not_an_error() -> None:
    clock = ManualClock()
    monitor = SpeedMonitor(clock=clock)
    stream = cast(
        "Generator[AIMessageChunk, None, None]",
        make_streaming(clock).stream("Hi", config={"callbacks": [monitor]}),
    )
    next(stream)
    stream.close()
    (stats,) = monitor.stats()
    assert (stats.calls, stats.errors, stats.cancelled, stats.availability) == (0, 0, 1, None)
    assert monitor.in_flight_runs == 0


async def test_closing_an_async_stream_early_is_cancelled() -> None:
    clock = ManualClock()
    monitor = SpeedMonitor(clock=clock)
    stream = make_streaming(clock).astream("Hi", config={"callbacks": [monitor]})
    await stream.__anext__()
    await stream.aclose()  # type: ignore[attr-defined]
    (stats,) = monitor.stats()
    assert (stats.calls, stats.cancelled) == (0, 1)


def test_batch_from_thread_pool() -> None:
    monitor = SpeedMonitor(advertised=lambda p, m: None)
    model = FakeListChatModel(responses=["a", "b"])
    model.batch(["x"] * 40, config={"callbacks": [monitor], "max_concurrency": 8})
    assert monitor.stats()[0].calls == 40


def test_text_completion_llm_runs() -> None:
    monitor = SpeedMonitor(advertised=lambda p, m: None)
    FakeListLLM(responses=["a"]).invoke("x", config={"callbacks": [monitor]})
    (stats,) = monitor.stats()
    assert (stats.provider, stats.model, stats.calls) == ("fakelist", "unknown", 1)


# -- where provider, model and speeds come from ---------------------------------------------


def test_provider_and_model_fall_back_to_invocation_params() -> None:
    monitor = SpeedMonitor(clock=ManualClock(), advertised=lambda p, m: None)
    for run_id, params in (
        (uuid.uuid4(), {"_type": "groq-chat", "model_name": "llama-3.1-8b-instant"}),
        (uuid.uuid4(), {"_type": "openai-chat", "model": "gpt-4o"}),
        (uuid.uuid4(), {}),
    ):
        monitor.on_chat_model_start({}, [[]], run_id=run_id, invocation_params=params)
        monitor.on_llm_end(llm_result(AIMessage(content="x")), run_id=run_id)
    keys = [(s.provider, s.model) for s in monitor.stats()]
    assert keys == [
        ("groq-chat", "llama-3.1-8b-instant"),
        ("openai-chat", "gpt-4o"),
        ("unknown", "unknown"),
    ]


def llm_result(message: AIMessage, llm_output: dict[str, Any] | None = None) -> Any:
    from langchain_core.outputs import LLMResult

    return LLMResult(generations=[[ChatGeneration(message=message)]], llm_output=llm_output)


@pytest.mark.parametrize(
    ("response_metadata", "expected"),
    [
        # a router stamps the answering route
        ({"model_provider": "groq", "model_name": "llama-3.3-70b-versatile"},
         ("groq", "llama-3.3-70b-versatile", None)),
        ({"model_provider": "openai", "model_name": "gpt-4o", "route": "quality"},
         ("openai", "gpt-4o", "quality")),
        # OpenAI-compatible classes stamp the wire format: the run's provider stays
        ({"model_provider": "openai", "model_name": "llama3.1-8b"},
         ("routed", "llama3.1-8b", None)),
        ({}, ("routed", "auto", None)),
    ],
)  # fmt: skip
def test_answering_provider_and_model(
    response_metadata: dict[str, Any], expected: tuple[str, str, str | None]
) -> None:
    clock = ManualClock()
    monitor = RecordingMonitor(clock=clock, advertised=lambda p, m: None)
    model = ScriptedChatModel(
        clock=clock,
        provider="routed",
        model="auto",
        result=AIMessage(content="x", response_metadata=response_metadata),
    )
    model.invoke("x", config={"callbacks": [monitor]})
    (recorded,) = monitor.samples
    assert (recorded.provider, recorded.model, recorded.route) == expected


def test_tokens_and_groq_timings_from_llm_output() -> None:
    clock = ManualClock()
    monitor = SpeedMonitor(clock=clock, advertised=lambda p, m: None)
    usage = {"completion_tokens": 50, "prompt_tokens": 5, "completion_time": 0.1}
    model = ScriptedChatModel(
        clock=clock,
        delay=0.5,
        result=AIMessage(content="x"),
        llm_output={"token_usage": usage, "model_name": "m"},
    )
    model.invoke("x", config={"callbacks": [monitor]})
    (stats,) = monitor.stats()
    assert (stats.model, stats.input_tokens, stats.output_tokens) == ("m", 5, 50)
    assert stats.server_tokens_per_second_p50 == pytest.approx(500.0)
    assert stats.client_tokens_per_second_p50 == pytest.approx(100.0)


def test_explicit_tokens_per_second_wins() -> None:
    clock = ManualClock()
    monitor = SpeedMonitor(clock=clock, advertised=lambda p, m: None)
    message = AIMessage(
        content="x",
        usage_metadata={"input_tokens": 1, "output_tokens": 10, "total_tokens": 11},
        response_metadata={"tokens_per_second": 2500.0, "time_info": {"completion_time": 1.0}},
    )
    ScriptedChatModel(clock=clock, result=message).invoke("x", config={"callbacks": [monitor]})
    assert monitor.stats()[0].server_tokens_per_second_p50 == 2500.0


def _groq(transport: httpx.MockTransport) -> ChatGroq:
    return ChatGroq(
        model_name="llama-3.3-70b-versatile",
        api_key=SecretStr("gsk-test"),
        max_retries=0,
        http_client=httpx.Client(transport=transport),
    )


def test_real_chatgroq_invoke_reports_server_speed() -> None:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "llama-3.3-70b-versatile",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 40,
            "total_tokens": 50,
            "queue_time": 0.01,
            "prompt_time": 0.002,
            "completion_time": 0.2,
            "total_time": 0.202,
        },
    }
    monitor = SpeedMonitor(clock=ManualClock(), advertised=lambda p, m: None)
    model = _groq(httpx.MockTransport(lambda request: httpx.Response(200, json=body)))
    model.invoke("Hi", config={"callbacks": [monitor]})
    (stats,) = monitor.stats()
    assert (stats.provider, stats.model) == ("groq", "llama-3.3-70b-versatile")
    assert (stats.input_tokens, stats.output_tokens) == (10, 40)
    assert stats.server_tokens_per_second_p50 == pytest.approx(200.0)


def test_real_chatgroq_stream_keeps_tokens_but_drops_timings() -> None:
    base = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    events = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
        {**base, "choices": [{"index": 0, "delta": {"content": "Hello"}}]},
        {
            **base,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "x_groq": {
                "id": "req_1",
                "usage": {
                    "prompt_tokens": 9,
                    "completion_tokens": 2,
                    "total_tokens": 11,
                    "completion_time": 0.004,
                },
            },
        },
    ]
    sse = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=sse.encode(), headers={"content-type": "text/event-stream"}
        )

    monitor = SpeedMonitor(clock=ManualClock(), advertised=lambda p, m: None)
    chunks = list(_groq(httpx.MockTransport(handler)).stream("Hi", config={"callbacks": [monitor]}))
    assert any(c.content == "Hello" for c in chunks)
    (stats,) = monitor.stats()
    assert (stats.provider, stats.model) == ("groq", "llama-3.3-70b-versatile")
    assert (stats.input_tokens, stats.output_tokens, stats.streamed_calls) == (9, 2, 1)
    # langchain_groq keeps only token counts from x_groq.usage, not completion_time.
    assert stats.server_tokens_per_second_p50 is None


# -- rolling windows, quantiles, advertised speed -------------------------------------------


def sample(latency: float, *, ok: bool = True, **kwargs: Any) -> CallSample:
    fields: dict[str, Any] = {
        "provider": "cerebras",
        "model": "m",
        "started_at": 0.0,
        "ttft": None,
        "latency": latency,
        "output_tokens": None,
        "input_tokens": None,
        "server_tokens_per_second": None,
        "ok": ok,
        "error_kind": None if ok else "timeout",
        "streamed": False,
    }
    return CallSample(**{**fields, **kwargs})


def test_quantile_linear_interpolation() -> None:
    values = [float(v) for v in range(1, 101)]
    assert quantile(values, 0.5) == pytest.approx(50.5)
    assert quantile(values, 0.95) == pytest.approx(95.05)
    assert quantile(values, 0.99) == pytest.approx(99.01)
    assert quantile([3.0], 0.99) == 3.0
    assert quantile([], 0.5) is None


def test_rolling_window_keeps_counters_cumulative() -> None:
    monitor = SpeedMonitor(window=10, advertised=lambda p, m: None)
    for latency in range(1, 21):
        monitor.record(sample(float(latency)))
    monitor.record(sample(0.0, ok=False))
    (stats,) = monitor.stats()
    assert (stats.calls, stats.window_calls, stats.errors, stats.window_errors) == (21, 10, 1, 1)
    assert stats.availability == pytest.approx(0.9)
    assert stats.latency_p50 == pytest.approx(16.0)  # samples 12..20 (11 fell out)
    assert stats.latency_sum == pytest.approx(sum(range(1, 21)))


def test_records_are_shuffled_then_sorted() -> None:
    monitor = SpeedMonitor(advertised=lambda p, m: None)
    for latency in (5.0, 1.0, 4.0, 2.0, 3.0):
        monitor.record(sample(latency, ttft=latency / 10, streamed=True))
    (stats,) = monitor.stats()
    assert stats.latency_p50 == pytest.approx(3.0)
    assert stats.ttft_p50 == pytest.approx(0.3)


def test_speed_ratio_uses_server_then_client_speed() -> None:
    monitor = SpeedMonitor(advertised=lambda p, m: {"a": 1000.0, "b": 400.0}.get(m))
    monitor.record(sample(1.0, model="a", output_tokens=100, server_tokens_per_second=500.0))
    monitor.record(sample(0.5, model="b", output_tokens=100))
    monitor.record(sample(0.5, model="c", output_tokens=100))
    a, b, c = monitor.stats()
    assert (a.speed_ratio, a.advertised_tokens_per_second) == (0.5, 1000.0)
    assert b.speed_ratio == pytest.approx(0.5)  # 200 t/s client-side
    assert (c.speed_ratio, c.advertised_tokens_per_second) == (None, None)


def test_client_speed_edge_cases() -> None:
    assert sample(1.0, output_tokens=0).client_tokens_per_second is None
    assert sample(1.0, output_tokens=None).client_tokens_per_second is None
    assert sample(1.0, output_tokens=5, ttft=1.0).client_tokens_per_second is None
    assert sample(2.0, output_tokens=5, ttft=1.0).client_tokens_per_second == 5.0


def test_default_advertised_speed_reads_the_catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    class Catalogue:
        @staticmethod
        def default() -> Catalogue:
            return Catalogue()

        def advertised_tokens_per_second(self, provider: str, model: str) -> float | None:
            return 3000.0 if (provider, model) == ("cerebras", "gpt-oss-120b") else None

    module = types.ModuleType("langchain_cerebras_router.catalogue")
    module.ModelCatalogue = Catalogue  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "langchain_cerebras_router.catalogue", module)
    assert catalogue_advertised_speed("cerebras", "gpt-oss-120b") == 3000.0
    assert catalogue_advertised_speed("groq", "x") is None
    monitor = SpeedMonitor()
    monitor.record(sample(1.0, model="gpt-oss-120b", output_tokens=1500))
    assert monitor.stats()[0].speed_ratio == pytest.approx(0.5)


def test_default_advertised_speed_without_catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "langchain_cerebras_router.catalogue", None)
    assert catalogue_advertised_speed("cerebras", "gpt-oss-120b") is None


def test_stats_filters_and_reset() -> None:
    monitor = SpeedMonitor(advertised=lambda p, m: None)
    monitor.record(sample(1.0))
    monitor.record(sample(1.0, provider="groq"))
    monitor.record(sample(1.0, provider="groq", model="n"))
    assert [s.model for s in monitor.stats(provider="groq")] == ["m", "n"]
    assert [s.provider for s in monitor.stats(model="m")] == ["cerebras", "groq"]
    assert len(monitor.stats(provider="groq", model="n")) == 1
    monitor.reset()
    assert monitor.stats() == []


def test_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="window"):
        SpeedMonitor(window=0)
    with pytest.raises(ValueError, match="max_in_flight"):
        SpeedMonitor(max_in_flight=0)


# -- nesting, memory, threads ---------------------------------------------------------------


@pytest.mark.parametrize(("record_wrappers", "expected"), [(False, 1), (True, 2)])
def test_wrapper_runs_are_not_double_counted(record_wrappers: bool, expected: int) -> None:
    clock = ManualClock()
    monitor = SpeedMonitor(clock=clock, record_wrapper_runs=record_wrappers)
    inner = ScriptedChatModel(clock=clock, result=AIMessage(content="x"))
    WrapperChatModel(inner=inner).invoke("x", config={"callbacks": [monitor]})
    stats = monitor.stats()
    assert sum(s.calls for s in stats) == expected
    assert ("cerebras", "gpt-oss-120b") in {(s.provider, s.model) for s in stats}


def test_runs_cancelled_mid_call_stop_counting_as_in_flight() -> None:
    """LangChain sends no end event for a cancelled call: such runs age out."""
    clock = ManualClock()
    monitor = SpeedMonitor(clock=clock, max_run_age=600.0)
    for _ in range(3):
        monitor.on_chat_model_start({}, [[]], run_id=uuid.uuid4(), metadata={"ls_provider": "p"})
    clock.advance(601.0)
    live = uuid.uuid4()
    monitor.on_chat_model_start({}, [[]], run_id=live, metadata={"ls_provider": "p"})
    assert (monitor.in_flight_runs, monitor.evicted_runs) == (1, 3)
    monitor.on_llm_end(llm_result(AIMessage(content="x")), run_id=live)
    assert (monitor.stats()[0].calls, monitor.in_flight_runs) == (1, 0)
    keep = SpeedMonitor(clock=clock, max_run_age=None)
    keep.on_chat_model_start({}, [[]], run_id=uuid.uuid4(), metadata={"ls_provider": "p"})
    clock.advance(10_000.0)
    keep.on_chat_model_start({}, [[]], run_id=uuid.uuid4(), metadata={"ls_provider": "p"})
    assert keep.in_flight_runs == 2


def test_runs_that_never_end_are_bounded() -> None:
    monitor = SpeedMonitor(clock=ManualClock(), max_in_flight=100)
    run_ids = [uuid.uuid4() for _ in range(1000)]
    for run_id in run_ids:
        monitor.on_chat_model_start({}, [[]], run_id=run_id, metadata={"ls_provider": "p"})
    assert (monitor.in_flight_runs, monitor.evicted_runs) == (100, 900)
    monitor.on_llm_new_token("x", run_id=run_ids[0])
    monitor.on_llm_end(llm_result(AIMessage(content="x")), run_id=run_ids[0])
    monitor.on_llm_error(ValueError(), run_id=run_ids[1])
    assert monitor.stats() == []
    monitor.on_llm_end(llm_result(AIMessage(content="x")), run_id=run_ids[-1])
    assert (monitor.stats()[0].calls, monitor.in_flight_runs) == (1, 99)


def test_many_threads_recording_and_reading() -> None:
    monitor = SpeedMonitor(window=50, advertised=lambda p, m: None)
    barrier = threading.Barrier(17)
    failures: list[BaseException] = []

    def writer(index: int) -> None:
        barrier.wait()
        for n in range(500):
            monitor.record(sample(1.0, model=f"m{index % 4}", ok=n % 10 != 0, output_tokens=2))

    def reader() -> None:
        barrier.wait()
        try:
            for _ in range(200):
                monitor.stats()
                monitor.to_prometheus()
        except BaseException as exc:  # pragma: no cover - only on a bug
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(16)]
    threads.append(threading.Thread(target=reader))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    stats = monitor.stats()
    assert [s.calls for s in stats] == [2000] * 4
    assert [s.errors for s in stats] == [200] * 4
    assert all(s.window_calls == 50 for s in stats)
    assert sum(s.output_tokens for s in stats) == 16 * 500 * 2


# -- exports ----------------------------------------------------------------------------------


def populated_monitor() -> SpeedMonitor:
    monitor = SpeedMonitor(advertised=lambda p, m: 1000.0 if p == "cerebras" else None)
    monitor.record(
        sample(0.5, ttft=0.1, streamed=True, output_tokens=200, input_tokens=10, route="fast")
    )
    monitor.record(sample(0.2, ok=False, error_kind="rate_limited"))
    monitor.record(sample(0.3, provider="groq", model='we"ird\\name\nx', output_tokens=30))
    return monitor


def test_json_export() -> None:
    data = json.loads(populated_monitor().to_json(indent=2))
    assert set(data) == {"window", "in_flight_runs", "evicted_runs", "models"}
    cerebras = next(m for m in data["models"] if m["provider"] == "cerebras")
    assert cerebras["errors_by_kind"] == {"rate_limited": 1}
    assert cerebras["availability"] == 0.5
    assert cerebras["client_tokens_per_second_p50"] == pytest.approx(500.0)
    assert cerebras["speed_ratio"] == pytest.approx(0.5)


SAMPLE_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$")


def test_prometheus_text_format() -> None:
    text = populated_monitor().to_prometheus()
    assert text.endswith("\n")
    declared: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split()[2]
            assert name.startswith("langchain_router_")
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            declared[name] = kind
        else:
            match = SAMPLE_LINE.match(line)
            assert match, line
            name = match.group(1)
            family = re.sub(r"_(sum|count)$", "", name)
            assert name in declared or declared.get(family) == "summary", line
            float(match.group(4))
    assert declared["langchain_router_calls_total"] == "counter"
    assert declared["langchain_router_latency_seconds"] == "summary"
    assert declared["langchain_router_speed_ratio"] == "gauge"
    assert (
        'langchain_router_errors_total{kind="rate_limited",model="m",provider="cerebras"} 1.0'
        in text
    )
    assert (
        'langchain_router_latency_seconds{model="m",provider="cerebras",quantile="0.5"} 0.5' in text
    )
    assert 'model="we\\"ird\\\\name\\nx"' in text


def test_prometheus_text_parses_with_the_official_parser() -> None:
    from prometheus_client.parser import text_string_to_metric_families

    families = {
        f.name: f for f in text_string_to_metric_families(populated_monitor().to_prometheus())
    }
    calls = {s.labels["model"]: s.value for s in families["langchain_router_calls"].samples}
    assert calls == {"m": 2.0, 'we"ird\\name\nx': 1.0}
    assert families["langchain_router_time_to_first_token_seconds"].type == "summary"


def test_register_prometheus_matches_hand_rendered_text() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    monitor = populated_monitor()
    registry = CollectorRegistry()
    collector = monitor.register_prometheus(registry)
    assert generate_latest(registry).decode() == monitor.to_prometheus()
    labels = {"provider": "cerebras", "model": "m"}
    assert registry.get_sample_value("langchain_router_calls_total", labels) == 2.0
    monitor.record(sample(0.4))
    assert registry.get_sample_value("langchain_router_calls_total", labels) == 3.0
    registry.unregister(collector)
    assert registry.get_sample_value("langchain_router_calls_total", labels) is None


def test_large_values_format_like_prometheus_client() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    monitor = SpeedMonitor(advertised=lambda p, m: None)
    monitor.record(sample(1.0, output_tokens=123_456_789, input_tokens=10**12))
    registry = CollectorRegistry()
    monitor.register_prometheus(registry)
    assert generate_latest(registry).decode() == monitor.to_prometheus()
    assert "1.23456789e+08" in monitor.to_prometheus()


def test_register_prometheus_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    with pytest.raises(ImportError, match=r"langchain-cerebras-router\[prometheus\]"):
        SpeedMonitor().register_prometheus()


def test_record_attempt_is_record_of_the_same_fields_once_read() -> None:
    from dataclasses import astuple

    sample = CallSample(
        provider="cerebras",
        model="gpt-oss-120b",
        started_at=1.0,
        ttft=0.05,
        latency=0.5,
        output_tokens=100,
        input_tokens=20,
        server_tokens_per_second=2000.0,
        ok=True,
        error_kind=None,
        streamed=True,
        route="fast",
        chunks=100,
    )
    failed = CallSample("groq", "llama", 2.0, None, 0.1, None, None, None, False, "timeout", False)
    eager, deferred = SpeedMonitor(), SpeedMonitor()
    for one in (sample, failed):
        eager.record(one)
        deferred.record_attempt(*astuple(one))
    assert deferred.stats() == eager.stats()
    assert deferred.to_dict() == eager.to_dict()


def test_record_attempt_stays_bounded_without_reads() -> None:
    monitor = SpeedMonitor(window=10)
    for index in range(1000):
        monitor.record_attempt("p", "m", float(index), None, 0.1, 1, 1, None, True, None, False)
    assert len(monitor._pending) <= 11
    (stats,) = monitor.stats()
    assert stats.calls == 1000
    monitor.record_attempt("p", "m", 0.0, None, 0.1, 1, 1, None, True, None, False)
    monitor.reset()
    assert monitor.stats() == []
