"""RoutedChatModel behaviour on the emulator: policy, failover rules, health, hedging."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cerebras.cloud.sdk import BadRequestError
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import LangSmithParams
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.tools import tool
from langchain_groq import ChatGroq
from pydantic import BaseModel, Field

from langchain_cerebras_router import (
    AllRoutesFailedError,
    ChatCerebras,
    InMemoryHealthStore,
    InvalidToolChoiceError,
    PartialStreamError,
    RoutedChatModel,
)
from langchain_cerebras_router.health import BreakerConfig
from langchain_cerebras_router.policy import FastestFirstPolicy, PriorityPolicy
from langchain_cerebras_router.testing import Emulator, Fault


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cerebras(emulator: Emulator, **kwargs: Any) -> ChatCerebras:
    return ChatCerebras(api_key="k", base_url=emulator.base_url, **kwargs)


def groq(emulator: Emulator, model: str = "llama-3.3-70b-versatile") -> ChatGroq:
    return ChatGroq(model=model, api_key="k", base_url=emulator.base_url)


def router(emulator: Emulator, **kwargs: Any) -> RoutedChatModel:
    kwargs.setdefault("priority", "ultimate_speed")
    kwargs.setdefault("timeout", 2.0)
    return RoutedChatModel(
        routes={"cerebras": cerebras(emulator), "groq": groq(emulator)}, **kwargs
    )


def answered_by(message: AIMessage) -> str:
    return str(message.response_metadata["routing"]["route"])


@tool
def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return f"sunny in {city}"


class Answer(BaseModel):
    answer: str
    confidence: int


class Note(BaseModel):
    title: str
    body: str


# ------------------------------------------------------------------ construction


def test_sequence_routes_are_named_by_provider(emulator: Emulator) -> None:
    model = RoutedChatModel(
        routes=[cerebras(emulator), groq(emulator), groq(emulator, "llama-3.1-8b-instant")]
    )
    assert list(model.routes) == ["cerebras", "groq", "groq/llama-3.1-8b-instant"]


def test_members_lose_their_sdk_retries(emulator: Emulator) -> None:
    original_groq = groq(emulator)
    model = RoutedChatModel(routes={"c": cerebras(emulator, max_retries=5), "g": original_groq})
    assert model.routes["c"].max_retries == 0  # type: ignore[attr-defined]
    member: Any = model.routes["g"]
    assert member.max_retries == 0
    # The SDK clients themselves retry no more; given no HTTP client of its own, the copy
    # gets the router's (which reads rate-limit headers), sharing the TLS context.
    assert member.client._client.max_retries == 0
    assert member.async_client._client.max_retries == 0
    assert member.client._client._client is not original_groq.client._client._client
    assert original_groq.client._client.max_retries == 2  # the caller's model is untouched


def test_drop_in_construction_from_env(
    emulator_env: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    model = RoutedChatModel(
        model="llama-3.3-70b-versatile",
        temperature=0.2,
        max_tokens=64,
        timeout=5,
        max_retries=1,
        streaming=False,
    )
    assert list(model.routes) == ["cerebras", "groq", "groq/deepseek-r1-distill-llama-70b"]
    assert model.routes["cerebras"].model_id == "gpt-oss-120b"  # type: ignore[attr-defined]
    assert model.routes["groq"].model_name == "llama-3.3-70b-versatile"  # type: ignore[attr-defined]
    # No network I/O at construction.
    assert emulator_env.requests == []
    message = model.invoke("hello")
    assert answered_by(message) == "groq"  # balanced: Groq first, as the seed


def test_drop_in_skips_providers_without_keys(
    emulator_env: Emulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("CEREBRAS_API_KEY")
    with caplog.at_level(logging.INFO, logger="langchain_cerebras_router"):
        model = RoutedChatModel(model="llama-3.3-70b-versatile")
    assert "cerebras" not in model.routes
    assert "no CEREBRAS_API_KEY" in caplog.text


def test_no_route_at_all_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CEREBRAS_API_KEY", "GROQ_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="no route"):
        RoutedChatModel(model="llama-3.3-70b-versatile")


def test_default_priority_from_env(emulator_env: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGCHAIN_ROUTER_PRIORITY", "ultimate_speed")
    model = RoutedChatModel(model="llama-3.3-70b-versatile")
    assert answered_by(model.invoke("hi")) == "cerebras"


def test_unknown_priority_is_rejected(emulator: Emulator) -> None:
    with pytest.raises(ValueError, match="priority"):
        router(emulator, priority="warp")


# ------------------------------------------------------------------ policy


@pytest.mark.parametrize(
    ("priority", "expected"),
    [("ultimate_speed", "cerebras"), ("speed", "groq"), ("balanced", "groq"), ("quality", "groq")],
)
def test_priority_picks_the_first_route(emulator: Emulator, priority: str, expected: str) -> None:
    assert answered_by(router(emulator, priority=priority).invoke("hi")) == expected


def test_priority_per_call_by_kwarg_and_config(emulator: Emulator) -> None:
    model = router(emulator, priority="speed")
    assert answered_by(model.invoke("hi", priority="ultimate_speed")) == "cerebras"
    config = {"configurable": {"priority": "ultimate_speed"}}
    assert answered_by(model.invoke("hi", config=config)) == "cerebras"  # type: ignore[arg-type]
    assert answered_by(asyncio.run(model.ainvoke("hi", config=config))) == "cerebras"  # type: ignore[arg-type]
    assert answered_by(model.invoke("hi")) == "groq"


def test_langsmith_params_follow_the_first_route(emulator: Emulator) -> None:
    model = router(emulator)
    assert model._get_ls_params()["ls_provider"] == "cerebras"
    assert model._get_ls_params(priority="speed")["ls_provider"] == "groq"


# ------------------------------------------------------------------ failover rules


def test_bad_request_is_not_hidden_by_failover(emulator: Emulator) -> None:
    emulator.inject(Fault.status(400), provider="cerebras")
    with pytest.raises(BadRequestError):
        router(emulator).invoke("hi")
    assert emulator.request_count("groq") == 0


def test_failover_on_bad_request_when_asked(emulator: Emulator) -> None:
    emulator.inject(Fault.status(400), provider="cerebras")
    assert answered_by(router(emulator, failover_on_bad_request=True).invoke("hi")) == "groq"


def test_a_route_whose_model_is_retired_fails_over(emulator: Emulator) -> None:
    # providers.md: model ids are retired often. The route answers 404 model_not_found;
    # another provider serving the model must answer, and the route's failures count.
    model = RoutedChatModel(
        routes={"cerebras": cerebras(emulator, model="retired-model-1"), "groq": groq(emulator)},
        priority="ultimate_speed",
    )
    for _ in range(3):
        message = model.invoke("hi")
        assert answered_by(message) == "groq"
    explanation = message.response_metadata["routing"]
    assert "model_not_found" in str(explanation)
    assert model.health.snapshot("cerebras").state == "open"


def test_a_per_call_model_no_route_serves_leaves_every_route_healthy(emulator: Emulator) -> None:
    """A caller's unknown ``model=`` (a typo, a client-chosen name) is that call's problem:
    it must not open the breakers every other call depends on, nor add monitor series."""
    model = router(emulator)
    for index in range(5):
        with pytest.raises(AllRoutesFailedError) as info:
            model.invoke("hi", model=f"client-typo-{index}")
        assert {a.failure_kind for a in info.value.attempts} == {"model_not_found"}
    assert model.health.snapshot("cerebras").state == "closed"
    assert model.health.snapshot("groq").state == "closed"
    assert answered_by(model.invoke("hi")) == "cerebras"
    assert model.monitor is not None
    series = {(s.provider, s.model) for s in model.monitor.stats()}
    assert not any("typo" in name for _, name in series)


def test_invalid_history_fails_fast_without_any_request(emulator: Emulator) -> None:
    from langchain_core.messages import ToolMessage

    from langchain_cerebras_router import InvalidMessagesError

    model = router(emulator)
    with pytest.raises(InvalidMessagesError, match="tool_call_id"):
        model.invoke([HumanMessage("hi"), ToolMessage("42", tool_call_id="call_missing")])
    assert emulator.requests == []


def test_unauthorized_route_is_disabled(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    model = router(emulator)
    emulator.inject(Fault.unauthorized(), provider="cerebras")
    assert answered_by(model.invoke("hi")) == "groq"
    assert "disabled" in caplog.text
    second = model.invoke("hi")
    assert answered_by(second) == "groq"
    assert second.response_metadata["routing"]["attempts"][0]["outcome"] == "skipped"
    assert emulator.request_count("cerebras") == 1


def test_every_route_failing_raises_one_error_listing_attempts(emulator: Emulator) -> None:
    model = router(emulator, max_retries=0)
    emulator.inject(Fault.status(503), provider="cerebras")
    emulator.inject(Fault.status(502), provider="groq")
    with pytest.raises(AllRoutesFailedError) as caught:
        model.invoke("hi")
    error = caught.value
    assert [a.route for a in error.attempts] == ["cerebras", "groq"]
    assert "HTTP 503" in str(error) and "HTTP 502" in str(error)
    assert error.failure_kind == "server_error"


def test_router_retries_a_pass_after_all_routes_failed(emulator: Emulator) -> None:
    model = router(emulator, max_retries=1)
    emulator.inject(Fault.status(503), provider="cerebras")
    emulator.inject(Fault.status(503), provider="groq")
    message = model.invoke("hi")
    outcomes = [
        (a["route"], a["outcome"]) for a in message.response_metadata["routing"]["attempts"]
    ]
    assert outcomes[:2] == [("cerebras", "failed"), ("groq", "failed")]
    assert outcomes[-1][1] == "answered"


def test_deadline_bounds_the_whole_call(emulator: Emulator) -> None:
    model = router(emulator, timeout=5.0, deadline=0.3, max_retries=0)
    emulator.inject(Fault.stall(0, 30), provider="cerebras")
    emulator.inject(Fault.stall(0, 30), provider="groq")
    with pytest.raises(AllRoutesFailedError, match="deadline") as caught:
        model.invoke("hi")
    # The attempt was cut when the deadline came, not at the 5 s attempt timeout.
    (attempt,) = caught.value.attempts
    assert attempt.failure_kind == "timeout"
    assert attempt.elapsed_ms is not None and attempt.elapsed_ms < 5000


async def test_async_member_stuck_is_abandoned(emulator: Emulator) -> None:
    model = router(emulator, timeout=0.2)
    emulator.inject(Fault.slow_first_token(30), provider="cerebras")
    message = await model.ainvoke("hi")
    assert answered_by(message) == "groq"
    assert message.response_metadata["routing"]["attempts"][0]["failure_kind"] == "timeout"


# ------------------------------------------------------------------ health


def test_circuit_breaker_opens_then_probes(emulator: Emulator) -> None:
    clock = FakeClock()
    health = InMemoryHealthStore(BreakerConfig(failure_threshold=2, open_seconds=30), clock=clock)
    model = router(emulator, health=health)
    emulator.inject(Fault.status(503), provider="cerebras", times=2)
    for _ in range(2):
        assert answered_by(model.invoke("hi")) == "groq"
    assert health.snapshot("cerebras").state == "open"
    # Open: Cerebras is skipped without a request.
    skipped = model.invoke("hi")
    assert skipped.response_metadata["routing"]["attempts"][0]["outcome"] == "skipped"
    assert emulator.request_count("cerebras") == 2
    # After the open period one probe goes through; its success closes the breaker.
    clock.now += 31
    assert answered_by(model.invoke("hi")) == "cerebras"
    assert health.snapshot("cerebras").state == "closed"


def test_rate_limit_headers_steer_traffic_before_a_429(emulator: Emulator) -> None:
    emulator.set_rate_limits("cerebras", requests_per_day=1)
    model = router(emulator)
    assert answered_by(model.invoke("hi")) == "cerebras"  # response says 0 requests left
    second = model.invoke("hi")
    assert answered_by(second) == "groq"
    assert "rate limit" in second.response_metadata["routing"]["attempts"][0]["reason"]
    assert emulator.request_count("cerebras") == 1  # never hit the 429


def test_a_burst_of_fast_calls_moves_away_before_the_token_budget_runs_out(
    emulator: Emulator,
) -> None:
    # Headers are parsed only now and then far from a limit; the tokens the router spends
    # in between must still bring the parse forward before the budget is gone.
    emulator.set_rate_limits("cerebras", tokens_per_minute=1_000)
    model = router(emulator)
    answers = [answered_by(model.invoke("Say hello")) for _ in range(40)]
    assert answers[0] == "cerebras" and answers[-1] == "groq"
    rejected = [r for r in emulator.requests if r.provider == "cerebras" and r.status == 429]
    assert rejected == []


def test_a_429_without_retry_after_fails_over_and_counts_against_the_route(
    emulator: Emulator,
) -> None:
    """A provider may rate-limit without saying when to come back: fail over at once."""
    model = router(emulator, health=InMemoryHealthStore(BreakerConfig(failure_threshold=2)))
    emulator.inject(Fault.rate_limit(retry_after=None), provider="cerebras", times=None)
    first = model.invoke("hi").response_metadata["routing"]
    assert first["route"] == "groq"
    assert [(a["route"], a.get("failure_kind")) for a in first["attempts"]] == [
        ("cerebras", "rate_limited"),
        ("groq", None),
    ]
    model.invoke("hi")
    third = model.invoke("hi").response_metadata["routing"]["attempts"][0]
    assert third["outcome"] == "skipped" and "circuit open" in third["reason"]
    assert emulator.request_count("cerebras") == 2


def test_retry_after_is_honoured_by_skipping(emulator: Emulator) -> None:
    model = router(emulator)
    emulator.inject(Fault.rate_limit(retry_after=30), provider="cerebras")
    model.invoke("hi")
    second = model.invoke("hi")
    assert "retry-after" in second.response_metadata["routing"]["attempts"][0]["reason"]
    assert emulator.request_count("cerebras") == 1


# ------------------------------------------------------------------ hedging


async def test_hedging_starts_the_next_route_and_keeps_the_first_answer(emulator: Emulator) -> None:
    model = router(emulator, hedge_after=0.05, timeout=10.0)
    emulator.inject(Fault.slow_first_token(5), provider="cerebras")
    message = await model.ainvoke("hi")
    routing = message.response_metadata["routing"]
    assert routing["route"] == "groq" and routing["hedged"]
    outcomes = {a["route"]: a["outcome"] for a in routing["attempts"]}
    assert outcomes == {"cerebras": "cancelled", "groq": "answered"}


def test_sync_hedged_stream(emulator: Emulator) -> None:
    model = router(emulator, hedge_after=0.05, timeout=10.0)
    emulator.inject(Fault.slow_first_token(5), provider="cerebras")
    full = None
    for chunk in model.stream("hi"):
        full = chunk if full is None else full + chunk
    assert full is not None
    routing = full.response_metadata["routing"]
    assert routing["route"] == "groq" and routing["hedged"]


def _streamed(model: RoutedChatModel, mode: str) -> AIMessageChunk:
    """``model``'s answer to "hi" through ``stream`` or ``astream``, its chunks merged."""
    if mode == "stream":
        chunks = list(model.stream("hi"))
    else:

        async def collect() -> list[AIMessageChunk]:
            return [chunk async for chunk in model.astream("hi")]

        chunks = asyncio.run(collect())
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    return full


