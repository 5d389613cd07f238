"""The routing decisions of one call, shared by invoke, ainvoke, stream and astream.

A :class:`CallPlan` knows the route order for the call's priority, asks the health store
which routes may be tried, classifies each failure, decides between failing over,
retrying a pass after a ``retry-after`` or giving up, and writes the explanation that
ends up in ``response_metadata["routing"]``. The four call paths only *execute* what the
plan decides (threads for sync, tasks for async), so their behaviour cannot drift.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage, BaseMessageChunk

from langchain_cerebras_router.catalogue import ModelCatalogue
from langchain_cerebras_router.failures import Failure, FailureKind, classify_failure
from langchain_cerebras_router.health import (
    Admission,
    HealthStore,
    RateLimitSnapshot,
    parse_rate_limit_headers,
)
from langchain_cerebras_router.metrics import SpeedMonitor
from langchain_cerebras_router.ratelimits import RateLimitSampler

__all__ = [
    "AllRoutesFailedError",
    "Attempt",
    "CallPlan",
    "PartialStreamError",
    "Route",
    "is_committing_chunk",
]

logger = logging.getLogger("langchain_cerebras_router.routing")

Outcome = Literal["answered", "failed", "skipped", "cancelled", "abandoned"]


@dataclass(frozen=True, slots=True)
class Route:
    """One member of a router: a name, a chat model, and what it is."""

    name: str
    model: BaseChatModel
    provider: str
    model_id: str | None
    has_stream: bool
    has_astream: bool
    #: Whether it may answer with tool calls a request that sends no tools (see
    #: :func:`~langchain_cerebras_router.route_factory.tool_calls_unasked`).
    tool_calls_unasked: bool = True


@dataclass(slots=True)
class Attempt:
    """What happened to one route during one call (for explanations and errors)."""

    route: str
    provider: str
    model: str | None
    outcome: Outcome
    reason: str | None = None
    failure_kind: str | None = None
    status_code: int | None = None
    elapsed_ms: float | None = None
    ttft_ms: float | None = None
    hedge: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict without empty fields."""
        values: dict[str, Any] = {"route": self.route, "provider": self.provider}
        if self.model is not None:
            values["model"] = self.model
        values["outcome"] = self.outcome
        if self.reason is not None:
            values["reason"] = self.reason
        if self.failure_kind is not None:
            values["failure_kind"] = self.failure_kind
        if self.status_code is not None:
            values["status_code"] = self.status_code
        if self.elapsed_ms is not None:
            values["elapsed_ms"] = self.elapsed_ms
        if self.ttft_ms is not None:
            values["ttft_ms"] = self.ttft_ms
        if self.hedge:
            values["hedge"] = True
        return values

    def describe(self) -> str:
        """One line, e.g. ``cerebras (gpt-oss-120b): failed: rate_limited (HTTP 429)``."""
        model = f" ({self.model})" if self.model else ""
        reason = f": {self.reason}" if self.reason else ""
        return f"{self.route}{model}: {self.outcome}{reason}"


class AllRoutesFailedError(Exception):
    """Every route was tried (or refused by its health) and none answered.

    Attributes:
        attempts: Each attempt, in order, with its cause.
        failure_kind: The kind of the last failure (for outer classifiers such as
            ``.with_fallbacks()`` or another router).
    """

    def __init__(self, attempts: Sequence[Attempt], *, why: str = "every route failed") -> None:
        self.attempts = list(attempts)
        failed = [a for a in self.attempts if a.failure_kind]
        self.failure_kind = failed[-1].failure_kind if failed else FailureKind.CONNECTION.value
        lines = "\n".join(f"  - {a.describe()}" for a in self.attempts) or "  (no route)"
        super().__init__(f"RoutedChatModel: {why}. Attempts:\n{lines}")


