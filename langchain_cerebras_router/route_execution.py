"""Executing a :class:`~langchain_cerebras_router.failover.CallPlan`: sync and async.

(The streaming half, after the commit point, is in
:mod:`~langchain_cerebras_router.stream_execution`.)

Every call path has two phases:

1. **Race to the first event** (:func:`race_to_first_event`,
   :func:`arace_to_first_event`): attempts run one after another (failover) or, with
   hedging, two at once; each is bounded by the attempt
   timeout (for streams: until the first content or tool-call chunk, the *commit
   point*). The first attempt to produce its event wins; the others are cancelled
   (async) or abandoned (sync: a member stuck in a blocking call is not waited for).
2. **After the commit point** (streams only): the winner's remaining chunks are passed
   through, each within ``stall_timeout``. A failure now raises
   :class:`~langchain_cerebras_router.failover.PartialStreamError`; output from two
   providers is never spliced together.

Invoke and stream share the same race; only the "first event" differs (a whole
``ChatResult``, or an opened stream with its first committing chunk).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult

from langchain_cerebras_router.attempt_tracing import AttemptTracer
from langchain_cerebras_router.failover import (
    CallPlan,
    Route,
)
from langchain_cerebras_router.redaction import redact_exception

#: Members that accept a per-request ``timeout`` (their SDKs' httpx read timeout).
TIMEOUT_AWARE_PROVIDERS = frozenset({"cerebras", "groq", "openai"})

__all__ = [
    "LOSER_TEARDOWN_DELAY",
    "TIMEOUT_AWARE_PROVIDERS",
    "AttemptCancelledError",
    "AttemptTicket",
    "AttemptTimeoutError",
    "CallContext",
    "abandon_attempt",
    "arace_to_first_event",
    "arun_invoke",
    "async_timeout",
    "attempt_executor",
    "attempt_timeout_error",
    "member_http_timeout",
    "race_to_first_event",
    "run_invoke",
]

#: Seconds after another route's answer that an async attempt which lost is cancelled.
LOSER_TEARDOWN_DELAY = 0.01

#: Event-loop and thread wake-ups come up to ~1 ms late; a hedge is started when its
#: time is this close, so that it starts on time rather than a millisecond after.
_TIMER_SLACK = 0.001

T = TypeVar("T")
K = TypeVar("K")

_executor_lock = threading.Lock()
_executor: concurrent.futures.ThreadPoolExecutor | None = None


#: Threads for watched sync attempts and stall watchers. The pool reuses idle threads and
#: starts new ones up to this many: an abandoned attempt keeps its thread until its member
#: returns (a blocking call cannot be interrupted), so a small cap would let stuck members
#: starve healthy routes, whose queued attempts would time out before they even started.
ATTEMPT_THREADS = 1024


def attempt_executor() -> concurrent.futures.ThreadPoolExecutor:
    """Threads that run sync attempts, so that a stuck attempt can be abandoned."""
    global _executor
    if _executor is None:
        with _executor_lock:
            if _executor is None:
                _executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=ATTEMPT_THREADS, thread_name_prefix="routed-attempt"
                )
    return _executor


class AttemptTimeoutError(TimeoutError):
    """An attempt gave no answer (or no first chunk) in time and was abandoned."""

    failure_kind = "timeout"


class AttemptCancelledError(Exception):
    """An attempt the router gave up: another route answered first, or the caller left."""

    failure_kind = "cancelled"


@functools.lru_cache(maxsize=256)
def member_http_timeout(read: float) -> httpx.Timeout:
    """The per-request SDK timeout for a member: ``read`` seconds of silence, connect <= 5 s.

    Cached: calls without a deadline share one object per distinct value.
    """
    return httpx.Timeout(read, connect=min(5.0, read))


@dataclass(slots=True)
class CallContext:
    """One routed call: its plan, its input, and how to call each member.

    ``member_kwargs(route, timeout)`` gives the kwargs for one attempt on ``route``;
    ``timeout`` is the per-request SDK timeout for members in
    :data:`TIMEOUT_AWARE_PROVIDERS` (see :meth:`member_read_timeout`).
    """

    plan: CallPlan
    messages: list[BaseMessage]
    stop: list[str] | None
    priority: str
    member_kwargs: Callable[[Route, httpx.Timeout | None], dict[str, Any]]
    hedge_after: float | str | None = None
    stall_timeout: float | None = None
    model_override: bool = False
    tracer: AttemptTracer | None = None
    streaming: bool = False
    #: The request sends tools (bound tools, tool-calling structured output, a ``tools``
    #: kwarg): its answer may hold tool calls whatever the member.
    sends_tools: bool = False
    #: When the caller's ``invoke``/``ainvoke`` began (monotonic), if known: the first
    #: attempt's hedge delay counts from there, so that LangChain's own set-up of the
    #: run is inside the delay rather than added to the hedged latency.
    call_started: float | None = None
    #: Route name -> its p95 time to first token, read once per call (``hedge_after="p95"``).
    p95_ttfts: dict[str, float | None] | None = None

    def hedge_origin(self, ticket: AttemptTicket) -> float:
        """The instant ``ticket``'s hedge delay counts from."""
        if self.call_started is not None and not self.plan.attempts:
            return min(self.call_started, ticket.started)
        return ticket.started

    def member_read_timeout(self, attempt_timeout: float | None) -> float | None:
        """The HTTP read timeout given to a timeout-aware member for one attempt.

        Invoke: the attempt timeout (already shortened to what the deadline leaves).
        Streams: the longer of that and ``stall_timeout``, because one read timeout
        covers the whole response and must not cut a stream after its commit point.
        """
        if not self.streaming:
            return attempt_timeout
        stall = self.stall_timeout
        if not stall:
            return attempt_timeout or None
        if not attempt_timeout:
            return stall
        return max(attempt_timeout, stall)

    def kwargs_for_attempt(self, ticket: AttemptTicket) -> dict[str, Any]:
        """The member kwargs of ``ticket``'s attempt, with its per-request timeout.

        No single read may outlast the call's deadline: with one, the read timeout is
        at most what it leaves, so that a stream the router gives up at the deadline
        also releases its connection (and reader thread) by then, not a stall timeout
        later.
        """
        read = self.member_read_timeout(ticket.timeout)
        if self.plan.deadline is not None:
            remaining = self.plan.remaining()
            if remaining is not None and (read is None or remaining < read):
                read = remaining
        return self.member_kwargs(ticket.route, None if read is None else member_http_timeout(read))

    def member_bounds_attempt(self, route: Route, attempt_timeout: float | None) -> bool:
        """Whether nothing but the member itself needs to bound this attempt.

        True when the attempt has no timeout, or when the member's own HTTP read
        timeout is the attempt timeout.

        Then the attempt runs in the calling thread: a member silent for the attempt
        timeout fails by itself, with no watching thread. Streams also check the clock
        at every chunk before their commit point (see ``stream_execution``).
        """
        if attempt_timeout is None:
            return True
        if route.provider not in TIMEOUT_AWARE_PROVIDERS:
            return False
        return not self.streaming or self.member_read_timeout(attempt_timeout) == attempt_timeout

    @property
    def has_pending_updates(self) -> bool:
        """Whether health updates or child-run events wait for :meth:`aflush` (async)."""
        tracer = self.tracer
        return self.plan.has_pending_updates or (tracer is not None and tracer.has_pending_events)

    async def aflush(self) -> None:
        """Apply the queued health updates, then emit the queued child-run events."""
        await self.plan.aflush()
        if self.tracer is not None:
            await self.tracer.aflush()

    def trace_start(self, ticket: AttemptTicket) -> None:
        """Open the attempt's child run (only when the call is traced)."""
        if self.tracer is not None:
            ticket.trace = self.tracer.start(ticket.route, hedge=ticket.hedge)

    def hedge_delay(self, route: Route) -> float | None:
        """Seconds to wait for ``route``'s first event before starting a hedge.

        A measured p95 is read from the health store once per call and route.
        """
        if self.hedge_after is None or len(self.plan.routes) < 2:
            return None
        if self.hedge_after == "p95":
            known = self._p95s()
            if route.name not in known:
                known[route.name] = self.plan.health.ttft_quantile(route.name, 0.95)
            return known[route.name]
        return float(self.hedge_after)

    async def ahedge_delay(self, route: Route) -> float | None:
        """:meth:`hedge_delay`, reading a measured p95 with the store's async API (Redis)."""
        if self.hedge_after == "p95" and len(self.plan.routes) >= 2:
            known = self._p95s()
            if route.name not in known:
                known[route.name] = await self.plan.health.attft_quantile(route.name, 0.95)
        return self.hedge_delay(route)

    def _p95s(self) -> dict[str, float | None]:
        """The call's p95 memo (made on first use: most calls never hedge on a p95)."""
        if self.p95_ttfts is None:
            self.p95_ttfts = {}
        return self.p95_ttfts


