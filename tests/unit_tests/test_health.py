from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TypeVar

import httpx
import pytest
from langchain_core.messages import AIMessage

from langchain_cerebras_router.failures import Failure, FailureKind
from langchain_cerebras_router.health import (
    Admission,
    BreakerConfig,
    HealthStore,
    InMemoryHealthStore,
    RateLimitSnapshot,
    parse_duration,
    parse_rate_limit_headers,
)

ROUTE = "cerebras"
T = TypeVar("T")

# Header samples in the shapes the providers send (providers.md).
CEREBRAS_HEADERS = {
    "x-ratelimit-limit-requests-day": "14400",
    "x-ratelimit-remaining-requests-day": "14370",
    "x-ratelimit-reset-requests-day": "33011.382867",
    "x-ratelimit-limit-tokens-minute": "60000",
    "x-ratelimit-remaining-tokens-minute": "59800",
    "x-ratelimit-reset-tokens-minute": "11.382867",
}
GROQ_HEADERS = {
    "x-ratelimit-limit-requests": "14400",
    "x-ratelimit-limit-tokens": "6000",
    "x-ratelimit-remaining-requests": "14370",
    "x-ratelimit-remaining-tokens": "5997",
    "x-ratelimit-reset-requests": "2m59.56s",
    "x-ratelimit-reset-tokens": "7.66s",
}


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def failure(
    kind: FailureKind, *, retry_after: float | None = None, status: int | None = None
) -> Failure:
    return Failure(kind, status, retry_after, f"{kind.value} happened", "test.Error")


RATE = failure(FailureKind.RATE_LIMITED, status=429)
SERVER = failure(FailureKind.SERVER_ERROR, status=503)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> InMemoryHealthStore:
    return InMemoryHealthStore(clock=clock)


def fail_times(store: HealthStore, n: int, f: Failure = RATE, route: str = ROUTE) -> None:
    for _ in range(n):
        store.record_failure(route, f)


def open_breaker(store: InMemoryHealthStore, clock: FakeClock) -> None:
    fail_times(store, store.config.failure_threshold)
    assert store.snapshot(ROUTE).state == "open"


# --------------------------------------------------------------------------- breaker


def test_fresh_route_is_closed_and_admitted(store: InMemoryHealthStore) -> None:
    assert store.admit(ROUTE) == Admission(True, None, probe=False)
    snap = store.snapshot(ROUTE)
    assert snap.state == "closed"
    assert (snap.consecutive_failures, snap.successes, snap.total_failures) == (0, 0, 0)
    assert snap.rate_limits is None


def test_opens_after_threshold_consecutive_failures(
    store: InMemoryHealthStore, clock: FakeClock
) -> None:
    fail_times(store, 2)
    assert store.admit(ROUTE).allowed
    store.record_failure(ROUTE, RATE)
    admission = store.admit(ROUTE)
    assert not admission.allowed
    assert admission.reason == "circuit open for 30.0 s after 3 failures (last: rate_limited)"
    assert admission.retry_in == 30.0
    clock.advance(17.7)
    assert store.admit(ROUTE).reason == (
        "circuit open for 12.3 s after 3 failures (last: rate_limited)"
    )
    snap = store.snapshot(ROUTE)
    assert snap.state == "open"
    assert snap.open_until == 1030.0


def test_success_resets_consecutive_failures(store: InMemoryHealthStore) -> None:
    fail_times(store, 2)
    store.record_success(ROUTE, ttft=0.1, latency=0.5)
    fail_times(store, 2)
    assert store.snapshot(ROUTE).state == "closed"
    assert store.snapshot(ROUTE).consecutive_failures == 2
    assert store.admit(ROUTE).allowed


@pytest.mark.parametrize(
    "kind", [FailureKind.BAD_REQUEST, FailureKind.CANCELLED, FailureKind.UNKNOWN]
)
def test_neutral_failures_do_not_count(store: InMemoryHealthStore, kind: FailureKind) -> None:
    fail_times(store, 10, failure(kind))
    snap = store.snapshot(ROUTE)
    assert snap.state == "closed"
    assert snap.consecutive_failures == 0
    assert snap.failures == {kind.value: 10}