def _call(model: RoutedChatModel, mode: str) -> AIMessage:
    """One call through ``mode`` (invoke, ainvoke, stream, astream), as one message."""
    if mode == "invoke":
        return model.invoke("hi")
    if mode == "ainvoke":
        return asyncio.run(model.ainvoke("hi"))
    full = _streamed(model, mode)
    return AIMessage(content=full.content, response_metadata=full.response_metadata)


@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream"])
def test_a_route_that_hangs_opens_its_breaker_although_hedges_answer(
    emulator: Emulator, mode: str
) -> None:
    """Outpaced while silent counts as a timeout: the hung route stops costing a hedge."""
    threshold = 3
    model = router(
        emulator,
        hedge_after=0.05,
        timeout=10.0,
        health=InMemoryHealthStore(BreakerConfig(failure_threshold=threshold)),
    )
    emulator.inject(Fault.stall(0, 5), provider="cerebras", times=None)
    answers = [_call(model, mode) for _ in range(threshold + 3)]
    assert {answered_by(answer) for answer in answers} == {"groq"}
    assert [a.response_metadata["routing"]["hedged"] for a in answers] == [True] * threshold + [
        False
    ] * 3
    first = answers[0].response_metadata["routing"]["attempts"][0]
    assert first["route"] == "cerebras" and first["outcome"] == "cancelled"
    assert first["failure_kind"] == "timeout"
    assert "gave no" in first["reason"]
    assert emulator.request_count("cerebras") == threshold
    assert model.health.snapshot("cerebras").state == "open"


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_a_hedge_that_loses_to_the_first_route_costs_its_route_nothing(
    emulator: Emulator, mode: str
) -> None:
    """The hedge started later: losing the race is no evidence against its route."""
    model = router(emulator, hedge_after=0.05, timeout=10.0)
    emulator.inject(Fault.slow_first_token(0.3), provider="cerebras")
    emulator.inject(Fault.slow_first_token(3), provider="groq")
    routing = _call(model, mode).response_metadata["routing"]
    assert routing["route"] == "cerebras" and routing["hedged"]
    lost = [a for a in routing["attempts"] if a["route"] == "groq"]
    assert lost == [
        {
            "route": "groq",
            "provider": "groq",
            "model": "llama-3.3-70b-versatile",
            "outcome": "cancelled",
            "reason": "another route answered first",
            "elapsed_ms": lost[0]["elapsed_ms"],
            "hedge": True,
        }
    ]
    snapshot = model.health.snapshot("groq")
    assert snapshot.consecutive_failures == 0 and not snapshot.failures


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_a_hedge_refused_with_400_leaves_the_first_route_to_answer(
    emulator: Emulator, mode: str
) -> None:
    """A 400 from the hedge is that route refusing, not the call failing (peers.md #6)."""
    model = router(emulator, hedge_after=0.05, timeout=5.0)
    emulator.inject(Fault.slow_first_token(0.4), provider="cerebras")
    emulator.inject(Fault.status(400), provider="groq")
    message = model.invoke("hi") if mode == "invoke" else asyncio.run(model.ainvoke("hi"))
    routing = message.response_metadata["routing"]
    assert routing["route"] == "cerebras" and routing["hedged"]
    outcomes = [(a["route"], a["outcome"], a.get("failure_kind")) for a in routing["attempts"]]
    assert outcomes == [("groq", "failed", "bad_request"), ("cerebras", "answered", None)]


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_a_held_400_is_raised_once_no_attempt_is_left(emulator: Emulator, mode: str) -> None:
    """The hedge's 400 waits for the first route; that one times out: the 400 is raised."""
    model = router(emulator, hedge_after=0.05, timeout=0.4)
    emulator.inject(Fault.slow_first_token(2), provider="cerebras")
    emulator.inject(Fault.status(400), provider="groq")
    with pytest.raises(Exception, match="400") as info:
        if mode == "invoke":
            model.invoke("hi")
        else:
            asyncio.run(model.ainvoke("hi"))
    assert type(info.value).__name__ == "BadRequestError"