@dataclass(slots=True)
class AttemptTicket:
    """One attempt in flight."""

    route: Route
    started: float
    hedge: bool
    #: Seconds this attempt may take (``None``: unbounded), exactly as decided: compared
    #: with ``stall_timeout`` to choose how the attempt is watched.
    timeout: float | None
    cancelled: bool = False
    trace: Any = None

    @property
    def timeout_at(self) -> float | None:
        """When this attempt times out (``None``: never)."""
        return None if self.timeout is None else self.started + self.timeout


def fail_attempt(ctx: CallContext, ticket: AttemptTicket, exc: BaseException) -> None:
    """Record a failed attempt; re-raise when the failure must not be failed over.

    The error's text is redacted first: it may quote a key a server echoed, and it goes
    to the attempt's trace and, for a bad request, back to the caller.
    """
    redact_exception(exc)
    AttemptTracer.failed(ticket.trace, exc)
    failure = ctx.plan.failed(ticket.route, exc, started=ticket.started, hedge=ticket.hedge)
    if not ctx.plan.should_fail_over(failure):
        raise exc


def abandon_attempt(
    ctx: CallContext,
    ticket: AttemptTicket,
    why: str,
    *,
    winner: AttemptTicket | None = None,
    what: str = "first event",
) -> None:
    """Record an attempt the router gave up (neither success nor fault; frees its probe).

    With ``winner`` (the attempt that answered first), an attempt that started before it
    and still gave no ``what`` was outpaced: a timeout for its route's breaker (see
    :meth:`CallPlan.abandoned`).
    """
    ticket.cancelled = True
    outpaced = winner is not None and ticket.started <= winner.started
    ctx.plan.abandoned(
        ticket.route,
        started=ticket.started,
        why=why,
        hedge=ticket.hedge,
        outpaced_by=winner.route.name if outpaced and winner is not None else None,
        what=what,
    )
    AttemptTracer.failed(ticket.trace, AttemptCancelledError(why))


