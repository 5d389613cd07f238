"""CallContext rules: per-attempt member timeouts, inline attempts, the hedge origin, losers."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from langchain_cerebras_router import InMemoryHealthStore, RoutedChatModel
from langchain_cerebras_router.failover import CallPlan, Route
from langchain_cerebras_router.route_execution import (
    LOSER_TEARDOWN_DELAY,
    AttemptTicket,
    CallContext,
    member_http_timeout,
)
from langchain_cerebras_router.router import _CALL_STARTED


def route(provider: str = "cerebras") -> Route:
    return Route(provider, None, provider, "m", has_stream=True, has_astream=True)  # type: ignore[arg-type]


def context(*, streaming: bool, stall: float | None = 60.0, **plan: Any) -> CallContext:
    plan.setdefault("attempt_timeout", 60.0)
    plan.setdefault("deadline", None)
    return CallContext(
        plan=CallPlan(routes=[route(), route("groq")], health=InMemoryHealthStore(), **plan),
        messages=[HumanMessage("hi")],
        stop=None,
        priority="ultimate_speed",
        member_kwargs=lambda r, timeout: {"timeout": timeout},
        stall_timeout=stall,
        streaming=streaming,
    )


def ticket(started: float, timeout: float | None, provider: str = "cerebras") -> AttemptTicket:
    return AttemptTicket(route(provider), started, False, timeout)


def test_invoke_members_read_for_the_attempt_timeout() -> None:
    ctx = context(streaming=False)
    kwargs = ctx.kwargs_for_attempt(ticket(10.0, 0.3))
    assert kwargs["timeout"].read == pytest.approx(0.3)
    assert kwargs["timeout"].connect == pytest.approx(0.3)
    assert ctx.member_bounds_attempt(route(), 0.3)


def test_stream_members_read_for_the_longer_of_attempt_and_stall() -> None:
    ctx = context(streaming=True, stall=60.0)
    assert ctx.member_read_timeout(5.0) == 60.0
    assert not ctx.member_bounds_attempt(route(), 5.0)  # watched by a worker thread
    assert ctx.member_read_timeout(60.0) == 60.0
    assert ctx.member_bounds_attempt(route(), 60.0)  # read inline
    assert ctx.member_read_timeout(90.0) == 90.0
    assert ctx.member_bounds_attempt(route(), 90.0)


@pytest.mark.parametrize(
    ("streaming", "attempt", "stall", "read"),
    [
        (False, 5.0, 60.0, 5.0),  # invoke: the attempt timeout, whatever the stall timeout
        (False, None, 60.0, None),
        (True, 5.0, None, 5.0),  # no stall timeout: the attempt timeout
        (True, 0.0, None, None),  # zero means unset, as for the router's own fields
        (True, None, 60.0, 60.0),  # no attempt timeout: the stall timeout
        (True, None, None, None),
        (True, 90.0, 0.0, 90.0),
    ],
)
def test_member_read_timeout_when_one_bound_is_missing(
    streaming: bool, attempt: float | None, stall: float | None, read: float | None
) -> None:
    assert context(streaming=streaming, stall=stall).member_read_timeout(attempt) == read


@pytest.mark.parametrize("streaming", [False, True])
def test_no_member_read_outlasts_the_calls_deadline(streaming: bool) -> None:
    """A stream cut at the deadline must not keep its connection for a stall timeout."""
    ctx = context(streaming=streaming, stall=20.0, deadline=1.0)
    read = ctx.kwargs_for_attempt(ticket(ctx.plan.started, ctx.plan.timeout_for_attempt()))
    assert 0.0 < read["timeout"].read <= 1.0
    unbounded = context(streaming=streaming, stall=20.0, attempt_timeout=None, deadline=1.0)
    read = unbounded.kwargs_for_attempt(ticket(unbounded.plan.started, None))
    assert 0.0 < read["timeout"].read <= 1.0


def test_stream_stalls_are_left_to_the_member_whatever_the_clock_reads() -> None:
    # The attempt's timeout is kept as decided, not recomputed from clock readings (for
    # these two starts, (started + 60) - started is not 60 in floating point), so a
    # 60 s attempt with a 60 s stall timeout is always bounded by the member's read
    # timeout (no per-stream watcher thread), at any start time.
    from langchain_cerebras_router.stream_execution import _member_bounds_stalls

    ctx = context(streaming=True, stall=60.0)
    for started in (0.1, 12345.678, 16327.689784008891, 131055.99533531409):
        assert _member_bounds_stalls(ctx, ticket(started, 60.0))


def test_members_without_a_read_timeout_are_bounded_only_without_a_timeout() -> None:
    ctx = context(streaming=False)
    assert not ctx.member_bounds_attempt(route("fakeprovider"), 1.0)
    assert ctx.member_bounds_attempt(route("fakeprovider"), None)
    assert ctx.kwargs_for_attempt(ticket(0.0, None))["timeout"] is None


def test_member_http_timeouts_are_shared_per_value() -> None:
    assert member_http_timeout(60.0) is member_http_timeout(60.0)
    assert member_http_timeout(60.0) == httpx.Timeout(60.0, connect=5.0)


def test_first_attempt_hedges_from_the_call_start_later_ones_from_their_own() -> None:
    ctx = context(streaming=False)
    first = ticket(100.2, 60.0)
    assert ctx.hedge_origin(first) == 100.2  # the call's start is unknown
    ctx.call_started = 100.0
    assert ctx.hedge_origin(first) == 100.0
    ctx.plan.failed(first.route, ConnectionError("refused"), started=first.started)
    assert ctx.hedge_origin(ticket(100.5, 60.0, "groq")) == 100.5


def test_invoke_start_is_read_once_by_the_routing(emulator: Any) -> None:
    model = RoutedChatModel(routes={"groq": _groq(emulator)}, priority="speed", hedge_after=0.5)
    token = _CALL_STARTED.set(42.0)
    try:
        ctx = model._context([HumanMessage("hi")], None, {}, stream=False)
        assert ctx.call_started == 42.0
        # A router called as another router's member does not see the outer call's start.
        inner = model._context([HumanMessage("hi")], None, {}, stream=False)
        assert inner.call_started is None
    finally:
        _CALL_STARTED.reset(token)
    assert model._context([HumanMessage("hi")], None, {}, stream=False).call_started is None


def test_invoke_start_is_kept_only_by_a_hedging_router(emulator: Any) -> None:
    """Without hedging nothing reads the call's start, so invoke does not record it."""
    seen: list[float | None] = []

    class Probe(RoutedChatModel):
        def _context(self, *args: Any, **kwargs: Any) -> Any:
            seen.append(_CALL_STARTED.get())
            return super()._context(*args, **kwargs)

    for hedge_after in (None, 5.0):
        Probe(routes={"groq": _groq(emulator)}, hedge_after=hedge_after).invoke("hi")
    assert seen[0] is None
    assert isinstance(seen[1], float)
    assert _CALL_STARTED.get() is None