async def test_hedge_delay_from_measured_p95(emulator: Emulator) -> None:
    clock = FakeClock()
    health = InMemoryHealthStore(clock=clock)
    for _ in range(20):
        health.record_success("cerebras", ttft=0.01, latency=0.02)
    model = router(emulator, hedge_after="p95", health=health, timeout=10.0)
    emulator.inject(Fault.slow_first_token(5), provider="cerebras")
    message = await model.ainvoke("hi")
    assert message.response_metadata["routing"]["hedged"]


@pytest.mark.parametrize("mode", ["ainvoke", "astream"])
async def test_async_calls_read_the_p95_hedge_delay_with_the_async_store_api(
    emulator: Emulator, mode: str
) -> None:
    """A blocking store read (Redis) on the event loop would stall every other request."""

    class Counting(InMemoryHealthStore):
        def __init__(self) -> None:
            super().__init__()
            self.reads = {"sync": 0, "async": 0}

        def ttft_quantile(self, route: str, q: float) -> float | None:
            self.reads["sync"] += 1
            return super().ttft_quantile(route, q)

        async def attft_quantile(self, route: str, q: float) -> float | None:
            self.reads["async"] += 1
            return super().ttft_quantile(route, q)

    health = Counting()
    for _ in range(20):
        health.record_success("cerebras", ttft=0.01, latency=0.02)
    model = router(emulator, hedge_after="p95", health=health, timeout=10.0)
    emulator.inject(Fault.slow_first_token(0.5), provider="cerebras")
    if mode == "ainvoke":
        routing = (await model.ainvoke("hi")).response_metadata["routing"]
    else:
        chunks = [chunk async for chunk in model.astream("hi")]
        (routing,) = [
            c.response_metadata["routing"] for c in chunks if "routing" in c.response_metadata
        ]
    assert routing["hedged"] and routing["route"] == "groq"
    assert health.reads == {"sync": 0, "async": 1}