def attempt_timeout_error(ticket: AttemptTicket, what: str) -> AttemptTimeoutError:
    """The error of an attempt that gave no ``what`` (answer, first chunk) in time."""
    waited = ticket.timeout or 0.0
    return AttemptTimeoutError(
        f"route {ticket.route.name!r} gave no {what} within {waited:.3g} s; abandoned"
    )


def _new_ticket(
    ctx: CallContext, route: Route, *, hedge: bool, timeout: float | None
) -> AttemptTicket:
    """Start the clock (and the trace) of an attempt on ``route`` that may take ``timeout``.

    ``timeout`` is the one the caller decided with (:meth:`CallPlan.timeout_for_attempt`),
    so that the ticket and that decision never disagree.
    """
    ticket = AttemptTicket(route, ctx.plan.clock(), hedge, timeout)
    ctx.trace_start(ticket)
    return ticket


def _next_wakeup(
    ctx: CallContext, tickets: Collection[AttemptTicket]
) -> tuple[float | None, float | None]:
    """Seconds to wait for in-flight attempts, and when a hedge is due (if one may start).

    The wait ends at the earliest attempt timeout or hedge time, whichever comes first.
    """
    deadlines = [t.timeout_at for t in tickets if t.timeout_at is not None]
    hedge_at = None
    if len(tickets) == 1 and not ctx.plan.hedged:
        (only,) = tickets
        delay = ctx.hedge_delay(only.route)
        if delay is not None:
            hedge_at = ctx.hedge_origin(only) + delay
            deadlines.append(hedge_at - _TIMER_SLACK)
    if not deadlines:
        return None, hedge_at
    return max(0.0, min(deadlines) - ctx.plan.clock()), hedge_at


def _timed_out(inflight: Mapping[K, AttemptTicket], now: float) -> list[K]:
    """The in-flight attempts whose timeout has passed."""
    return [key for key, t in inflight.items() if t.timeout_at is not None and now >= t.timeout_at]