class PartialStreamError(Exception):
    """A stream failed after output had been yielded (the commit point).

    The router never splices a second provider's answer onto a partial one, so it
    raises this instead. Retry the whole request if you want a complete answer.

    Attributes:
        route: The route that was streaming.
        chunks_yielded: Chunks already yielded to the caller.
        characters_yielded: Characters of text already yielded.
        tool_calls_yielded: Whether tool-call chunks had been yielded.
        failure: The classified cause.
    """

    failure_kind = FailureKind.STREAM_INTERRUPTED.value

    def __init__(
        self,
        *,
        route: str,
        chunks_yielded: int,
        characters_yielded: int,
        tool_calls_yielded: bool,
        failure: Failure,
    ) -> None:
        self.route = route
        self.chunks_yielded = chunks_yielded
        self.characters_yielded = characters_yielded
        self.tool_calls_yielded = tool_calls_yielded
        self.failure = failure
        tools = " including tool calls" if tool_calls_yielded else ""
        super().__init__(
            f"RoutedChatModel: route {route!r} failed after {chunks_yielded} chunks "
            f"({characters_yielded} characters{tools}) had been yielded: {failure.summary()}. "
            "Not failing over, so that two providers' answers are never spliced together; "
            "retry the whole request for a complete answer."
        )


#: The speed-monitor series of attempts whose model is not known.
UNKNOWN_MODEL = "unknown"

#: ``Failure.exception_type`` of an attempt outpaced while silent (no exception is raised).
_OUTPACED_ERROR_TYPE = "langchain_cerebras_router.route_execution.AttemptTimeoutError"


def milliseconds(seconds: float) -> float:
    """``seconds`` in milliseconds, to the microsecond (``round(x, 3)`` costs 0.3 us)."""
    return round(seconds * 1_000_000) / 1000


def is_committing_chunk(chunk: BaseMessageChunk) -> bool:
    """Whether yielding ``chunk`` commits the stream to its route (it carries output)."""
    if chunk.content:
        return True
    if getattr(chunk, "tool_call_chunks", None):
        return True
    return bool(
        chunk.additional_kwargs.get("reasoning_content")
        or chunk.additional_kwargs.get("tool_calls")
    )


def estimate_tokens(messages: Sequence[BaseMessage]) -> int:
    """A cheap prompt-size estimate (4 characters a token) for rate-limit budgeting."""
    characters = 0
    for message in messages:
        content = message.content
        characters += len(content) if isinstance(content, str) else len(str(content))
    return characters // 4 + 1


def rate_limits_from(metadata: Mapping[str, Any] | None) -> RateLimitSnapshot | None:
    """Rate-limit state from ``response_metadata["rate_limits"]`` (raw headers)."""
    headers = (metadata or {}).get("rate_limits")
    if not headers:
        return None
    return parse_rate_limit_headers(headers)