async def test_no_hedging_for_calls_with_tools(emulator: Emulator) -> None:
    model = router(emulator, hedge_after=0.01, timeout=10.0)
    emulator.inject(Fault.slow_first_token(0.3), provider="cerebras")
    message = await model.bind_tools([get_weather]).ainvoke("weather in Paris?")
    routing = message.response_metadata["routing"]
    assert routing["route"] == "cerebras" and not routing["hedged"]
    assert emulator.request_count("groq") == 0


# ------------------------------------------------------------------ still a chat model


@pytest.mark.parametrize("priority", ["ultimate_speed", "speed"])
def test_bind_tools_is_converted_for_each_route(emulator: Emulator, priority: str) -> None:
    model = router(emulator, priority=priority).bind_tools([get_weather], tool_choice="any")
    message = model.invoke("What is the weather in Paris?")
    assert message.tool_calls[0]["name"] == "get_weather"
    assert (
        message.tool_calls[0]["args"] == {"city": "Paris"}
        or "city" in message.tool_calls[0]["args"]
    )
    body = emulator.requests[-1].body
    assert body is not None and body["tools"][0]["function"]["name"] == "get_weather"
    assert body["tool_choice"] == "required"


def test_bad_tool_choice_fails_before_any_request(emulator: Emulator) -> None:
    with pytest.raises(InvalidToolChoiceError):
        router(emulator).bind_tools([get_weather], tool_choice="no_such_tool")
    assert emulator.requests == []


@pytest.mark.parametrize("method", ["function_calling", "json_schema", "json_mode"])
@pytest.mark.parametrize("priority", ["ultimate_speed", "speed"])
def test_structured_output_through_any_route(
    emulator: Emulator, method: str, priority: str
) -> None:
    # json_mode has no schema on the wire: the prompt describes it (string fields only).
    schema = Note if method == "json_mode" else Answer
    model = router(emulator, priority=priority).with_structured_output(schema, method=method)  # type: ignore[arg-type]
    result = model.invoke("Reply in JSON with 'title' and 'body' keys: what is 2+2?")
    assert isinstance(result, schema)


def test_structured_output_survives_failover(emulator: Emulator) -> None:
    emulator.inject(Fault.status(503), provider="cerebras")
    model = router(emulator).with_structured_output(Answer, include_raw=True)
    result = model.invoke("what is 2+2?")
    assert isinstance(result, dict) and isinstance(result["parsed"], Answer)
    assert result["raw"].response_metadata["routing"]["route"] == "groq"


def test_with_fallbacks_still_works_on_the_router(emulator: Emulator) -> None:
    failing = RoutedChatModel(routes={"c": cerebras(emulator, max_retries=0)}, max_retries=0)
    chain = failing.with_fallbacks([router(emulator, priority="speed")])
    emulator.inject(Fault.status(503), provider="cerebras")
    message = chain.invoke("hi")
    assert answered_by(message) == "groq"


async def test_abatch_with_max_concurrency(emulator: Emulator) -> None:
    model = router(emulator)
    results = await model.abatch(
        [f"question {i}" for i in range(20)], config={"max_concurrency": 5}
    )
    assert len(results) == 20 and all(answered_by(r) == "cerebras" for r in results)