def _hedge_due(ctx: CallContext, hedge_at: float | None, in_flight: int) -> bool:
    """Whether to start the hedge now (at most one hedge a call)."""
    if hedge_at is None or in_flight != 1 or ctx.plan.clock() < hedge_at - _TIMER_SLACK:
        return False
    ctx.plan.hedged = True
    return True


class _StoppingError:
    """An error that stops failover (e.g. a 400), held while another attempt still runs.

    With a hedge in flight, one route refusing the request (peers.md: a second provider
    rejecting what the first accepts) must not fail a call that the other route can still
    answer. The error is raised once nothing is left running; the first one is kept.
    """

    __slots__ = ("error",)

    def __init__(self) -> None:
        self.error: BaseException | None = None

    @contextlib.contextmanager
    def held_while(self, others_running: bool) -> Iterator[None]:
        """Hold an ``Exception`` raised inside while ``others_running``; re-raise otherwise."""
        try:
            yield
        except Exception as exc:
            if not others_running:
                raise
            if self.error is None:
                self.error = exc

    def raise_if_held(self) -> None:
        """Raise the held error, if any (every attempt has ended without an answer)."""
        if self.error is not None:
            raise self.error


# ======================================================================================
# Sync
# ======================================================================================


def race_to_first_event(
    ctx: CallContext,
    start: Callable[[Route, AttemptTicket], T],
    *,
    what: str,
    close: Callable[[T], None] | None = None,
) -> tuple[AttemptTicket, T]:
    """Run attempts until one produces its first event; see the module docstring.

    An attempt runs in the calling thread (no thread hop) when nothing needs watching
    while it runs: no hedge is planned and the attempt has no timeout, or the member's
    own HTTP read timeout is the attempt timeout (:meth:`CallContext.member_bounds_attempt`).
    Otherwise it runs in a worker thread that the calling thread abandons at the timeout
    (:func:`_watch_in_threads`).
    """
    plan = ctx.plan
    while True:
        step = plan.next_step()
        if step is None:
            raise plan.exhausted()
        if isinstance(step, float):
            time.sleep(step)
            continue
        timeout = plan.timeout_for_attempt()
        unhedged = ctx.hedge_after is None or ctx.hedge_delay(step) is None
        if unhedged and ctx.member_bounds_attempt(step, timeout):
            ticket = _new_ticket(ctx, step, hedge=False, timeout=timeout)
            try:
                return ticket, start(step, ticket)
            except Exception as exc:
                fail_attempt(ctx, ticket, exc)
                continue
        won = _watch_in_threads(ctx, start, step, timeout, what=what, close=close)
        if won is not None:
            return won


def _watch_in_threads(
    ctx: CallContext,
    start: Callable[[Route, AttemptTicket], T],
    first: Route,
    timeout: float | None,
    *,
    what: str,
    close: Callable[[T], None] | None,
) -> tuple[AttemptTicket, T] | None:
    """Run an attempt on ``first`` (and its hedge, if one is due) in worker threads.

    Returns the first attempt to produce its event, or ``None`` when every attempt
    started here failed over (the caller then chooses the next step). Attempts that
    lose, or outlive their timeout, are abandoned: their threads are not waited for.
    An error that stops failover (a 400) on one attempt while another is still running
    waits for that other one (:class:`_StoppingError`): only if it fails too is it raised.
    """
    plan = ctx.plan
    pool = attempt_executor()
    inflight: dict[concurrent.futures.Future[T], AttemptTicket] = {}
    stopping = _StoppingError()

    def launch(route: Route, *, hedge: bool, timeout: float | None) -> None:
        ticket = _new_ticket(ctx, route, hedge=hedge, timeout=timeout)
        inflight[pool.submit(start, route, ticket)] = ticket

    def abandon_all(why: str, winner: AttemptTicket | None = None) -> None:
        for future, ticket in inflight.items():
            ticket.cancelled = True
            never_ran = future.cancel()
            finished = future.done() and not never_ran
            if finished and future.exception() is None and close:
                close(future.result())
            silent = not never_ran and not finished  # still waiting for its first event
            abandon_attempt(ctx, ticket, why, winner=winner if silent else None, what=what)
        inflight.clear()

    launch(first, hedge=False, timeout=timeout)
    while inflight:
        wait, hedge_at = _next_wakeup(ctx, list(inflight.values()))
        done, _ = concurrent.futures.wait(
            inflight, timeout=wait, return_when=concurrent.futures.FIRST_COMPLETED
        )
        for future in done:
            ticket = inflight.pop(future)
            error = future.exception()
            if error is None:
                abandon_all("another route answered first", winner=ticket)
                return ticket, future.result()
            with stopping.held_while(bool(inflight)):
                fail_attempt(ctx, ticket, error)
        for future in _timed_out(inflight, plan.clock()):
            ticket = inflight.pop(future)
            ticket.cancelled = True
            future.cancel()
            fail_attempt(ctx, ticket, attempt_timeout_error(ticket, what))
        if _hedge_due(ctx, hedge_at, len(inflight)) and not stopping.error:
            hedge = plan.next_route_now()
            if hedge is not None:
                launch(hedge, hedge=True, timeout=plan.timeout_for_attempt())
    stopping.raise_if_held()
    return None