def _groq(emulator: Any) -> Any:
    from langchain_groq import ChatGroq

    return ChatGroq(model="llama-3.3-70b-versatile", api_key="k", base_url=emulator.base_url)


def test_failures_tell_the_store_whether_the_attempt_was_the_probe() -> None:
    """Only the probe's own neutral outcome may free the half-open probe slot."""
    from langchain_cerebras_router.health import Admission

    class Recording(InMemoryHealthStore):
        def __init__(self) -> None:
            super().__init__()
            self.failures: list[tuple[str, bool | None]] = []

        def admit(self, route: str, *, estimated_tokens: int | None = None) -> Admission:
            return Admission(True, probe=route == "cerebras")

        def record_failure(self, route: str, failure: Any, **kwargs: Any) -> None:
            self.failures.append((route, kwargs.get("probe")))

    store = Recording()
    plan = CallPlan(routes=[route(), route("groq")], health=store, attempt_timeout=None,
                    deadline=None)  # fmt: skip
    first = plan.next_step()
    assert first is not None and not isinstance(first, float)
    plan.failed(first, ValueError("boom"), started=0.0)
    second = plan.next_step()
    assert second is not None and not isinstance(second, float)
    plan.failed(second, ValueError("boom"), started=0.0)
    assert store.failures == [("cerebras", True), ("groq", False)]


class _Timed(BaseChatModel):
    """Answers after ``delay`` seconds (async); notes when an attempt on it is cancelled."""

    delay: float
    cancelled_at: list[float] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "timed"

    def _generate(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        raise NotImplementedError

    async def _agenerate(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        try:
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled_at.append(time.monotonic())
            raise
        return ChatResult(generations=[ChatGeneration(message=AIMessage("answer"))])


async def test_an_outpaced_async_attempt_is_cancelled_after_the_answer_is_returned() -> None:
    """Tearing the loser's request down is not on the answer's path (benchmarks (f))."""
    slow, fast = _Timed(delay=5.0), _Timed(delay=0.0)
    model = RoutedChatModel(routes={"slow": slow, "fast": fast}, hedge_after=0.02, timeout=10.0)
    answered = time.monotonic()
    message = await model.ainvoke("hi")
    routing = message.response_metadata["routing"]
    assert (routing["route"], routing["hedged"]) == ("fast", True)
    assert slow.cancelled_at == []  # still pending when the caller got its answer
    await asyncio.sleep(LOSER_TEARDOWN_DELAY * 5)
    [cancelled] = slow.cancelled_at
    assert cancelled >= answered + LOSER_TEARDOWN_DELAY
    assert {a["route"]: a["outcome"] for a in routing["attempts"]} == {
        "slow": "cancelled",
        "fast": "answered",
    }


async def test_a_cancelled_call_cancels_its_attempts_at_once() -> None:
    first, hedge = _Timed(delay=5.0), _Timed(delay=5.0)
    model = RoutedChatModel(routes={"a": first, "b": hedge}, hedge_after=0.01, timeout=10.0)
    call = asyncio.ensure_future(model.ainvoke("hi"))
    await asyncio.sleep(0.1)  # both attempts in flight
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert len(first.cancelled_at) == len(hedge.cancelled_at) == 1