def test_half_open_single_probe_then_close(store: InMemoryHealthStore, clock: FakeClock) -> None:
    open_breaker(store, clock)
    clock.advance(30.0)
    assert store.snapshot(ROUTE).state == "half_open"
    first = store.admit(ROUTE)
    assert first == Admission(True, None, probe=True)
    second = store.admit(ROUTE)
    assert not second.allowed
    assert second.reason == "circuit half-open: probe in flight"
    assert store.snapshot(ROUTE).probes_in_flight == 1
    store.record_success(ROUTE, ttft=0.2, latency=0.4)
    snap = store.snapshot(ROUTE)
    assert (snap.state, snap.consecutive_failures, snap.probes_in_flight) == ("closed", 0, 0)
    assert store.admit(ROUTE) == Admission(True, None, probe=False)


def test_failed_probes_double_the_open_period_up_to_the_cap(
    store: InMemoryHealthStore, clock: FakeClock
) -> None:
    open_breaker(store, clock)
    periods = []
    for _ in range(6):
        assert store.snapshot(ROUTE).open_until is not None
        period = (store.snapshot(ROUTE).open_until or 0.0) - clock.now
        periods.append(period)
        clock.advance(period)
        assert store.admit(ROUTE).probe
        store.record_failure(ROUTE, SERVER)
    assert periods == [30.0, 60.0, 120.0, 240.0, 300.0, 300.0]
    # A successful probe resets the period to its base.
    clock.advance(300.0)
    assert store.admit(ROUTE).probe
    store.record_success(ROUTE, ttft=None, latency=1.0)
    open_breaker(store, clock)
    assert store.snapshot(ROUTE).open_until == clock.now + 30.0


def test_release_probe_lets_another_caller_probe(
    store: InMemoryHealthStore, clock: FakeClock
) -> None:
    open_breaker(store, clock)
    clock.advance(30.0)
    assert store.admit(ROUTE).probe
    assert not store.admit(ROUTE).allowed
    store.release_probe(ROUTE)
    assert store.admit(ROUTE).probe


def test_neutral_outcome_of_probe_frees_the_slot(
    store: InMemoryHealthStore, clock: FakeClock
) -> None:
    open_breaker(store, clock)
    clock.advance(30.0)
    assert store.admit(ROUTE).probe
    store.record_failure(ROUTE, failure(FailureKind.CANCELLED))
    assert store.snapshot(ROUTE).state == "half_open"
    assert store.admit(ROUTE).probe


def test_neutral_outcome_of_another_call_keeps_the_probe_slot(
    store: InMemoryHealthStore, clock: FakeClock
) -> None:
    """A call admitted before the breaker opened ends with a 400 while the probe runs."""
    open_breaker(store, clock)
    clock.advance(30.0)
    assert store.admit(ROUTE).probe
    store.record_failure(ROUTE, failure(FailureKind.BAD_REQUEST), probe=False)
    refused = store.admit(ROUTE)
    assert not refused.allowed and "probe in flight" in (refused.reason or "")
    assert store.snapshot(ROUTE).probes_in_flight == 1
    store.record_failure(ROUTE, failure(FailureKind.CANCELLED), probe=True)
    assert store.admit(ROUTE).probe


def test_lost_probe_expires(clock: FakeClock) -> None:
    store = InMemoryHealthStore(BreakerConfig(probe_timeout_seconds=5.0), clock=clock)
    open_breaker(store, clock)
    clock.advance(30.0)
    assert store.admit(ROUTE).probe
    clock.advance(4.9)
    assert not store.admit(ROUTE).allowed
    clock.advance(0.1)
    assert store.admit(ROUTE).probe


def test_release_probe_outside_half_open_is_harmless(store: InMemoryHealthStore) -> None:
    store.release_probe(ROUTE)
    assert store.admit(ROUTE).allowed