def _finish_invoke(ctx: CallContext, ticket: AttemptTicket, result: ChatResult) -> ChatResult:
    message = result.generations[0].message if result.generations else None
    attempt = ctx.plan.succeeded(
        ticket.route,
        started=ticket.started,
        ttft=None,
        message=message,
        hedge=ticket.hedge,
    )
    AttemptTracer.succeeded(ticket.trace, message)
    explanation = ctx.plan.explanation(attempt, ctx.priority)
    if message is not None:
        if ctx.model_override and ticket.route.model_id:
            # Some members (ChatGroq) report their configured model, not the override.
            message.response_metadata["model_name"] = ticket.route.model_id
        message.response_metadata["routing"] = explanation
    if result.llm_output is None:
        result.llm_output = {"routing": explanation}
    else:  # the member's own dict, made for this answer
        result.llm_output["routing"] = explanation
    return result


def run_invoke(ctx: CallContext) -> ChatResult:
    """A routed sync call (``_generate``)."""

    def start(route: Route, ticket: AttemptTicket) -> ChatResult:
        return route.model._generate(ctx.messages, ctx.stop, None, **ctx.kwargs_for_attempt(ticket))

    ticket, result = race_to_first_event(ctx, start, what="answer")
    return _finish_invoke(ctx, ticket, result)


# ======================================================================================
# Async
# ======================================================================================

if sys.version_info >= (3, 11):
    async_timeout = asyncio.timeout
else:  # pragma: no cover - Python 3.10

    class _TimeoutCompat:
        def __init__(self, delay: float | None) -> None:
            self._delay = delay
            self._handle: asyncio.TimerHandle | None = None
            self._task: asyncio.Task[Any] | None = None
            self._fired = False

        async def __aenter__(self) -> _TimeoutCompat:
            if self._delay is not None:
                self._task = asyncio.current_task()
                loop = asyncio.get_running_loop()
                self._handle = loop.call_later(self._delay, self._fire)
            return self

        def _fire(self) -> None:
            self._fired = True
            if self._task is not None:
                self._task.cancel()

        async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
            if self._handle is not None:
                self._handle.cancel()
            if self._fired and exc_type is asyncio.CancelledError:
                raise TimeoutError

    async_timeout = _TimeoutCompat


async def arace_to_first_event(
    ctx: CallContext,
    start: Callable[[Route, AttemptTicket], Awaitable[T]],
    *,
    what: str,
    close: Callable[[T], Awaitable[None]] | None = None,
) -> tuple[AttemptTicket, T]:
    """The async race; same rules as :func:`race_to_first_event`.

    An attempt that needs no hedge runs inline, in the calling task: bounded by the
    member's own read timeout (as in the sync race), else by an asyncio timeout.
    Otherwise it runs as a task (:func:`_watch_in_tasks`).
    """
    plan = ctx.plan
    try:
        while True:
            if ctx.has_pending_updates:  # e.g. the last failure, before the next admission
                await ctx.aflush()
            step = await plan.anext_step()
            if step is None:
                raise plan.exhausted()
            if isinstance(step, float):
                await asyncio.sleep(step)
                continue
            timeout = plan.timeout_for_attempt()
            # (No hedging, the usual call: no coroutine built for the delay.)
            if ctx.hedge_after is not None and await ctx.ahedge_delay(step) is not None:
                won = await _watch_in_tasks(ctx, start, step, timeout, what=what, close=close)
                if won is not None:
                    return won
                continue
            ticket = _new_ticket(ctx, step, hedge=False, timeout=timeout)
            try:
                if ctx.tracer is not None:
                    await ctx.aflush()  # the attempt's run starts before the attempt
                if ctx.member_bounds_attempt(step, timeout):
                    return ticket, await start(step, ticket)
                async with async_timeout(timeout):
                    return ticket, await start(step, ticket)
            except TimeoutError as exc:
                error = attempt_timeout_error(ticket, what).with_traceback(exc.__traceback__)
                fail_attempt(ctx, ticket, error)
            except asyncio.CancelledError:
                abandon_attempt(ctx, ticket, "the call was cancelled")  # frees a probe slot
                raise
            except Exception as exc:
                fail_attempt(ctx, ticket, exc)
    finally:
        if ctx.has_pending_updates:
            await ctx.aflush()


