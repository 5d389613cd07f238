"""Per-route health: circuit breaker, rate-limit budget and latency statistics.

A `HealthStore` holds the health of every route of a router. Each state change is one
call on one route (`HealthStore.admit`, `HealthStore.record_success`,
`HealthStore.record_failure`, `HealthStore.release_probe`, `HealthStore.reset`), so a
shared store can make each of them one atomic operation (e.g. one Lua script per call on
Redis). `InMemoryHealthStore` is the embedded default.

Circuit breaker (per route):

* **closed** — calls are admitted. Each failure that `Failure.counts_toward_breaker`
  (rate limits, capacity, 5xx, timeouts, connection and stream failures) adds one to the
  consecutive-failure count; a success resets it. Bad requests, cancellations and unknown
  errors are neutral. At ``failure_threshold`` the breaker opens.
* **open** — calls are refused for ``open_seconds``; each reopening without a success in
  between multiplies the period by ``open_backoff``, up to ``max_open_seconds``
  (30 s, 60 s, 120 s, 240 s, 300 s with the defaults).
* **half_open** — after the open period, `HealthStore.admit` gives exactly
  ``half_open_max_probes`` callers ``Admission(allowed=True, probe=True)`` and refuses the
  others. A success closes the breaker; a counting failure reopens it with the longer
  period; a neutral outcome or `HealthStore.release_probe` frees the probe slot. A probe
  that never reports is presumed lost after ``probe_timeout_seconds``.
* **disabled** — after an authentication failure (401/403): refused until `reset`.

Independently of the breaker, a failure that carries ``retry-after`` refuses the route until
then, and the latest rate-limit headers refuse it while no requests (or fewer tokens than
the call's estimate) are left before their reset. Each admitted call reserves one request
and its estimated tokens from that budget until fresher headers arrive, so concurrent callers
do not all spend the last request.

All times are on the store's clock (monotonic seconds by default). Reset durations from
headers are anchored on the store's clock when they are recorded.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from langchain_cerebras_router.failures import Failure
from langchain_cerebras_router.ratelimits import (
    RateLimitSnapshot,
    parse_duration,
    parse_rate_limit_headers,
)

__all__ = [
    "Admission",
    "BreakerConfig",
    "Clock",
    "HealthStore",
    "InMemoryHealthStore",
    "RateLimitSnapshot",
    "RouteHealthSnapshot",
    "RouteState",
    "parse_duration",
    "parse_rate_limit_headers",
]

RouteState = Literal["closed", "open", "half_open", "disabled"]


class Clock(Protocol):
    """A source of monotonic seconds (``time.monotonic`` by default; tests inject a fake)."""

    def __call__(self) -> float:
        """Return the current time in seconds."""
        ...


# --------------------------------------------------------------------------- config, results


@dataclass(frozen=True)
class BreakerConfig:
    """Circuit-breaker and statistics settings shared by all routes of a store.

    Attributes:
        failure_threshold: Consecutive counting failures that open the breaker.
        open_seconds: First open period; then half-open.
        open_backoff: Factor applied to the open period on each reopening without a success.
        max_open_seconds: Cap of the open period.
        half_open_max_probes: Concurrent probe calls allowed while half-open.
        probe_timeout_seconds: A probe that has not reported by then is presumed lost.
        window_size: Recent successes kept for TTFT and latency quantiles.
        default_reset_seconds: Validity of rate-limit headers that carry no reset time.

    Example:
        .. code-block:: python

            store = InMemoryHealthStore(BreakerConfig(failure_threshold=5, open_seconds=10))
    """

    failure_threshold: int = 3
    open_seconds: float = 30.0
    open_backoff: float = 2.0
    max_open_seconds: float = 300.0
    half_open_max_probes: int = 1
    probe_timeout_seconds: float = 60.0
    window_size: int = 200
    default_reset_seconds: float = 60.0

    def __post_init__(self) -> None:
        checks = {
            "failure_threshold": self.failure_threshold >= 1,
            "open_seconds": self.open_seconds >= 0,
            "open_backoff": self.open_backoff >= 1,
            "max_open_seconds": self.max_open_seconds >= self.open_seconds,
            "half_open_max_probes": self.half_open_max_probes >= 1,
            "probe_timeout_seconds": self.probe_timeout_seconds > 0,
            "window_size": self.window_size >= 1,
            "default_reset_seconds": self.default_reset_seconds > 0,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            msg = f"invalid BreakerConfig value(s): {', '.join(bad)} (got {self!r})"
            raise ValueError(msg)

    def open_period(self, reopenings: int) -> float:
        """Open period after ``reopenings`` failed probes since the last success."""
        return float(min(self.open_seconds * self.open_backoff**reopenings, self.max_open_seconds))


@dataclass(frozen=True)
class Admission:
    """Whether a call may go to a route now.

    Attributes:
        allowed: The call may proceed.
        reason: Why it was refused (``None`` when allowed).
        probe: This call is the half-open probe: report its outcome, or `release_probe`.
        retry_in: Seconds until the route may admit again, when known.
    """

    allowed: bool
    reason: str | None = None
    probe: bool = False
    retry_in: float | None = None


#: The two verdicts of an admission that is allowed (immutable, so shared by all calls).
_ADMITTED = Admission(True)
_ADMITTED_PROBE = Admission(True, probe=True)


@dataclass(frozen=True)
class RouteHealthSnapshot:
    """A read-only view of one route's health, for explanations, metrics and tests.

    Times (``open_until``, ``retry_after_until``, ``as_of``) are on the store's clock;
    ``rate_limits`` reports reset durations relative to ``as_of``.
    """

    route: str
    state: RouteState
    consecutive_failures: int
    open_until: float | None
    retry_after_until: float | None
    rate_limits: RateLimitSnapshot | None
    successes: int
    failures: Mapping[str, int]
    last_failure: Failure | None
    disabled_reason: str | None
    probes_in_flight: int
    ttft_samples: int
    latency_samples: int
    as_of: float

    @property
    def total_failures(self) -> int:
        """All recorded failures, of every kind."""
        return sum(self.failures.values())


# --------------------------------------------------------------------------- interface


class HealthStore(ABC):
    """Health of the routes of one router; may be shared by many routers or processes.

    Implementations must make each mutating method one atomic operation on one route.
    The async variants call the sync ones by default; network-backed stores override them.
    """

    @abstractmethod
    def admit(self, route: str, *, estimated_tokens: int | None = None) -> Admission:
        """Decide whether a call may go to ``route`` now, claiming a probe slot if half-open."""

    @abstractmethod
    def record_success(
        self,
        route: str,
        *,
        ttft: float | None,
        latency: float,
        rate_limits: RateLimitSnapshot | None = None,
    ) -> None:
        """Record a successful call (closes the breaker, feeds the quantiles)."""

    @abstractmethod
    def record_failure(
        self,
        route: str,
        failure: Failure,
        *,
        rate_limits: RateLimitSnapshot | None = None,
        probe: bool | None = None,
    ) -> None:
        """Record a failed call.

        ``probe`` says whether the call was the half-open probe (``None``: unknown). A
        neutral outcome frees a probe slot only if it may be the probe's: a call admitted
        before the breaker opened must not let a second probe in.
        """

    @abstractmethod
    def release_probe(self, route: str) -> None:
        """Free the probe slot of a probe that ended without a verdict (cancelled, abandoned)."""

    @abstractmethod
    def ttft_quantile(self, route: str, q: float) -> float | None:
        """Quantile ``q`` (0..1) of recent times to first token; ``None`` without samples."""

    @abstractmethod
    def latency_quantile(self, route: str, q: float) -> float | None:
        """Quantile ``q`` (0..1) of recent end-to-end latencies; ``None`` without samples."""

    @abstractmethod
    def snapshot(self, route: str) -> RouteHealthSnapshot:
        """The current health of ``route`` (a fresh, closed state for an unknown route)."""

    @abstractmethod
    def reset(self, route: str | None = None) -> None:
        """Forget everything about ``route`` (all routes when ``None``), re-enabling it."""

    async def aadmit(self, route: str, *, estimated_tokens: int | None = None) -> Admission:
        """Async `admit`."""
        return self.admit(route, estimated_tokens=estimated_tokens)

    async def arecord_success(
        self,
        route: str,
        *,
        ttft: float | None,
        latency: float,
        rate_limits: RateLimitSnapshot | None = None,
    ) -> None:
        """Async `record_success`."""
        self.record_success(route, ttft=ttft, latency=latency, rate_limits=rate_limits)

    async def arecord_failure(
        self,
        route: str,
        failure: Failure,
        *,
        rate_limits: RateLimitSnapshot | None = None,
        probe: bool | None = None,
    ) -> None:
        """Async `record_failure`."""
        self.record_failure(route, failure, rate_limits=rate_limits, probe=probe)

    async def arelease_probe(self, route: str) -> None:
        """Async `release_probe`."""
        self.release_probe(route)

    async def attft_quantile(self, route: str, q: float) -> float | None:
        """Async `ttft_quantile`."""
        return self.ttft_quantile(route, q)

    async def alatency_quantile(self, route: str, q: float) -> float | None:
        """Async `latency_quantile`."""
        return self.latency_quantile(route, q)

    async def asnapshot(self, route: str) -> RouteHealthSnapshot:
        """Async `snapshot`."""
        return self.snapshot(route)

    async def areset(self, route: str | None = None) -> None:
        """Async `reset`."""
        self.reset(route)


# --------------------------------------------------------------------------- in memory


@dataclass(slots=True)
class _Budget:
    remaining: int | None = None
    limit: int | None = None
    reset_at: float | None = None


@dataclass(slots=True)
class _Route:
    window: int
    state: RouteState = "closed"
    consecutive_failures: int = 0
    reopenings: int = 0
    open_until: float = 0.0
    probe_leases: list[float] = field(default_factory=list)
    retry_after_until: float = 0.0
    requests: _Budget = field(default_factory=_Budget)
    tokens: _Budget = field(default_factory=_Budget)
    rate_observed_at: float | None = None
    disabled_reason: str | None = None
    successes: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    last_failure: Failure | None = None
    ttfts: deque[float] = field(init=False)
    latencies: deque[float] = field(init=False)

    def __post_init__(self) -> None:
        self.ttfts = deque(maxlen=self.window)
        self.latencies = deque(maxlen=self.window)


def _quantile(samples: list[float], q: float) -> float | None:
    if not 0.0 <= q <= 1.0:
        msg = f"quantile must be between 0 and 1, got {q!r}"
        raise ValueError(msg)
    if not samples:
        return None
    samples.sort()
    pos = q * (len(samples) - 1)
    low = int(pos)
    high = min(low + 1, len(samples) - 1)
    return samples[low] + (samples[high] - samples[low]) * (pos - low)


class InMemoryHealthStore(HealthStore):
    """Thread-safe, in-process `HealthStore`: O(1) admit and record under one lock.

    Example:
        .. code-block:: python

            from langchain_cerebras_router.failures import classify_failure
            from langchain_cerebras_router.health import InMemoryHealthStore

            store = InMemoryHealthStore()
            if store.admit("groq").allowed:
                store.record_failure("groq", classify_failure(TimeoutError()))
            print(store.snapshot("groq").consecutive_failures)  # 1
    """

    def __init__(self, config: BreakerConfig | None = None, clock: Clock = time.monotonic) -> None:
        self.config = config if config is not None else BreakerConfig()
        self._clock = clock
        self._lock = threading.Lock()
        self._routes: dict[str, _Route] = {}

    def _route(self, name: str) -> _Route:
        state = self._routes.get(name)
        if state is None:
            state = self._routes[name] = _Route(window=self.config.window_size)
        return state

    # ------------------------------------------------------------------ admit

    def admit(self, route: str, *, estimated_tokens: int | None = None) -> Admission:
        """See `HealthStore.admit`."""
        with self._lock:
            now = self._clock()
            s = self._routes.get(route) or self._route(route)
            probe = False
            if s.state != "closed":
                refusal, probe = self._breaker_verdict(s, now)
                if refusal is not None:
                    return refusal
            if s.retry_after_until > now:
                left = s.retry_after_until - now
                return Admission(False, f"retry-after pending for {left:.1f} s", retry_in=left)
            # Rate-limit budgets (inline: every admission reads them): a budget whose
            # reset has passed is forgotten; one with nothing left refuses.
            requests, tokens_budget = s.requests, s.tokens
            if requests.reset_at is not None and now >= requests.reset_at:
                requests.remaining = requests.limit = requests.reset_at = None
            if tokens_budget.reset_at is not None and now >= tokens_budget.reset_at:
                tokens_budget.remaining = tokens_budget.limit = tokens_budget.reset_at = None
            left_requests = requests.remaining
            if left_requests is not None and left_requests <= 0:
                reset_in = (requests.reset_at or now) - now
                reason = f"rate limit: 0 requests left until reset in {reset_in:.0f} s"
                return Admission(False, reason, retry_in=reset_in)
            left_tokens = tokens_budget.remaining
            if left_tokens is not None and (
                left_tokens <= 0 or (estimated_tokens or 0) > left_tokens
            ):
                reset_in = (tokens_budget.reset_at or now) - now
                need = f" ({estimated_tokens} estimated)" if estimated_tokens else ""
                reason = (
                    f"rate limit: {left_tokens} tokens left{need} until reset in {reset_in:.0f} s"
                )
                return Admission(False, reason, retry_in=reset_in)
            if left_requests is not None:
                requests.remaining = left_requests - 1
            if left_tokens is not None and estimated_tokens:
                tokens_budget.remaining = max(left_tokens - estimated_tokens, 0)
            if probe:
                s.probe_leases.append(now + self.config.probe_timeout_seconds)
                return _ADMITTED_PROBE
            return _ADMITTED

    def _breaker_verdict(self, s: _Route, now: float) -> tuple[Admission | None, bool]:
        """The breaker's verdict on a route that is not closed.

        Returns:
            ``(refusal, probe)``: a refusal (disabled, open, a probe already in flight)
            or ``None``, and whether an admitted call is the half-open probe.
        """
        if s.state == "disabled":
            return Admission(False, f"disabled: {s.disabled_reason}"), False
        if s.state == "open":
            if now < s.open_until:
                left = s.open_until - now
                last = s.last_failure.kind.value if s.last_failure else "unknown"
                reason = (
                    f"circuit open for {left:.1f} s after {s.consecutive_failures} "
                    f"failures (last: {last})"
                )
                return Admission(False, reason, retry_in=left), False
            s.state = "half_open"
        # half-open
        s.probe_leases = [t for t in s.probe_leases if t > now]
        if len(s.probe_leases) >= self.config.half_open_max_probes:
            return Admission(False, "circuit half-open: probe in flight"), False
        return None, True

    # ------------------------------------------------------------------ record

    def _apply_rate_limits(self, s: _Route, snap: RateLimitSnapshot, now: float) -> None:
        default = self.config.default_reset_seconds
        groups = (
            (s.requests, snap.remaining_requests, snap.limit_requests, snap.reset_requests_s),
            (s.tokens, snap.remaining_tokens, snap.limit_tokens, snap.reset_tokens_s),
        )
        for budget, remaining, limit, reset in groups:
            if remaining is None and limit is None:
                continue
            budget.remaining = remaining
            budget.limit = limit
            budget.reset_at = now + (reset if reset is not None else default)
        s.rate_observed_at = now

    def record_success(
        self,
        route: str,
        *,
        ttft: float | None,
        latency: float,
        rate_limits: RateLimitSnapshot | None = None,
    ) -> None:
        """See `HealthStore.record_success`. A disabled route stays disabled."""
        with self._lock:
            s = self._routes.get(route) or self._route(route)
            s.successes += 1
            s.consecutive_failures = 0
            if s.state != "closed" and s.state != "disabled":  # closed: nothing to reset
                s.state = "closed"
                s.reopenings = 0
                s.open_until = 0.0
                s.probe_leases.clear()
            if ttft is not None:
                s.ttfts.append(ttft)
            s.latencies.append(latency)
            if rate_limits is not None:
                self._apply_rate_limits(s, rate_limits, self._clock())

    def record_failure(
        self,
        route: str,
        failure: Failure,
        *,
        rate_limits: RateLimitSnapshot | None = None,
        probe: bool | None = None,
    ) -> None:
        """See `HealthStore.record_failure`."""
        with self._lock:
            now = self._clock()
            s = self._routes.get(route) or self._route(route)
            kind = failure.kind.value
            s.failures[kind] = s.failures.get(kind, 0) + 1
            s.last_failure = failure
            if rate_limits is not None:
                self._apply_rate_limits(s, rate_limits, now)
            if failure.retry_after is not None and failure.retry_after > 0:
                s.retry_after_until = max(s.retry_after_until, now + failure.retry_after)
            if failure.disables_route:
                status = f" ({failure.status_code})" if failure.status_code is not None else ""
                s.state = "disabled"
                s.disabled_reason = f"authentication failed{status}"
                s.probe_leases.clear()
                return
            if not failure.counts_toward_breaker:
                if s.state == "half_open" and s.probe_leases and probe is not False:
                    s.probe_leases.pop(0)
                return
            s.consecutive_failures += 1
            if s.state == "half_open":
                s.reopenings += 1
                self._open(s, now)
            elif s.state == "closed" and s.consecutive_failures >= self.config.failure_threshold:
                self._open(s, now)

    def _open(self, s: _Route, now: float) -> None:
        s.state = "open"
        s.open_until = now + self.config.open_period(s.reopenings)
        s.probe_leases.clear()

    def release_probe(self, route: str) -> None:
        """See `HealthStore.release_probe`."""
        with self._lock:
            s = self._routes.get(route) or self._route(route)
            if s.state == "half_open" and s.probe_leases:
                s.probe_leases.pop(0)

    # ------------------------------------------------------------------ read

    def ttft_quantile(self, route: str, q: float) -> float | None:
        """See `HealthStore.ttft_quantile` (linear interpolation between samples)."""
        with self._lock:
            samples = list(self._route(route).ttfts)
        return _quantile(samples, q)

    def latency_quantile(self, route: str, q: float) -> float | None:
        """See `HealthStore.latency_quantile` (linear interpolation between samples)."""
        with self._lock:
            samples = list(self._route(route).latencies)
        return _quantile(samples, q)

    def snapshot(self, route: str) -> RouteHealthSnapshot:
        """See `HealthStore.snapshot`. An open breaker past its period reports half_open."""
        with self._lock:
            now = self._clock()
            s = self._routes.get(route) or _Route(window=self.config.window_size)
            state: RouteState = s.state
            if state == "open" and now >= s.open_until:
                state = "half_open"
            probes = sum(1 for t in s.probe_leases if t > now)
            return RouteHealthSnapshot(
                route=route,
                state=state,
                consecutive_failures=s.consecutive_failures,
                open_until=s.open_until if s.state == "open" else None,
                retry_after_until=s.retry_after_until if s.retry_after_until > now else None,
                rate_limits=self._rate_view(s, now),
                successes=s.successes,
                failures=dict(s.failures),
                last_failure=s.last_failure,
                disabled_reason=s.disabled_reason if s.state == "disabled" else None,
                probes_in_flight=probes if state == "half_open" else 0,
                ttft_samples=len(s.ttfts),
                latency_samples=len(s.latencies),
                as_of=now,
            )

    @staticmethod
    def _rate_view(s: _Route, now: float) -> RateLimitSnapshot | None:
        if s.rate_observed_at is None:
            return None
        views = []
        for budget in (s.requests, s.tokens):
            live = budget.reset_at is not None and budget.reset_at > now
            reset = budget.reset_at - now if live and budget.reset_at is not None else None
            views.append((budget.remaining, budget.limit, reset) if live else (None, None, None))
        (rr, lr, tr), (rt, lt, tt) = views
        if rr is None and lr is None and rt is None and lt is None:
            return None
        return RateLimitSnapshot(rr, lr, tr, rt, lt, tt, observed_at=s.rate_observed_at)

    def reset(self, route: str | None = None) -> None:
        """See `HealthStore.reset`: breaker, budgets, counters and samples are cleared."""
        with self._lock:
            if route is None:
                self._routes.clear()
            else:
                self._routes.pop(route, None)