def run_at_once(fn: Callable[[], T], n: int = 16) -> list[T]:
    """Run ``fn`` in ``n`` threads released together by a barrier; return all results."""
    barrier = threading.Barrier(n)
    results: list[T] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        result = fn()
        with lock:
            results.append(result)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show up
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(previous)
    assert len(results) == n
    return results


def test_probe_claimed_exactly_once_under_threads(
    store: InMemoryHealthStore, clock: FakeClock
) -> None:
    for _round in range(50):
        open_breaker(store, clock)
        open_until = store.snapshot(ROUTE).open_until
        assert open_until is not None
        clock.now = open_until
        results = run_at_once(lambda: store.admit(ROUTE))
        assert sum(a.probe for a in results) == 1
        assert sum(a.allowed for a in results) == 1
        store.record_success(ROUTE, ttft=None, latency=0.1)


def test_counters_are_exact_under_threads(store: InMemoryHealthStore) -> None:
    def work() -> None:
        for _ in range(200):
            store.record_failure(ROUTE, failure(FailureKind.BAD_REQUEST))
            store.record_success(ROUTE, ttft=0.1, latency=0.2)

    run_at_once(work)
    snap = store.snapshot(ROUTE)
    assert snap.successes == 3200
    assert snap.failures == {"bad_request": 3200}


# --------------------------------------------------------------------------- disabled


def test_authentication_failure_disables_until_reset(
    store: InMemoryHealthStore, clock: FakeClock
) -> None:
    store.record_failure(ROUTE, failure(FailureKind.AUTHENTICATION, status=401))
    admission = store.admit(ROUTE)
    assert admission == Admission(False, "disabled: authentication failed (401)")
    clock.advance(10_000)
    store.record_success(ROUTE, ttft=0.1, latency=0.1)  # a straggler: stays disabled
    snap = store.snapshot(ROUTE)
    assert snap.state == "disabled"
    assert snap.disabled_reason == "authentication failed (401)"
    assert not store.admit(ROUTE).allowed
    store.reset(ROUTE)
    assert store.admit(ROUTE).allowed
    assert store.snapshot(ROUTE).state == "closed"


def test_reset_all_routes(store: InMemoryHealthStore) -> None:
    store.record_failure("a", failure(FailureKind.AUTHENTICATION, status=403))
    fail_times(store, 3, route="b")
    store.reset()
    assert store.admit("a").allowed
    assert store.admit("b").allowed
    assert store.snapshot("b").total_failures == 0


def test_reset_one_route_keeps_the_others(store: InMemoryHealthStore) -> None:
    fail_times(store, 3, route="a")
    fail_times(store, 3, route="b")
    store.reset("a")
    assert store.snapshot("a").state == "closed"
    assert store.snapshot("b").state == "open"


# --------------------------------------------------------------------------- retry-after


def test_retry_after_pending_without_opening(store: InMemoryHealthStore, clock: FakeClock) -> None:
    store.record_failure(ROUTE, failure(FailureKind.RATE_LIMITED, retry_after=1.5, status=429))
    admission = store.admit(ROUTE)
    assert admission == Admission(False, "retry-after pending for 1.5 s", retry_in=1.5)
    snap = store.snapshot(ROUTE)
    assert snap.state == "closed"
    assert snap.retry_after_until == 1001.5
    clock.advance(1.5)
    assert store.admit(ROUTE).allowed
    assert store.snapshot(ROUTE).retry_after_until is None


def test_shorter_retry_after_does_not_shorten_pending_one(
    store: InMemoryHealthStore, clock: FakeClock
) -> None:
    store.record_failure(ROUTE, failure(FailureKind.RATE_LIMITED, retry_after=10.0))
    store.record_failure(ROUTE, failure(FailureKind.CAPACITY, retry_after=1.0))
    clock.advance(5.0)
    assert store.admit(ROUTE).reason == "retry-after pending for 5.0 s"