@dataclass(slots=True)
class CallPlan:
    """Routing state of one call: order, health admission, budget, deadline, attempts.

    Args:
        routes: Routes in the order the policy chose for this call.
        health: The router's health store.
        attempt_timeout: Seconds an attempt may take (streams: to the first chunk).
        deadline: Seconds the whole call may take, or ``None``.
        max_passes: Passes over the routes (1 + the router's ``max_retries``).
        estimated_tokens: Prompt-size estimate for rate-limit budgets.
        clock: Monotonic clock.
        failover_on_bad_request: Treat 400-class errors as failover-worthy.
        asynchronous: Queue health updates for :meth:`aflush` (async call paths) instead
            of applying them with the store's sync API.
        rate_limit_sampler: Which successful answers' rate-limit headers to parse (the
            router's, shared by its calls); ``None``: every answer's.
        monitor: The speed monitor fed with every answered and failed attempt, if any.
        model_override: The call asked for its own model (``model=``): a route that does
            not serve it is not unhealthy, and an unknown id is no speed-monitor series.
        observed_headers: Route name -> the last response headers seen at the HTTP layer
            (router-built Groq/OpenAI members, whose answers do not carry them).
    """

    routes: Sequence[Route]
    health: HealthStore
    attempt_timeout: float | None
    deadline: float | None
    max_passes: int = 1
    estimated_tokens: int | None = None
    clock: Callable[[], float] = time.monotonic
    failover_on_bad_request: bool = False
    max_retry_wait: float = 10.0
    asynchronous: bool = False
    rate_limit_sampler: RateLimitSampler | None = None
    monitor: SpeedMonitor | None = None
    model_override: bool = False
    observed_headers: Mapping[str, Mapping[str, str]] | None = None
    attempts: list[Attempt] = field(default_factory=list)
    hedged: bool = False
    # Progress of the call (set in __post_init__).
    started: float = field(init=False)
    _deadline_at: float | None = field(init=False, repr=False)
    _position: int = field(init=False, repr=False)
    _passes: int = field(init=False, repr=False)
    _disabled: set[str] = field(init=False, repr=False)
    _in_flight: set[str] = field(init=False, repr=False)
    _tried_this_pass: int = field(init=False, repr=False)
    _waits: list[float] = field(init=False, repr=False)
    _probes: set[str] = field(init=False, repr=False)
    _pending: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.started = self.clock()
        self._deadline_at = None if self.deadline is None else self.started + self.deadline
        self._position = 0
        self._passes = 1
        self._disabled = set()
        self._in_flight = set()
        self._tried_this_pass = 0
        self._waits = []
        self._probes = set()
        self._pending = []

    # ------------------------------------------------------------------ time budget

    def remaining(self) -> float | None:
        """Seconds left before the call's deadline (``None``: no deadline)."""
        if self._deadline_at is None:
            return None
        return max(0.0, self._deadline_at - self.clock())

    def timeout_for_attempt(self) -> float | None:
        """The attempt timeout, shortened to what the deadline leaves."""
        if self._deadline_at is None:
            return self.attempt_timeout
        remaining = self.remaining()
        if remaining is None:
            return self.attempt_timeout
        if self.attempt_timeout is None:
            return remaining
        return min(self.attempt_timeout, remaining)

    # ------------------------------------------------------------------ choosing routes

    def next_step(self, *, hedge: bool = False) -> Route | float | None:
        """The next route to try, seconds to wait before another pass, or ``None``.

        Routes refused by health are recorded as skipped. When a pass ends with every
        route refused and nothing tried, the route that frees up first is tried anyway
        (fail open), so a burst of failures cannot lock a router out for the whole open
        period. After a pass in which routes failed, another pass starts while the retry
        budget and deadline allow, after the shortest pending ``retry-after``.

        With ``hedge=True`` (the route of a hedge): never waits, never fails open.
        """
        while True:
            step, admit_first = self._propose(hedge=hedge)
            if not admit_first:
                return step
            route = cast(Route, step)
            admission = self.health.admit(route.name, estimated_tokens=self.estimated_tokens)
            if self._admitted(route, admission):
                return route

    async def anext_step(self, *, hedge: bool = False) -> Route | float | None:
        """:meth:`next_step` with the health store's async API (e.g. Redis)."""
        while True:
            step, admit_first = self._propose(hedge=hedge)
            if not admit_first:
                return step
            route = cast(Route, step)
            admission = await self.health.aadmit(route.name, estimated_tokens=self.estimated_tokens)
            if self._admitted(route, admission):
                return route

    def next_route_now(self) -> Route | None:
        """The next route for a hedge: never waits, never fails open."""
        step = self.next_step(hedge=True)
        return step if isinstance(step, Route) else None

    async def anext_route_now(self) -> Route | None:
        """:meth:`next_route_now` with the health store's async API."""
        step = await self.anext_step(hedge=True)
        return step if isinstance(step, Route) else None

    def _propose(self, *, hedge: bool) -> tuple[Route | float | None, bool]:
        """The next step of route selection, without I/O: ``(step, admit_first)``.

        With ``admit_first`` the step is a route that the health store must admit first:
        the caller asks the store (sync or async) and hands the verdict to
        :meth:`_admitted`. Otherwise the step is final: a route tried without asking (fail
        open), the seconds to wait before another pass, or ``None`` (nothing left). The
        sync and async callers share this one decision procedure.
        """
        while True:
            if self._deadline_at is not None and self.remaining() == 0.0:
                return None, False
            if self._position < len(self.routes):
                route = self.routes[self._position]
                self._position += 1
                if route.name in self._disabled or route.name in self._in_flight:
                    continue
                return route, True
            if hedge:
                return None, False
            if self._tried_this_pass == 0 and not self._in_flight:
                forced = self._fail_open_route()
                if forced is not None:
                    return forced, False
            if self._passes >= self.max_passes or self._in_flight:
                return None, False
            wait = min(self._waits) if self._waits else 0.0
            remaining = self.remaining()
            if wait > self.max_retry_wait or (remaining is not None and wait >= remaining):
                return None, False
            self._passes += 1
            self._position = 0
            self._tried_this_pass = 0
            self._waits = []
            if wait > 0:
                return wait, False

    def _admitted(self, route: Route, admission: Admission) -> bool:
        """Apply the health store's verdict on a proposed route; ``True``: try it."""
        if not admission.allowed:
            self._skip(route, admission.reason or "refused by health")
            if admission.retry_in is not None:
                self._waits.append(admission.retry_in)
            return False
        if admission.probe:
            self._probes.add(route.name)
        self._tried_this_pass += 1
        self._in_flight.add(route.name)
        return True

    def _fail_open_route(self) -> Route | None:
        candidates = [r for r in self.routes if r.name not in self._disabled]
        if not candidates or any(a.outcome != "skipped" for a in self.attempts):
            return None
        route = candidates[0]
        logger.warning(
            "RoutedChatModel: every route is refused by its health; trying %r anyway.", route.name
        )
        self._tried_this_pass += 1
        self._in_flight.add(route.name)
        return route

    def _skip(self, route: Route, reason: str) -> None:
        logger.info("RoutedChatModel: skipping route %r: %s", route.name, reason)
        self.attempts.append(
            Attempt(route.name, route.provider, route.model_id, "skipped", reason=reason)
        )

    # ------------------------------------------------------------------ outcomes

    def succeeded(
        self,
        route: Route,
        *,
        started: float,
        ttft: float | None,
        message: BaseMessage | None,
        hedge: bool = False,
        streamed: bool = False,
        chunks: int = 0,
    ) -> Attempt:
        """Record the answering attempt: health store, rate-limit sampler, speed monitor.

        Rate limits come from the answer's ``response_metadata["rate_limits"]``
        (ChatCerebras) or, for members whose responses the router observes at the HTTP
        layer, from :attr:`observed_headers`; its total usage tells the sampler what the
        call spent. ``message`` is the answer (a stream: its last chunk), ``chunks`` a
        stream's count.
        """
        name = route.name
        self._in_flight.discard(name)
        self._probes.discard(name)
        now = self.clock()
        latency = now - started
        metadata = message.response_metadata if message is not None else {}
        usage = getattr(message, "usage_metadata", None) or {}
        sampler = self.rate_limit_sampler
        rate_limits = None
        if sampler is None or sampler.due(name, now, usage.get("total_tokens") or 0):
            rate_limits = self._rate_limits_of(name, metadata)
            if sampler is not None:
                sampler.observed(name, rate_limits, now)
        self._update_health(
            "record_success", name, ttft=ttft, latency=latency, rate_limits=rate_limits
        )
        model = metadata.get("model_name") or route.model_id
        if self.monitor is not None:  # CallSample's fields, in order
            self.monitor.record_attempt(
                route.provider,
                str(model or "unknown"),
                started,
                ttft,
                latency,
                usage.get("output_tokens"),
                usage.get("input_tokens"),
                metadata.get("tokens_per_second"),
                True,
                None,
                streamed,
                name,
                chunks,
            )
        attempt = Attempt(
            name,
            route.provider,
            model,
            "answered",
            elapsed_ms=milliseconds(latency),
            ttft_ms=None if ttft is None else milliseconds(ttft),
            hedge=hedge,
        )
        self.attempts.append(attempt)
        return attempt

    def _rate_limits_of(self, name: str, metadata: Mapping[str, Any]) -> RateLimitSnapshot | None:
        """An answer's rate limits: its metadata's headers, else those seen at the HTTP layer."""
        rate_limits = rate_limits_from(metadata)
        if rate_limits is None and self.observed_headers:
            headers = self.observed_headers.get(name)
            if headers:
                rate_limits = parse_rate_limit_headers(headers)
        return rate_limits

    def failed(
        self,
        route: Route,
        exc: BaseException,
        *,
        started: float,
        hedge: bool = False,
        streamed: bool = False,
    ) -> Failure:
        """Record a failed attempt (health store, speed monitor).

        The caller fails over only if ``failure.failover``.

        Returns:
            The classified failure. For bad requests (unless ``failover_on_bad_request``)
            and cancellations ``failover`` is ``False``: re-raise the original exception.
        """
        self._in_flight.discard(route.name)
        probe = route.name in self._probes
        self._probes.discard(route.name)
        failure = classify_failure(exc)
        rate_limits = None
        response = getattr(exc, "response", None)
        if response is not None and getattr(response, "headers", None) is not None:
            rate_limits = parse_rate_limit_headers(response.headers)
        if failure.kind is FailureKind.MODEL_NOT_FOUND and self.model_override:
            # The route is fine; the model this call asked for is not (a caller's typo
            # must not open every route's breaker for everyone).
            if probe:
                self._update_health("release_probe", route.name)
        else:
            self._update_health(
                "record_failure", route.name, failure, rate_limits=rate_limits, probe=probe
            )
        if failure.disables_route:
            self._disabled.add(route.name)
            logger.error(
                "RoutedChatModel: route %r disabled: authentication failed (%s). Check its API "
                "key; the router keeps using the other routes.",
                route.name,
                failure.status_code,
            )
        if failure.retry_after is not None:
            self._waits.append(failure.retry_after)
        elapsed = self.clock() - started
        if self.monitor is not None:  # CallSample's fields, in order
            self.monitor.record_attempt(
                route.provider,
                self._monitored_model(route),
                started,
                None,
                elapsed,
                None,
                None,
                None,
                False,
                failure.kind.value,
                streamed,
                route.name,
                0,
            )
        self.attempts.append(
            Attempt(
                route.name,
                route.provider,
                route.model_id,
                "failed",
                reason=failure.summary(),
                failure_kind=failure.kind.value,
                status_code=failure.status_code,
                elapsed_ms=milliseconds(elapsed),
                hedge=hedge,
            )
        )
        logger.warning("RoutedChatModel: route %r failed: %s", route.name, failure.summary())
        return failure

    def _monitored_model(self, route: Route) -> str:
        """The speed-monitor series of a failed attempt.

        A per-call model id only if catalogued: ids a caller makes up must not grow the
        monitor without bound.
        """
        model = route.model_id
        if model and self.model_override:
            known = ModelCatalogue.default().entry(route.provider, model)
            return model if known is not None else UNKNOWN_MODEL
        return model or UNKNOWN_MODEL

    def should_fail_over(self, failure: Failure) -> bool:
        """Whether to try another route after ``failure``."""
        if failure.kind is FailureKind.BAD_REQUEST:
            return self.failover_on_bad_request and not failure.is_context_length
        return failure.failover

    def abandoned(
        self,
        route: Route,
        *,
        started: float,
        why: str,
        hedge: bool = False,
        outpaced_by: str | None = None,
        what: str = "first event",
    ) -> None:
        """Record an attempt given up by the router (lost a hedge race, or cancelled).

        Neutral for the route's health, unless ``outpaced_by`` names the route that
        answered while this attempt, started before it, had given no ``what``: then it
        counts against its circuit breaker as a timeout would, so that a route that
        hangs stops costing a hedge on every call once its breaker opens. The speed
        monitor records neither.
        """
        name = route.name
        self._in_flight.discard(name)
        probe = name in self._probes
        self._probes.discard(name)
        elapsed = self.clock() - started
        failure = None
        if outpaced_by is not None:
            message = (
                f"route {name!r} gave no {what} in {elapsed:.3g} s, while route "
                f"{outpaced_by!r}, started after it, answered"
            )
            failure = Failure(FailureKind.TIMEOUT, None, None, message, _OUTPACED_ERROR_TYPE)
            self._update_health("record_failure", name, failure, probe=probe)
        elif probe:
            self._update_health("release_probe", name)
        self.attempts.append(
            Attempt(
                name,
                route.provider,
                route.model_id,
                "cancelled",
                reason=why if failure is None else f"{why}: {failure.message}",
                failure_kind=None if failure is None else failure.kind.value,
                elapsed_ms=milliseconds(elapsed),
                hedge=hedge,
            )
        )

    def _update_health(self, method: str, *args: Any, **kwargs: Any) -> None:
        """Apply a health update now (sync calls) or queue it for :meth:`aflush`."""
        if self.asynchronous:
            self._pending.append((method, args, kwargs))
        else:
            getattr(self.health, method)(*args, **kwargs)

    @property
    def has_pending_updates(self) -> bool:
        """Whether health updates wait for :meth:`aflush`."""
        return bool(self._pending)

    async def aflush(self) -> None:
        """Apply the queued health updates through the store's async API."""
        while self._pending:
            method, args, kwargs = self._pending.pop(0)
            await getattr(self.health, f"a{method}")(*args, **kwargs)

    def exhausted(self) -> AllRoutesFailedError:
        """The error to raise when no step is left."""
        why = "deadline exceeded" if self.remaining() == 0.0 else "every route failed"
        return AllRoutesFailedError(self.attempts, why=why)

    def explanation(self, answered: Attempt, priority: str) -> dict[str, Any]:
        """The ``response_metadata["routing"]`` entry."""
        return {
            "route": answered.route,
            "provider": answered.provider,
            "priority": priority,
            "hedged": self.hedged,
            "attempts": list(map(Attempt.to_dict, self.attempts)),
        }