def test_routing_is_logged_without_keys(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    canary = "csk-CANARY-router-key-0123456789"
    model = RoutedChatModel(
        routes={
            "cerebras": ChatCerebras(api_key=canary, base_url=emulator.base_url),
            "groq": ChatGroq(
                model="llama-3.3-70b-versatile", api_key=canary, base_url=emulator.base_url
            ),
        },
        priority="ultimate_speed",
    )
    emulator.inject(Fault.unauthorized(), provider="cerebras")
    with caplog.at_level(logging.DEBUG):
        message = model.invoke("hi")
    assert canary not in caplog.text
    assert canary not in repr(model) and canary not in str(message.response_metadata)


# ------------------------------------------------------------------ members that ignore timeouts


class StuckModel(BaseChatModel):
    """A chat model that blocks (ignoring any timeout): before answering, or mid-stream."""

    block_seconds: float = 30.0
    chunks_before_block: int = 0

    @property
    def _llm_type(self) -> str:
        return "stuck"

    def _generate(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        time.sleep(self.block_seconds)
        return ChatResult(generations=[ChatGeneration(message=AIMessage("late"))])

    def _stream(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        for i in range(self.chunks_before_block):
            yield ChatGenerationChunk(message=AIMessageChunk(content=f"part{i} "))
        time.sleep(self.block_seconds)
        yield ChatGenerationChunk(message=AIMessageChunk(content="late"))


class InOrder:
    """A routing policy that keeps the routes in the order they were given."""

    def order(self, routes: Any, priority: str) -> list[str]:
        return [route.name for route in routes]


def test_sync_member_stuck_in_a_blocking_call_is_abandoned(emulator: Emulator) -> None:
    model = RoutedChatModel(
        routes={"stuck": StuckModel(block_seconds=5), "groq": groq(emulator)},
        policy=InOrder(),
        timeout=0.2,
    )
    started = time.monotonic()
    message = model.invoke("hi")
    assert answered_by(message) == "groq"
    assert time.monotonic() - started < 4, "the stuck member was waited for"
    first = message.response_metadata["routing"]["attempts"][0]
    assert (first["route"], first["failure_kind"]) == ("stuck", "timeout")


def test_sync_stream_stall_after_commit_is_bounded_for_any_member(emulator: Emulator) -> None:
    model = RoutedChatModel(
        routes={
            "stuck": StuckModel(block_seconds=5, chunks_before_block=2),
            "groq": groq(emulator),
        },
        policy=InOrder(),
        timeout=1.0,
        stall_timeout=0.2,
    )
    received: list[str] = []
    started = time.monotonic()
    with pytest.raises(PartialStreamError) as caught:
        for chunk in model.stream("hi"):
            received.append(str(chunk.content))
    assert time.monotonic() - started < 4
    assert received == ["part0 ", "part1 "]
    assert caught.value.failure.kind == "timeout"
    assert emulator.request_count("groq") == 0


class TimeoutAwareMember(BaseChatModel):
    """Reports itself as a Cerebras model, so the router gives it its HTTP read timeout.

    Streams ``empty_chunks`` empty chunks ``gap`` seconds apart before its answer, and
    records the thread and the ``timeout`` kwarg of every call.
    """

    empty_chunks: int = 0
    gap: float = 0.0
    threads: list[int] = Field(default_factory=list)
    timeouts: list[Any] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "timeout-aware"

    def _get_ls_params(self, stop: Any = None, **kwargs: Any) -> LangSmithParams:
        return LangSmithParams(ls_provider="cerebras", ls_model_type="chat")

    def _record(self, kwargs: dict[str, Any]) -> None:
        self.threads.append(threading.get_ident())
        self.timeouts.append(kwargs.get("timeout"))

    def _generate(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        self._record(kwargs)
        return ChatResult(generations=[ChatGeneration(message=AIMessage("answer"))])

    def _stream(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        self._record(kwargs)
        for _ in range(self.empty_chunks):
            time.sleep(self.gap)
            yield ChatGenerationChunk(message=AIMessageChunk(content=""))
        yield ChatGenerationChunk(message=AIMessageChunk(content="answer"))
        yield ChatGenerationChunk(
            message=AIMessageChunk(content="", response_metadata={"finish_reason": "stop"})
        )


def test_sync_stream_reads_its_first_chunk_in_the_calling_thread(emulator: Emulator) -> None:
    member = TimeoutAwareMember()
    model = RoutedChatModel(routes={"fake": member, "groq": groq(emulator)}, policy=InOrder())
    assert "".join(str(c.content) for c in model.stream("hi")) == "answer"
    assert member.threads == [threading.get_ident()]
    # The member's read timeout is the attempt timeout (default: 60 s, = stall_timeout).
    assert member.timeouts[0].read == 60.0

    # A first-token bound shorter than the stall timeout is watched from a worker thread.
    exact = RoutedChatModel(
        routes={"fake": member, "groq": groq(emulator)},
        policy=InOrder(),
        first_token_timeout=5.0,
        stall_timeout=60.0,
    )
    assert "".join(str(c.content) for c in exact.stream("hi")) == "answer"
    assert member.threads[-1] != threading.get_ident()
    assert member.timeouts[-1].read == 60.0


def test_sync_stream_of_empty_chunks_is_cut_at_its_timeout(emulator: Emulator) -> None:
    member = TimeoutAwareMember(empty_chunks=100, gap=0.02)  # 2 s without content
    model = RoutedChatModel(
        routes={"fake": member, "groq": groq(emulator)},
        policy=InOrder(),
        timeout=0.2,
        stall_timeout=0.2,  # the first chunk is read in the calling thread
    )
    message = None
    for chunk in model.stream("hi"):
        message = chunk if message is None else message + chunk
    assert message is not None
    assert answered_by(message) == "groq"
    first = message.response_metadata["routing"]["attempts"][0]
    assert (first["route"], first["failure_kind"]) == ("fake", "timeout")
    assert member.threads == [threading.get_ident()]


async def test_async_stream_of_empty_chunks_is_cut_at_its_timeout(emulator: Emulator) -> None:
    member = TimeoutAwareMember(empty_chunks=100, gap=0.02)  # 2 s without content
    model = RoutedChatModel(
        routes={"fake": member, "groq": groq(emulator)},
        policy=InOrder(),
        timeout=0.2,
        stall_timeout=0.2,  # bounded by the member's read timeout, no asyncio timer
    )
    message = None
    async for chunk in model.astream("hi"):
        message = chunk if message is None else message + chunk
    assert message is not None
    assert answered_by(message) == "groq"
    first = message.response_metadata["routing"]["attempts"][0]
    assert (first["route"], first["failure_kind"]) == ("fake", "timeout")


@pytest.mark.parametrize(
    "fault",
    [Fault.slow_first_token(3.0), Fault.stall(0, 3.0)],
    ids=["slow_first_token", "stall_before_content"],
)
@pytest.mark.parametrize("api", ["stream", "astream"])
async def test_inline_first_chunk_read_fails_over_on_a_silent_route(
    emulator: Emulator, fault: Fault, api: str
) -> None:
    # timeout == stall_timeout: the first chunk is read inline, bounded by the SDK's own
    # HTTP read timeout (no worker thread, no asyncio timer).
    model = router(emulator, timeout=0.3, stall_timeout=0.3)
    emulator.inject(fault, provider="cerebras")
    message = None
    if api == "stream":
        for chunk in model.stream("hi"):
            message = chunk if message is None else message + chunk
    else:
        async for chunk in model.astream("hi"):
            message = chunk if message is None else message + chunk
    assert message is not None and message.content
    assert answered_by(message) == "groq"
    first = message.response_metadata["routing"]["attempts"][0]
    assert (first["route"], first["failure_kind"]) == ("cerebras", "timeout")
    assert first["elapsed_ms"] < 3000  # cut by the read timeout, not the end of the fault


def test_member_timeout_is_shortened_by_the_deadline(emulator: Emulator) -> None:
    member = TimeoutAwareMember()
    model = RoutedChatModel(
        routes={"fake": member, "groq": groq(emulator)},
        policy=InOrder(),
        timeout=30.0,
        deadline=2.0,
    )
    model.invoke("hi")
    assert 0 < member.timeouts[0].read <= 2.0
    assert member.threads == [threading.get_ident()]


async def test_async_stream_stall_after_commit_is_bounded(emulator: Emulator) -> None:
    model = router(emulator, stall_timeout=0.2)
    emulator.inject(Fault.stall(2, 30), provider="cerebras")
    with pytest.raises(PartialStreamError):
        async for _ in model.astream("hi"):
            pass


def test_state_selects_the_health_store(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from langchain_cerebras_router.redis_health import RedisHealthStore

    routes = {"cerebras": cerebras(emulator), "groq": groq(emulator)}
    assert isinstance(RoutedChatModel(routes=routes, state="memory").health, InMemoryHealthStore)
    shared = RoutedChatModel(routes=routes, state="redis://127.0.0.1:1/0")
    assert isinstance(shared.health, RedisHealthStore)  # no connection made at construction
    monkeypatch.setenv("LANGCHAIN_ROUTER_STATE_URL", "redis://127.0.0.1:1/0")
    assert isinstance(RoutedChatModel(routes=routes).health, RedisHealthStore)
    # Redis unreachable: calls still succeed on the in-process fallback.
    assert answered_by(shared.invoke("hi", priority="ultimate_speed")) == "cerebras"


class RunRecorder(BaseCallbackHandler):
    """Records runs: their kind, parents, names, metadata and outcomes."""

    def __init__(self) -> None:
        self.starts: list[dict[str, Any]] = []
        self.outcomes: dict[Any, str] = {}

    def _start(self, kind: str, run_id: Any, parent: Any, metadata: Any, name: Any) -> None:
        self.starts.append(
            {
                "kind": kind,
                "run_id": run_id,
                "parent": parent,
                "metadata": metadata or {},
                "name": name,
            }
        )

    def on_chat_model_start(
        self, serialized: Any, messages: Any, *, run_id: Any, parent_run_id: Any = None,
        metadata: Any = None, name: Any = None, **kwargs: Any,
    ) -> None:  # fmt: skip
        self._start("chat_model", run_id, parent_run_id, metadata, name)

    def on_chain_start(
        self, serialized: Any, inputs: Any, *, run_id: Any, parent_run_id: Any = None,
        metadata: Any = None, name: Any = None, **kwargs: Any,
    ) -> None:  # fmt: skip
        self._start("chain", run_id, parent_run_id, metadata, name)

    def on_llm_end(self, response: Any, *, run_id: Any, **kwargs: Any) -> None:
        self.outcomes[run_id] = "ok"

    def on_chain_end(self, outputs: Any, *, run_id: Any, **kwargs: Any) -> None:
        self.outcomes[run_id] = "ok"

    def on_llm_error(self, error: BaseException, *, run_id: Any, **kwargs: Any) -> None:
        self.outcomes[run_id] = type(error).__name__

    def on_chain_error(self, error: BaseException, *, run_id: Any, **kwargs: Any) -> None:
        self.outcomes[run_id] = type(error).__name__


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_each_attempt_is_a_child_run_with_the_members_provider(
    emulator: Emulator, mode: str
) -> None:
    """invoke/ainvoke/batch trace one child run per attempt with the member's ls params.

    (Streaming in langchain-core >= 1.8 does not hand its run manager to ``_stream``;
    streamed answers carry the same explanation in ``response_metadata["routing"]``.)
    """
    recorder = RunRecorder()
    model = router(emulator)
    emulator.inject(Fault.status(503), provider="cerebras")
    config: Any = {"callbacks": [recorder]}
    if mode == "ainvoke":
        asyncio.run(model.ainvoke("hi", config=config))
    else:
        model.invoke("hi", config=config)
    parent, *children = recorder.starts
    assert parent["kind"] == "chat_model"  # the routed call is one chat-model run
    assert all(child["kind"] == "chain" for child in children)
    assert parent["parent"] is None and parent["metadata"]["ls_provider"] == "cerebras"
    assert [c["name"] for c in children] == ["route:cerebras", "route:groq"]
    assert all(c["parent"] == parent["run_id"] for c in children)
    assert [c["metadata"]["ls_provider"] for c in children] == ["cerebras", "groq"]
    assert [recorder.outcomes[c["run_id"]] for c in children] == ["InternalServerError", "ok"]
    assert recorder.outcomes[parent["run_id"]] == "ok"


async def test_async_handlers_see_the_attempt_runs_on_the_callers_loop(
    emulator: Emulator,
) -> None:
    """Child runs of an async call go through the async manager, on the caller's loop.

    Through a sync manager, an async handler runs on a worker thread with its own loop
    while the caller's loop waits for it: an asyncio.Queue handler breaks, and every
    other request on the loop stalls for as long as the handler awaits.
    """
    from langchain_core.callbacks import AsyncCallbackHandler

    seen: list[tuple[str, str, bool]] = []
    loop = asyncio.get_running_loop()

    class Recorder(AsyncCallbackHandler):
        async def on_chain_start(self, serialized: Any, inputs: Any, **kwargs: Any) -> None:
            seen.append(("start", kwargs["name"], asyncio.get_running_loop() is loop))

        async def on_chain_end(self, outputs: Any, **kwargs: Any) -> None:
            seen.append(("end", "", asyncio.get_running_loop() is loop))

        async def on_chain_error(self, error: BaseException, **kwargs: Any) -> None:
            seen.append(("error", type(error).__name__, asyncio.get_running_loop() is loop))

    emulator.inject(Fault.status(503), provider="cerebras")
    await router(emulator).ainvoke("hi", config={"callbacks": [Recorder()]})
    assert seen == [
        ("start", "route:cerebras", True),
        ("error", "InternalServerError", True),
        ("start", "route:groq", True),
        ("end", "", True),
    ]


class AsyncOnlyStore(InMemoryHealthStore):
    """A store whose sync API must not be used from async call paths (like Redis)."""

    def __init__(self) -> None:
        super().__init__()
        self.async_calls: list[str] = []
        self.forbid_sync = True

    def admit(self, route: str, **kwargs: Any) -> Any:
        assert not self.forbid_sync, "sync admit() on an async call path"
        return super().admit(route, **kwargs)

    def record_success(self, route: str, **kwargs: Any) -> None:
        assert not self.forbid_sync, "sync record_success() on an async call path"
        super().record_success(route, **kwargs)

    def record_failure(self, route: str, failure: Any, **kwargs: Any) -> None:
        assert not self.forbid_sync, "sync record_failure() on an async call path"
        super().record_failure(route, failure, **kwargs)

    async def aadmit(self, route: str, **kwargs: Any) -> Any:
        self.async_calls.append("admit")
        return InMemoryHealthStore.admit(self, route, **kwargs)

    async def arecord_success(self, route: str, **kwargs: Any) -> None:
        self.async_calls.append("success")
        InMemoryHealthStore.record_success(self, route, **kwargs)

    async def arecord_failure(self, route: str, failure: Any, **kwargs: Any) -> None:
        self.async_calls.append("failure")
        InMemoryHealthStore.record_failure(self, route, failure, **kwargs)


async def test_async_paths_use_the_async_health_api(emulator: Emulator) -> None:
    store = AsyncOnlyStore()
    model = router(emulator, health=store)
    emulator.inject(Fault.status(503), provider="cerebras")
    assert answered_by(await model.ainvoke("hi")) == "groq"
    assert store.async_calls == ["admit", "failure", "admit", "success"]
    store.async_calls.clear()
    async for _ in model.astream("hi"):
        pass
    assert store.async_calls == ["admit", "success"]


def test_quality_priority_prefers_the_openai_route(emulator: Emulator) -> None:
    """The seed's `quality` route (GPT-4o on OpenAI), here a ChatOpenAI on the emulator."""
    from langchain_openai import ChatOpenAI

    openai_like = ChatOpenAI(
        model="llama3.1-8b", api_key="k", base_url=emulator.openai_compatible_urls["cerebras"]
    )
    model = RoutedChatModel(
        routes={"cerebras": cerebras(emulator), "groq": groq(emulator), "openai": openai_like},
        priority="quality",
    )
    assert answered_by(model.invoke("hi")) == "openai"
    assert model.routes["openai"].max_retries == 0  # type: ignore[attr-defined]
    emulator.inject(Fault.status(503), provider="cerebras")  # the OpenAI route's server
    assert answered_by(model.invoke("hi")) == "groq"


def test_drop_in_adds_the_openai_route_when_keyed(
    emulator_env: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    monkeypatch.setenv("OPENAI_BASE_URL", emulator_env.openai_compatible_urls["cerebras"])
    model = RoutedChatModel(model="llama-3.3-70b-versatile", openai_model="llama3.1-8b")
    assert list(model.routes)[-1] == "openai"
    assert answered_by(model.invoke("hi", priority="quality")) == "openai"


def test_user_groq_member_survives_a_new_event_loop_per_call(emulator: Emulator) -> None:
    """asyncio.run per request: with SDK retries off, pools must not outlive their loop."""
    model = router(emulator, priority="speed")
    for _ in range(4):
        message = asyncio.run(model.ainvoke("hi"))
        attempts = message.response_metadata["routing"]["attempts"]
        assert [(a["route"], a["outcome"]) for a in attempts] == [("groq", "answered")]


@pytest.mark.parametrize("with_callbacks", [False, True])
@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_routing_explanation_is_the_streams_last_chunk(
    emulator: Emulator, mode: str, with_callbacks: bool
) -> None:
    config = {"callbacks": [BaseCallbackHandler()]} if with_callbacks else None

    def chunks_of(model: BaseChatModel) -> list[AIMessageChunk]:
        if mode == "stream":
            return list(model.stream("tell me something", config))  # type: ignore[arg-type]

        async def collect() -> list[AIMessageChunk]:
            return [c async for c in model.astream("tell me something", config)]  # type: ignore[arg-type]

        return asyncio.run(collect())

    direct = chunks_of(cerebras(emulator))
    routed = chunks_of(router(emulator))
    # LangChain ends every stream with a chunk_position="last" chunk; the router's is it.
    assert len(routed) == len(direct), "the router adds no chunk of its own"
    *answer, last = routed
    assert last.chunk_position == "last" and last.content == ""
    assert last.response_metadata["routing"]["route"] == "cerebras"
    assert not any("routing" in c.response_metadata for c in answer)
    assert [c.content for c in answer] == [c.content for c in direct[:-1]]
    merged = answer[0]
    for chunk in routed[1:]:
        merged = merged + chunk
    assert merged.response_metadata["finish_reason"] == "stop"
    assert merged.response_metadata["routing"]["attempts"][0]["outcome"] == "answered"
    # Ids as LangChain gives them: the provider's on its chunks, the run's on the last.
    assert len({c.id for c in routed}) == len({c.id for c in direct})
    assert (last.id or "").startswith("lc_run-") == (direct[-1].id or "").startswith("lc_run-")


class GenerateOnlyModel(BaseChatModel):
    """A member that cannot stream: it answers with one tool call and one broken one."""

    @property
    def _llm_type(self) -> str:
        return "generate-only"

    def _generate(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        message = AIMessage(
            content="",
            tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"}, "id": "call_1"}],
            invalid_tool_calls=[
                {"name": "get_weather", "args": '{"city": ', "id": "call_2", "error": "bad"}
            ],
            response_metadata={"finish_reason": "tool_calls"},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_streaming_through_a_member_that_cannot_stream(emulator: Emulator, mode: str) -> None:
    model = RoutedChatModel(routes={"only": GenerateOnlyModel()})
    full = _streamed(model, mode)
    assert ("get_weather", {"city": "Oslo"}) in [(c["name"], c["args"]) for c in full.tool_calls]
    # No call is lost, the broken one included (LangChain's chunk aggregation may repair
    # its arguments as partial JSON, as for every provider).
    ids = {c["id"] for c in full.tool_calls} | {c["id"] for c in full.invalid_tool_calls}
    assert ids == {"call_1", "call_2"}
    assert full.response_metadata["routing"]["route"] == "only"


def test_router_attempts_reach_a_recording_monitor(emulator: Emulator) -> None:
    from langchain_cerebras_router.cli_bench import RecordingMonitor

    monitor = RecordingMonitor()
    model = router(emulator, monitor=monitor)
    model.invoke("hi")
    list(model.stream("hi"))
    samples = monitor.samples
    assert [(s.route, s.streamed, s.ok) for s in samples] == [
        ("cerebras", False, True),
        ("cerebras", True, True),
    ]
    (stats,) = monitor.stats(provider="cerebras")
    assert stats.calls == 2


def test_a_model_used_directly_and_as_a_route_keeps_one_client_each(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The router's copy of a member (SDK retries off) shares the member's client caches.

    An app that calls its ChatCerebras directly and through a router on one event loop
    gets one async client per configuration, not a new client (and connection pool) on
    every switch.
    """
    from langchain_cerebras_router import chat_models

    built: list[int] = []

    class CountingAsyncCerebras(chat_models.AsyncCerebras):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            built.append(kwargs["max_retries"])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(chat_models, "AsyncCerebras", CountingAsyncCerebras)
    llm = cerebras(emulator, max_retries=2)
    model = RoutedChatModel(routes={"cerebras": llm, "groq": groq(emulator)})

    async def alternate() -> None:
        for _ in range(3):
            await llm.ainvoke("hi")
            await model.ainvoke("hi", priority="ultimate_speed")

    asyncio.run(alternate())
    assert sorted(built) == [0, 2]


def _half_open_router(emulator: Emulator) -> tuple[RoutedChatModel, InMemoryHealthStore]:
    """A router whose Cerebras breaker is half-open: its next call is the probe."""
    health = InMemoryHealthStore(BreakerConfig(failure_threshold=1, open_seconds=0.05))
    model = router(emulator, health=health, timeout=5.0, max_retries=0)
    emulator.inject(Fault.status(503), provider="cerebras")
    model.invoke("hi")  # Cerebras fails (Groq answers): the breaker opens
    time.sleep(0.1)
    return model, health


def test_a_cancelled_async_call_frees_its_probe_slot(emulator: Emulator) -> None:
    """``asyncio.wait_for`` around a probe call: the next call may probe again at once."""
    model, health = _half_open_router(emulator)
    emulator.inject(Fault.slow_first_token(2.0), provider="cerebras")

    async def cancelled() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(model.ainvoke("hi"), 0.2)

    asyncio.run(cancelled())
    assert health.snapshot("cerebras").probes_in_flight == 0
    emulator.clear_faults()
    assert answered_by(model.invoke("hi")) == "cerebras"


def test_a_cancelled_async_stream_frees_its_probe_slot(emulator: Emulator) -> None:
    """A task consuming a probe stream is cancelled after its first chunks."""
    model, health = _half_open_router(emulator)
    emulator.inject(Fault.stall(after_chunks=2, seconds=3), provider="cerebras")

    async def cancelled() -> int:
        received: list[Any] = []

        async def consume() -> None:
            async for chunk in model.astream("hi"):
                received.append(chunk)

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return len(received)

    assert asyncio.run(cancelled()) >= 1  # cancelled after its commit point
    snapshot = health.snapshot("cerebras")
    assert snapshot.probes_in_flight == 0 and snapshot.consecutive_failures == 1
    emulator.clear_faults()
    assert answered_by(model.invoke("hi")) == "cerebras"


def test_a_policy_with_measured_speeds_is_asked_on_every_call(emulator: Emulator) -> None:
    measured: dict[str, float] = {}
    model = router(emulator, policy=FastestFirstPolicy(measured.get), priority="balanced")
    assert answered_by(model.invoke("hi")) == "cerebras"  # advertised: Cerebras faster
    assert model._get_ls_params()["ls_provider"] == "cerebras"
    measured.update({"cerebras": 10.0, "groq": 500.0})  # measured: Groq now faster
    assert answered_by(model.invoke("hi")) == "groq"
    assert model._get_ls_params()["ls_provider"] == "groq"


def test_a_static_policy_is_asked_once_per_priority(emulator: Emulator) -> None:
    asked: list[str] = []

    class CountingPolicy(PriorityPolicy):
        def order(self, routes: Any, priority: str) -> list[str]:
            asked.append(priority)
            return super().order(routes, priority)

    model = router(emulator, policy=CountingPolicy())
    for _ in range(3):
        model.invoke("hi")
        model.invoke("hi", priority="speed")
    assert asked == ["ultimate_speed", "speed"]


class _BlockingMember(BaseChatModel):
    """Answers ``reply``; first blocks until ``release`` is set, if given (ignores timeouts)."""

    reply: str
    release: Any = None

    @property
    def _llm_type(self) -> str:
        return "blocking"

    def _generate(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        if self.release is not None:
            self.release.wait(30)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self.reply))])


def test_abandoned_stuck_attempts_do_not_starve_healthy_routes() -> None:
    """Each call abandons an attempt stuck for good; 80 calls still all get answers."""
    release = threading.Event()

    class StuckFirst(PriorityPolicy):
        def order(self, routes: Any, priority: str) -> list[str]:
            return ["stuck", "instant"]

    model = RoutedChatModel(
        routes={
            "stuck": _BlockingMember(reply="late", release=release),
            "instant": _BlockingMember(reply="ok"),
        },
        policy=StuckFirst(),
        timeout=0.02,
        max_retries=0,
    )
    try:
        answers = []
        for _ in range(80):
            model.health.reset()  # keep trying the stuck route first
            answers.append(model.invoke("hi").content)
        assert answers == ["ok"] * 80
    finally:
        release.set()


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_deadline_ends_a_stream_that_stalls_after_its_first_chunk(
    emulator: Emulator, mode: str
) -> None:
    """``deadline`` bounds the whole call, the part after the commit point included."""
    model = router(emulator, deadline=0.5, stall_timeout=10.0)
    emulator.inject(Fault.stall(after_chunks=2, seconds=20), provider="cerebras")
    received: list[Any] = []

    async def consume() -> None:
        async for chunk in model.astream("hi"):
            received.append(chunk)

    started = time.monotonic()
    with pytest.raises(PartialStreamError, match="deadline") as info:
        if mode == "stream":
            received.extend(model.stream("hi"))
        else:
            asyncio.run(consume())
    assert time.monotonic() - started < 5.0  # not the 10 s stall timeout
    assert info.value.route == "cerebras" and info.value.chunks_yielded >= 1
    assert emulator.request_count("groq") == 0  # nothing spliced from another provider


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_rate_limit_headers_of_a_given_groq_route_steer_traffic(
    emulator: Emulator, mode: str
) -> None:
    """ChatGroq answers do not carry their headers: the router reads them at the HTTP layer."""
    emulator.set_rate_limits("groq", requests_per_day=1)
    model = router(emulator, priority="speed")

    def call() -> AIMessage:
        return model.invoke("hi") if mode == "invoke" else asyncio.run(model.ainvoke("hi"))

    assert answered_by(call()) == "groq"  # its headers say 0 requests left
    second = call()
    assert answered_by(second) == "cerebras"
    assert "rate limit" in second.response_metadata["routing"]["attempts"][0]["reason"]
    assert emulator.request_count("groq") == 1  # never hit the 429


def test_a_groq_route_given_its_own_http_client_keeps_it(emulator: Emulator) -> None:
    import httpx

    seen: list[str] = []
    own = httpx.Client(event_hooks={"request": [lambda request: seen.append(request.url.path)]})
    member = ChatGroq(model="llama-3.3-70b-versatile", api_key="k", base_url=emulator.base_url,
                      http_client=own)  # fmt: skip
    model = RoutedChatModel(
        routes={"groq": member, "cerebras": cerebras(emulator)}, priority="speed"
    )
    assert answered_by(model.invoke("hi")) == "groq"
    assert seen == ["/openai/v1/chat/completions"]


def test_drop_in_skips_a_provider_that_does_not_serve_the_model(emulator_env: Emulator) -> None:
    """Groq does not serve zai-glm-4.7: no Groq route (nor its fallback), Cerebras answers."""
    model = RoutedChatModel(model="zai-glm-4.7")  # default priority: balanced, Groq first
    assert list(model.routes) == ["cerebras"]
    assert answered_by(model.invoke("hi")) == "cerebras"
    assert emulator_env.request_count("groq") == 0


def test_drop_in_says_when_no_provider_with_a_key_serves_the_model(
    emulator_env: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CEREBRAS_API_KEY")
    with pytest.raises(ValueError, match=r"'zai-glm-4\.7' is not served by groq"):
        RoutedChatModel(model="zai-glm-4.7")