def test_retry_after_does_not_consume_the_probe(
    store: InMemoryHealthStore, clock: FakeClock
) -> None:
    fail_times(store, 2)
    store.record_failure(ROUTE, failure(FailureKind.RATE_LIMITED, retry_after=40.0))
    clock.advance(30.0)
    assert store.admit(ROUTE).reason == "retry-after pending for 10.0 s"
    clock.advance(10.0)
    assert store.admit(ROUTE).probe


# --------------------------------------------------------------------------- rate limits


def test_no_requests_left_refuses_until_reset(store: InMemoryHealthStore, clock: FakeClock) -> None:
    snap = RateLimitSnapshot(remaining_requests=0, limit_requests=100, reset_requests_s=40.0)
    store.record_success(ROUTE, ttft=0.1, latency=0.2, rate_limits=snap)
    admission = store.admit(ROUTE)
    assert admission == Admission(
        False, "rate limit: 0 requests left until reset in 40 s", retry_in=40.0
    )
    clock.advance(39.0)
    assert not store.admit(ROUTE).allowed
    clock.advance(1.0)
    assert store.admit(ROUTE).allowed
    assert store.snapshot(ROUTE).rate_limits is None


def test_token_budget_against_estimate(store: InMemoryHealthStore) -> None:
    snap = RateLimitSnapshot(remaining_tokens=500, limit_tokens=6000, reset_tokens_s=12.0)
    store.record_success(ROUTE, ttft=0.1, latency=0.2, rate_limits=snap)
    refused = store.admit(ROUTE, estimated_tokens=800)
    assert refused.reason == "rate limit: 500 tokens left (800 estimated) until reset in 12 s"
    assert store.admit(ROUTE).allowed
    assert store.admit(ROUTE, estimated_tokens=300).allowed
    # 300 tokens were reserved: 200 are left.
    assert not store.admit(ROUTE, estimated_tokens=300).allowed
    rl = store.snapshot(ROUTE).rate_limits
    assert rl is not None
    assert rl.remaining_tokens == 200


def test_zero_tokens_left_refuses_without_estimate(store: InMemoryHealthStore) -> None:
    snap = RateLimitSnapshot(remaining_tokens=0, reset_tokens_s=5.0)
    store.record_failure(ROUTE, RATE, rate_limits=snap)
    assert store.admit(ROUTE).reason == "rate limit: 0 tokens left until reset in 5 s"


def test_admission_reserves_requests(store: InMemoryHealthStore) -> None:
    snap = RateLimitSnapshot(remaining_requests=2, reset_requests_s=60.0)
    store.record_success(ROUTE, ttft=0.1, latency=0.2, rate_limits=snap)
    assert store.admit(ROUTE).allowed
    assert store.admit(ROUTE).allowed
    assert not store.admit(ROUTE).allowed
    # Fresh headers replace the reservation.
    fresh = RateLimitSnapshot(remaining_requests=5, reset_requests_s=60.0)
    store.record_success(ROUTE, ttft=0.1, latency=0.2, rate_limits=fresh)
    assert store.admit(ROUTE).allowed


def test_headers_without_reset_expire_after_default(clock: FakeClock) -> None:
    store = InMemoryHealthStore(BreakerConfig(default_reset_seconds=10.0), clock=clock)
    store.record_success(ROUTE, ttft=0.1, latency=0.2, rate_limits=RateLimitSnapshot(0))
    assert store.admit(ROUTE).retry_in == 10.0
    clock.advance(10.0)
    assert store.admit(ROUTE).allowed


def test_partial_headers_keep_the_other_budget(store: InMemoryHealthStore) -> None:
    both = parse_rate_limit_headers(GROQ_HEADERS, now=0.0)
    tokens_only = RateLimitSnapshot(remaining_tokens=10, reset_tokens_s=5.0)
    store.record_success(ROUTE, ttft=0.1, latency=0.2, rate_limits=both)
    store.record_success(ROUTE, ttft=0.1, latency=0.2, rate_limits=tokens_only)
    rl = store.snapshot(ROUTE).rate_limits
    assert rl is not None
    assert (rl.remaining_requests, rl.remaining_tokens) == (14370, 10)