async def _watch_in_tasks(
    ctx: CallContext,
    start: Callable[[Route, AttemptTicket], Awaitable[T]],
    first: Route,
    timeout: float | None,
    *,
    what: str,
    close: Callable[[T], Awaitable[None]] | None,
) -> tuple[AttemptTicket, T] | None:
    """:func:`_watch_in_threads` with tasks: the losers are cancelled, not abandoned.

    A loser outpaced by an answer is cancelled :data:`LOSER_TEARDOWN_DELAY` later, not
    at once: tearing its request down (~0.3 ms of SDK and HTTP clean-up) would otherwise
    run on the event loop before the answer reaches the caller, in every hedged call.
    When the call itself is cancelled, its attempts are cancelled at once.
    """
    plan = ctx.plan
    inflight: dict[asyncio.Task[T], AttemptTicket] = {}
    stopping = _StoppingError()

    def launch(route: Route, *, hedge: bool, timeout: float | None) -> None:
        ticket = _new_ticket(ctx, route, hedge=hedge, timeout=timeout)
        inflight[asyncio.ensure_future(start(route, ticket))] = ticket

    async def abandon_all(why: str, winner: AttemptTicket | None = None) -> None:
        for task, ticket in inflight.items():
            ticket.cancelled = True
            finished = task.done()
            if finished and not task.cancelled() and task.exception() is None and close:
                await close(task.result())
            if winner is None:
                task.cancel()
            else:  # off the answer's path (see above)
                asyncio.get_running_loop().call_later(LOSER_TEARDOWN_DELAY, task.cancel)
            abandon_attempt(ctx, ticket, why, winner=None if finished else winner, what=what)
        inflight.clear()
        await ctx.aflush()

    launch(first, hedge=False, timeout=timeout)
    try:
        while inflight:
            await ctx.aflush()
            wait, hedge_at = _next_wakeup(ctx, list(inflight.values()))
            done, _ = await asyncio.wait(
                inflight, timeout=wait, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                ticket = inflight.pop(task)
                error = task.exception()
                if error is None:
                    await abandon_all("another route answered first", winner=ticket)
                    return ticket, task.result()
                with stopping.held_while(bool(inflight)):
                    fail_attempt(ctx, ticket, error)
            for task in _timed_out(inflight, plan.clock()):
                ticket = inflight.pop(task)
                ticket.cancelled = True
                task.cancel()
                fail_attempt(ctx, ticket, attempt_timeout_error(ticket, what))
            if _hedge_due(ctx, hedge_at, len(inflight)) and not stopping.error:
                hedge = await plan.anext_route_now()
                if hedge is not None:
                    launch(hedge, hedge=True, timeout=plan.timeout_for_attempt())
    except asyncio.CancelledError:
        await abandon_all("the call was cancelled")
        raise
    stopping.raise_if_held()
    return None


async def arun_invoke(ctx: CallContext) -> ChatResult:
    """A routed async call (``_agenerate``)."""

    async def start(route: Route, ticket: AttemptTicket) -> ChatResult:
        return await route.model._agenerate(
            ctx.messages, ctx.stop, None, **ctx.kwargs_for_attempt(ticket)
        )

    ticket, result = await arace_to_first_event(ctx, start, what="answer")
    finished = _finish_invoke(ctx, ticket, result)
    if ctx.has_pending_updates:
        await ctx.aflush()
    return finished