def test_snapshot_reports_rate_limits_relative_to_now(
    store: InMemoryHealthStore, clock: FakeClock
) -> None:
    snap = parse_rate_limit_headers(CEREBRAS_HEADERS, now=123.0)
    store.record_success(ROUTE, ttft=0.1, latency=0.2, rate_limits=snap)
    clock.advance(1.0)
    rl = store.snapshot(ROUTE).rate_limits
    assert rl is not None
    assert rl.remaining_requests == 14370
    assert rl.limit_tokens == 60000
    assert rl.reset_tokens_s == pytest.approx(10.382867)
    assert rl.reset_requests_s == pytest.approx(33010.382867)
    assert rl.observed_at == 1000.0  # re-anchored on the store's clock


# --------------------------------------------------------------------------- header parsing


def test_parse_cerebras_headers() -> None:
    snap = parse_rate_limit_headers(CEREBRAS_HEADERS, now=5.0)
    assert snap == RateLimitSnapshot(
        remaining_requests=14370,
        limit_requests=14400,
        reset_requests_s=33011.382867,
        remaining_tokens=59800,
        limit_tokens=60000,
        reset_tokens_s=11.382867,
        observed_at=5.0,
    )


def test_parse_groq_headers_case_insensitive() -> None:
    headers = httpx.Headers({k.upper(): v for k, v in GROQ_HEADERS.items()})
    snap = parse_rate_limit_headers(headers, now=1.0)
    assert snap is not None
    assert (snap.remaining_requests, snap.limit_requests) == (14370, 14400)
    assert snap.reset_requests_s == pytest.approx(179.56)
    assert (snap.remaining_tokens, snap.limit_tokens, snap.reset_tokens_s) == (5997, 6000, 7.66)
    upper_dict = {k.title(): v for k, v in GROQ_HEADERS.items()}
    assert parse_rate_limit_headers(upper_dict, now=1.0) == snap


def test_parse_headers_picks_the_binding_window() -> None:
    headers = {
        "x-ratelimit-remaining-requests-minute": "25",
        "x-ratelimit-reset-requests-minute": "30",
        "x-ratelimit-remaining-requests-day": "3",
        "x-ratelimit-limit-requests-day": "1000",
        "x-ratelimit-reset-requests-day": "3600",
    }
    snap = parse_rate_limit_headers(headers, now=0.0)
    assert snap is not None
    assert (snap.remaining_requests, snap.limit_requests, snap.reset_requests_s) == (
        3,
        1000,
        3600.0,
    )
    assert snap.remaining_tokens is None


def test_parse_headers_none_and_garbage() -> None:
    assert parse_rate_limit_headers({"content-type": "application/json"}) is None
    assert parse_rate_limit_headers({}) is None
    snap = parse_rate_limit_headers(
        {"x-ratelimit-remaining-tokens": "many", "x-ratelimit-limit-tokens": "100"}
    )
    assert snap is not None
    assert (snap.remaining_tokens, snap.limit_tokens) == (None, 100)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2m59.56s", 179.56),
        ("7.66s", 7.66),
        ("1h2m3s", 3723.0),
        ("250ms", 0.25),
        ("33011.382867", 33011.382867),
        ("0s", 0.0),
        ("12", 12.0),
        (" 1d ", 86400.0),
        ("", None),
        ("soon", None),
        ("5x", None),
        ("1m junk", None),
        ("-3", None),
        ("nan", None),
    ],
)
def test_parse_duration(text: str, seconds: float | None) -> None:
    result = parse_duration(text)
    if seconds is None:
        assert result is None
    else:
        assert result == pytest.approx(seconds)


# --------------------------------------------------------------------------- stats


def test_quantiles(store: InMemoryHealthStore) -> None:
    assert store.ttft_quantile(ROUTE, 0.5) is None
    assert store.latency_quantile(ROUTE, 0.95) is None
    for i in range(1, 101):
        store.record_success(ROUTE, ttft=i / 100, latency=float(i))
    store.record_success(ROUTE, ttft=None, latency=101.0)
    assert store.ttft_quantile(ROUTE, 0.0) == 0.01
    assert store.ttft_quantile(ROUTE, 1.0) == 1.0
    assert store.ttft_quantile(ROUTE, 0.5) == pytest.approx(0.505)
    assert store.latency_quantile(ROUTE, 0.5) == 51.0
    snap = store.snapshot(ROUTE)
    assert (snap.ttft_samples, snap.latency_samples) == (100, 101)


def test_quantile_window_is_rolling(clock: FakeClock) -> None:
    store = InMemoryHealthStore(BreakerConfig(window_size=5), clock=clock)
    for value in (100.0, 100.0, 1.0, 2.0, 3.0, 4.0, 5.0):
        store.record_success(ROUTE, ttft=value, latency=value)
    assert store.ttft_quantile(ROUTE, 1.0) == 5.0
    assert store.latency_quantile(ROUTE, 0.5) == 3.0


@pytest.mark.parametrize("q", [-0.1, 1.5])
def test_quantile_range_is_checked(store: InMemoryHealthStore, q: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        store.ttft_quantile(ROUTE, q)


def test_snapshot_counts_and_last_failure(store: InMemoryHealthStore) -> None:
    store.record_success(ROUTE, ttft=0.1, latency=0.2)
    fail_times(store, 2, SERVER)
    store.record_failure(ROUTE, failure(FailureKind.TIMEOUT))
    snap = store.snapshot(ROUTE)
    assert snap.successes == 1
    assert snap.failures == {"server_error": 2, "timeout": 1}
    assert snap.total_failures == 3
    assert snap.last_failure is not None
    assert snap.last_failure.kind is FailureKind.TIMEOUT
    assert snap.state == "open"
    assert store.snapshot("never-seen").state == "closed"


# --------------------------------------------------------------------------- config, async


@pytest.mark.parametrize(
    "kwargs",
    [
        {"failure_threshold": 0},
        {"open_seconds": -1.0},
        {"open_backoff": 0.5},
        {"open_seconds": 60.0, "max_open_seconds": 30.0},
        {"half_open_max_probes": 0},
        {"probe_timeout_seconds": 0.0},
        {"window_size": 0},
    ],
)
def test_config_validation(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="invalid BreakerConfig"):
        BreakerConfig(**kwargs)  # type: ignore[arg-type]


def test_several_probes_when_configured(clock: FakeClock) -> None:
    store = InMemoryHealthStore(BreakerConfig(half_open_max_probes=2), clock=clock)
    open_breaker(store, clock)
    clock.advance(30.0)
    assert [store.admit(ROUTE).probe for _ in range(3)] == [True, True, False]


async def test_async_variants(store: InMemoryHealthStore, clock: FakeClock) -> None:
    for _ in range(3):
        assert (await store.aadmit(ROUTE, estimated_tokens=10)).allowed
        await store.arecord_failure(ROUTE, SERVER)
    assert not (await store.aadmit(ROUTE)).allowed
    clock.advance(30.0)
    assert (await store.aadmit(ROUTE)).probe
    await store.arelease_probe(ROUTE)
    assert (await store.aadmit(ROUTE)).probe
    await store.arecord_success(ROUTE, ttft=0.3, latency=0.6)
    assert (await store.asnapshot(ROUTE)).state == "closed"
    assert await store.attft_quantile(ROUTE, 0.5) == 0.3
    assert await store.alatency_quantile(ROUTE, 0.5) == 0.6
    await store.areset(ROUTE)
    assert (await store.asnapshot(ROUTE)).successes == 0


def test_parse_headers_ignores_unknown_windows_and_names() -> None:
    assert (
        parse_rate_limit_headers(
            {
                "x-ratelimit-remaining-requests-week": "1",
                "x-ratelimit-remaining-widgets": "1",
                "x-ratelimit-bogus-requests": "1",
                "x-ratelimit-": "1",
            }
        )
        is None
    )
    snap = parse_rate_limit_headers(
        {"X-RateLimit-Remaining-Requests-Week": "0", "X-RateLimit-Remaining-Requests-Day": "7"}
    )
    assert snap is not None and snap.remaining_requests == 7


def test_rate_limit_sampler_parses_when_it_can_matter() -> None:
    from langchain_cerebras_router.ratelimits import RateLimitSampler

    sampler = RateLimitSampler(interval=0.05, headroom=0.1)
    far = RateLimitSnapshot(remaining_requests=900, limit_requests=1000)
    assert sampler.due("cerebras", now=10.0)  # never observed
    sampler.observed("cerebras", far, now=10.0)
    assert not sampler.due("cerebras", now=10.01)  # far from the limit, within the interval
    assert sampler.due("cerebras", now=10.05)  # interval passed
    assert sampler.due("groq", now=10.01)  # routes are independent

    near = RateLimitSnapshot(
        remaining_requests=900, limit_requests=1000, remaining_tokens=50, limit_tokens=1000
    )
    sampler.observed("cerebras", near, now=11.0)
    assert sampler.due("cerebras", now=11.001)  # within 10 % of the token limit

    unknown_limit = RateLimitSnapshot(remaining_requests=5)
    sampler.observed("cerebras", unknown_limit, now=12.0)
    assert sampler.due("cerebras", now=12.001)  # nothing to compare with: always parse

    sampler.observed("cerebras", None, now=13.0)  # no headers in that answer
    assert not sampler.due("cerebras", now=13.01)
    assert sampler.due("cerebras", now=13.06)


def test_rate_limit_sampler_counts_what_the_router_spends() -> None:
    from langchain_cerebras_router.ratelimits import RateLimitSampler

    sampler = RateLimitSampler(interval=60.0, headroom=0.1)
    sampler.observed("cerebras", RateLimitSnapshot(remaining_tokens=400, limit_tokens=1000), 0.0)
    # 300 tokens may be spent before the headroom (100); fast answers are counted.
    assert [sampler.due("cerebras", now=0.001, tokens=100) for _ in range(3)] == [
        False,
        False,
        True,
    ]
    sampler.observed("cerebras", RateLimitSnapshot(remaining_requests=13, limit_requests=100), 1.0)
    assert [sampler.due("cerebras", now=1.001) for _ in range(3)] == [False, False, True]
    sampler.observed("cerebras", None, 2.0)  # no budget known: only the interval counts
    assert not any(sampler.due("cerebras", now=2.001, tokens=10_000) for _ in range(3))


def remaining(store: InMemoryHealthStore) -> int | None:
    rate_limits = store.snapshot("cerebras").rate_limits
    return None if rate_limits is None else rate_limits.remaining_requests


def test_router_skips_parsing_far_from_the_limit_but_never_near_it() -> None:
    from langchain_cerebras_router.failover import CallPlan, Route
    from langchain_cerebras_router.ratelimits import RateLimitSampler

    store = InMemoryHealthStore()
    sampler = RateLimitSampler(interval=60.0)
    route = Route("cerebras", None, "cerebras", "m", has_stream=True, has_astream=True)  # type: ignore[arg-type]

    def answer(remaining: int) -> None:
        plan = CallPlan(
            routes=[route],
            health=store,
            attempt_timeout=None,
            deadline=None,
            rate_limit_sampler=sampler,
        )
        headers = {
            "x-ratelimit-remaining-requests-day": str(remaining),
            "x-ratelimit-limit-requests-day": "1000",
        }
        answer = AIMessage("hi", response_metadata={"rate_limits": headers})
        plan.succeeded(route, started=plan.clock(), ttft=None, message=answer)

    answer(900)
    assert remaining(store) == 900
    answer(800)  # far from the limit, within the interval: not parsed
    assert remaining(store) == 900
    answer(50)  # not parsed either (the last observation was far from the limit)...
    sampler.observed(
        "cerebras", RateLimitSnapshot(remaining_requests=60, limit_requests=1000), now=0.0
    )
    answer(0)  # ...but once near the limit, every answer is
    assert remaining(store) == 0
