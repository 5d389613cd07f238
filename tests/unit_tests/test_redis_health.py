"""RedisHealthStore against a real redis-server started by the test session.

* The in-memory store's own tests (``test_health.py``) run unchanged against Redis.
* Several worker PROCESSES, each with its own store and router, share one namespace: the
  half-open probe is claimed exactly once, failures seen by one process open the breaker of
  all, rate-limit headers seen by one make all route away.
* Redis killed in the middle of a run: every call still works on the in-process fallback,
  with one warning, and the store returns to Redis once it is back.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import logging
import multiprocessing
import socket
import sys
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest
import redis

from benchmarks import fleet_simulation
from langchain_cerebras_router.failures import FailureKind
from langchain_cerebras_router.health import (
    Admission,
    BreakerConfig,
    InMemoryHealthStore,
    RateLimitSnapshot,
)
from langchain_cerebras_router.redis_health import (
    STATE_URL_ENV,
    RedisHealthStore,
    health_store_from,
)
from langchain_cerebras_router.testing.redis_server import RedisServer
from tests.unit_tests import redis_workers
from tests.unit_tests import test_health as th

pytestmark = pytest.mark.skipif(
    not RedisServer.available(),
    reason="redis-server is not installed (apt-get install redis-server; .ci/run installs it)",
)

WORKERS = 3
LOGGER = "langchain_cerebras_router.redis_health"
ROUTE = th.ROUTE
RATE = th.RATE


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def namespace() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def clock() -> th.FakeClock:
    return th.FakeClock()


@pytest.fixture
def make_store(
    redis_server: RedisServer, namespace: str, clock: th.FakeClock
) -> Iterator[Callable[..., RedisHealthStore]]:
    """Stores on the session server; each test asserts that none fell back."""
    stores: list[RedisHealthStore] = []

    def make(config: BreakerConfig | None = None, **kwargs: Any) -> RedisHealthStore:
        kwargs.setdefault("namespace", namespace)
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("timeout", 5.0)  # generous on loaded CI machines: no fallback here
        store = RedisHealthStore(redis_server.url, config=config, **kwargs)
        stores.append(store)
        return store

    yield make
    for store in stores:
        assert not store.using_fallback, "a Redis call failed during the test"
        store.close()


@pytest.fixture
def store(make_store: Callable[..., RedisHealthStore]) -> RedisHealthStore:
    return make_store()


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING]


# --------------------------------------------------------------------------- same semantics

SHARED_CASES: list[tuple[Callable[..., Any], dict[str, Any]]] = [
    (th.test_fresh_route_is_closed_and_admitted, {}),
    (th.test_opens_after_threshold_consecutive_failures, {}),
    (th.test_success_resets_consecutive_failures, {}),
    *[
        (th.test_neutral_failures_do_not_count, {"kind": kind})
        for kind in (FailureKind.BAD_REQUEST, FailureKind.CANCELLED, FailureKind.UNKNOWN)
    ],
    (th.test_half_open_single_probe_then_close, {}),
    (th.test_failed_probes_double_the_open_period_up_to_the_cap, {}),
    (th.test_release_probe_lets_another_caller_probe, {}),
    (th.test_neutral_outcome_of_probe_frees_the_slot, {}),
    (th.test_neutral_outcome_of_another_call_keeps_the_probe_slot, {}),
    (th.test_lost_probe_expires, {}),
    (th.test_release_probe_outside_half_open_is_harmless, {}),
    (th.test_probe_claimed_exactly_once_under_threads, {}),
    (th.test_counters_are_exact_under_threads, {}),
    (th.test_authentication_failure_disables_until_reset, {}),
    (th.test_reset_all_routes, {}),
    (th.test_reset_one_route_keeps_the_others, {}),
    (th.test_retry_after_pending_without_opening, {}),
    (th.test_shorter_retry_after_does_not_shorten_pending_one, {}),
    (th.test_retry_after_does_not_consume_the_probe, {}),
    (th.test_no_requests_left_refuses_until_reset, {}),
    (th.test_token_budget_against_estimate, {}),
    (th.test_zero_tokens_left_refuses_without_estimate, {}),
    (th.test_admission_reserves_requests, {}),
    (th.test_headers_without_reset_expire_after_default, {}),
    (th.test_partial_headers_keep_the_other_budget, {}),
    (th.test_snapshot_reports_rate_limits_relative_to_now, {}),
    (th.test_quantiles, {}),
    (th.test_quantile_window_is_rolling, {}),
    (th.test_quantile_range_is_checked, {"q": -0.1}),
    (th.test_quantile_range_is_checked, {"q": 1.5}),
    (th.test_snapshot_counts_and_last_failure, {}),
    (th.test_several_probes_when_configured, {}),
]


def _case_id(case: tuple[Callable[..., Any], dict[str, Any]]) -> str:
    fn, kwargs = case
    suffix = "-".join(str(v) for v in kwargs.values())
    return f"{fn.__name__}[{suffix}]" if suffix else fn.__name__


def _call_shared(
    fn: Callable[..., Any],
    kwargs: dict[str, Any],
    store: RedisHealthStore,
    clock: th.FakeClock,
    make_store: Callable[..., RedisHealthStore],
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    # Cases that build their own store with a config get a Redis one instead.
    def factory(config: BreakerConfig | None = None, clock: Any = None) -> RedisHealthStore:
        return make_store(config, namespace=f"{store.namespace}-own", clock=clock)

    monkeypatch.setattr(th, "InMemoryHealthStore", factory)
    available = {"store": store, "clock": clock, **kwargs}
    return fn(**{name: available[name] for name in inspect.signature(fn).parameters})


@pytest.mark.parametrize("case", SHARED_CASES, ids=_case_id)
def test_same_semantics_as_in_memory(
    case: tuple[Callable[..., Any], dict[str, Any]],
    store: RedisHealthStore,
    clock: th.FakeClock,
    make_store: Callable[..., RedisHealthStore],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fn, kwargs = case
    _call_shared(fn, kwargs, store, clock, make_store, monkeypatch)


async def test_async_variants_same_semantics(store: RedisHealthStore, clock: th.FakeClock) -> None:
    await th.test_async_variants(store, clock)  # type: ignore[arg-type]
    await store.aclose()


def test_state_is_shared_between_stores(make_store: Callable[..., RedisHealthStore]) -> None:
    one, two = make_store(), make_store()
    th.fail_times(one, 3)
    admission = two.admit(ROUTE)
    assert not admission.allowed
    assert admission.reason == "circuit open for 30.0 s after 3 failures (last: rate_limited)"
    two.record_success(ROUTE, ttft=0.25, latency=1.0)
    assert one.ttft_quantile(ROUTE, 0.5) == 0.25
    snap = one.snapshot(ROUTE)
    assert (snap.state, snap.successes, snap.failures) == ("closed", 1, {"rate_limited": 3})
    assert snap.last_failure == RATE


def test_other_namespaces_are_untouched(make_store: Callable[..., RedisHealthStore]) -> None:
    mine, theirs = make_store(), make_store(namespace=f"other-{uuid.uuid4().hex}")
    th.fail_times(theirs, 3)
    mine.reset()
    assert not theirs.admit(ROUTE).allowed
    assert mine.admit(ROUTE).allowed


def test_fleet_simulation_gives_the_same_numbers_on_redis(
    make_store: Callable[..., RedisHealthStore],
) -> None:
    """The fleet simulation's 'shared' mode, run on Redis, matches the in-memory store."""
    config = fleet_simulation.FleetConfig(replicas=10, duration_s=120.0)
    in_memory = fleet_simulation.simulate(config, shared=True).summary(config)
    on_redis = fleet_simulation.simulate(
        config, shared=True, store_factory=lambda clock: make_store(clock=clock)
    ).summary(config)
    assert in_memory["rate_limited"] > 0
    assert on_redis == in_memory


# --------------------------------------------------------------------------- keys


def test_keys_are_namespaced_expiring_and_bounded(
    make_store: Callable[..., RedisHealthStore],
    raw: redis.Redis,
    namespace: str,
    clock: th.FakeClock,
) -> None:
    store = make_store(BreakerConfig(window_size=20), key_ttl=10.0)
    for i in range(50):
        store.record_success(
            "groq{x}", ttft=i / 10, latency=i, rate_limits=RateLimitSnapshot(remaining_tokens=9)
        )
    keys = sorted(raw.scan_iter(match=f"{namespace}:*"))
    assert keys == [
        f"{namespace}:route:{{groq%7Bx%7D}}:latency",
        f"{namespace}:route:{{groq%7Bx%7D}}:state",
        f"{namespace}:route:{{groq%7Bx%7D}}:ttft",
    ]
    for key in keys:
        assert 0 < raw.pttl(key) <= 10_000 + 60_000  # key_ttl after the 60 s default reset
    assert raw.llen(keys[0]) == raw.llen(keys[2]) == 20
    # An open breaker keeps its state at least until it could matter again.
    th.fail_times(store, 3)
    state_ttl = raw.pttl(f"{namespace}:route:{{{ROUTE}}}:state")
    assert 30_000 < state_ttl <= 40_000


def test_admit_on_an_unknown_route_writes_nothing(
    store: RedisHealthStore, raw: redis.Redis, namespace: str
) -> None:
    assert store.admit("fresh", estimated_tokens=10) == Admission(True, None, probe=False)
    store.release_probe("fresh")
    assert store.snapshot("fresh").state == "closed"
    assert list(raw.scan_iter(match=f"{namespace}:*")) == []


# --------------------------------------------------------------------------- processes


@pytest.fixture(scope="module", autouse=True)
def pool() -> Iterator[ProcessPoolExecutor]:
    """Worker processes, spawned when the module starts so that their imports overlap with
    the in-process tests; the pool is shut down without waiting for the workers to exit."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    executor = ProcessPoolExecutor(
        WORKERS, mp_context=ctx, initializer=redis_workers.init, initargs=(barrier,)
    )
    executor.submit(redis_workers.ready)  # starts every worker process now
    yield executor
    executor.shutdown(wait=False, cancel_futures=True)


def in_every_worker(
    pool: ProcessPoolExecutor, fn: Callable[..., Any], *args: Any, indexed: bool = False
) -> list[Any]:
    """Run ``fn`` once in each worker (the tasks meet at a barrier, so none doubles up)."""
    futures = [
        pool.submit(fn, *args[:2], i, *args[2:]) if indexed else pool.submit(fn, *args)
        for i in range(WORKERS)
    ]
    results = [f.result(timeout=120) for f in futures]
    pids = {r[0] if isinstance(r, tuple) else r["pid"] for r in results}
    assert len(pids) == WORKERS, "each task must run in its own process"
    return results


def test_probe_claimed_exactly_once_across_processes(
    pool: ProcessPoolExecutor,
    store: RedisHealthStore,
    redis_server: RedisServer,
    clock: th.FakeClock,
) -> None:
    routes = [f"route-{i}" for i in range(25)]
    for route in routes:
        th.fail_times(store, 3, route=route)
    now = clock.now + store.config.open_seconds
    results = in_every_worker(
        pool, redis_workers.claim_probes, redis_server.url, store.namespace, routes, now
    )
    for i, route in enumerate(routes):
        winners = [probes[i] for _, probes in results]
        assert winners.count(True) == 1, f"{route}: {winners}"
        clock.now = now
        assert store.snapshot(route).probes_in_flight == 1


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("failures", "circuit open for"),
        ("headers", "rate limit: 0 requests left until reset in"),
    ],
)
def test_what_one_process_sees_steers_every_process(
    pool: ProcessPoolExecutor, redis_server: RedisServer, namespace: str, fault: str, reason: str
) -> None:
    calls = 5
    results = in_every_worker(
        pool, redis_workers.fleet_phase, redis_server.url, namespace, fault, calls, indexed=True
    )
    for result in results:
        assert result["primary_calls"] == 0, result
        assert result["answers"] == ["secondary"] * calls
        assert len(result["skips"]) == calls
        assert all(skip.startswith(reason) for skip in result["skips"]), result["skips"]
        assert not result["fallback"]


# --------------------------------------------------------------------------- Redis outages


@pytest.fixture
def own_server() -> Iterator[RedisServer]:
    """A server this test may kill and restart."""
    with RedisServer() as server:
        yield server


class Ticker:
    """A controllable monotonic clock for the store's reconnect timer."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def outage_store(server: RedisServer, clock: th.FakeClock, **kwargs: Any) -> RedisHealthStore:
    store = RedisHealthStore(
        server.url, namespace="outage", clock=clock, reconnect_after=30.0, **kwargs
    )
    store._monotonic = Ticker()
    return store


def test_redis_killed_mid_run_then_back(
    own_server: RedisServer, clock: th.FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    store = outage_store(own_server, clock)
    ticker: Ticker = store._monotonic  # type: ignore[assignment]
    th.fail_times(store, 2)
    store.record_success("groq", ttft=0.2, latency=0.4)
    assert store.snapshot(ROUTE).consecutive_failures == 2
    own_server.stop()

    # Every operation still answers, from this process's own view of the routes.
    assert store.admit(ROUTE).allowed
    store.record_failure(ROUTE, RATE)
    assert not store.admit(ROUTE).allowed  # the third failure opened the local breaker
    assert store.snapshot(ROUTE).state == "open"
    assert store.ttft_quantile("groq", 0.5) == 0.2
    assert store.latency_quantile("groq", 0.5) == 0.4
    store.release_probe(ROUTE)
    store.reset("groq")
    for _ in range(20):
        store.admit("groq")
        store.record_success("groq", ttft=None, latency=0.1)
    assert store.using_fallback
    assert len(warnings_of(caplog)) == 1
    assert "is unavailable" in warnings_of(caplog)[0].getMessage()

    # Back, but not retried before reconnect_after: nothing reaches the fresh server yet.
    own_server.start()
    probe = redis.Redis.from_url(own_server.url, decode_responses=True)
    store.record_success("groq", ttft=None, latency=0.1)
    assert probe.dbsize() == 0
    ticker.now += 30.0
    store.record_success("groq", ttft=None, latency=0.1)
    assert not store.using_fallback
    assert probe.dbsize() > 0
    assert store.snapshot("groq").successes == 1  # the restarted Redis remembers nothing else
    assert any("is back" in r.getMessage() for r in caplog.records)
    assert len(warnings_of(caplog)) == 1
    probe.close()
    store.close()


async def test_async_calls_survive_a_redis_kill(
    own_server: RedisServer, clock: th.FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = outage_store(own_server, clock)
    ticker: Ticker = store._monotonic  # type: ignore[assignment]
    await store.arecord_success(ROUTE, ttft=0.3, latency=0.6)
    assert (await store.asnapshot(ROUTE)).successes == 1
    own_server.stop()
    for _ in range(3):
        assert (await store.aadmit(ROUTE)).allowed
        await store.arecord_failure(ROUTE, RATE)
    assert not (await store.aadmit(ROUTE)).allowed
    await store.arelease_probe(ROUTE)
    assert await store.attft_quantile(ROUTE, 0.5) == 0.3
    assert await store.alatency_quantile(ROUTE, 0.5) == 0.6
    assert (await store.asnapshot(ROUTE)).state == "open"
    await store.areset()
    assert len(warnings_of(caplog)) == 1
    own_server.start()
    ticker.now += 30.0
    await store.arecord_success(ROUTE, ttft=None, latency=0.1)
    assert not store.using_fallback
    assert (await store.asnapshot(ROUTE)).successes == 1
    await store.aclose()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A port that accepts connections and never answers: a hung Redis."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    sock.close()


async def test_a_hung_redis_costs_one_timeout_then_nothing(
    silent_server: str, clock: th.FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = RedisHealthStore(silent_server, clock=clock, timeout=0.05)
    assert store.admit(ROUTE).allowed
    assert store.using_fallback
    th.fail_times(store, 3)
    assert not store.admit(ROUTE).allowed
    assert not (await store.aadmit(ROUTE)).allowed
    assert len(warnings_of(caplog)) == 1
    assert "TimeoutError" in warnings_of(caplog)[0].getMessage()
    store.close()
    fresh = RedisHealthStore(silent_server, clock=clock, timeout=0.05)
    assert (await fresh.aadmit(ROUTE)).allowed
    assert fresh.using_fallback
    assert len(warnings_of(caplog)) == 2  # one per store
    await fresh.aclose()


async def test_one_async_client_per_event_loop(store: RedisHealthStore) -> None:
    await store.arecord_success(ROUTE, ttft=0.1, latency=0.2)

    def in_another_loop() -> None:
        async def work() -> None:
            await store.arecord_success(ROUTE, ttft=0.3, latency=0.4)

        asyncio.run(work())

    await asyncio.to_thread(in_another_loop)
    assert (await store.asnapshot(ROUTE)).successes == 2
    assert len(store._async) == 2  # the other loop is closed now: dropped on next new loop
    await asyncio.to_thread(in_another_loop)
    assert len(store._async) == 2
    await store.aclose()


def test_router_keeps_answering_when_redis_dies(
    own_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    store = RedisHealthStore(own_server.url, namespace="router", reconnect_after=30.0)
    primary = redis_workers.Member(answer="primary")
    router = redis_workers.make_router(store, primary, redis_workers.Member(answer="secondary"))
    answers = []
    for i in range(12):
        if i == 4:
            own_server.stop()
        if i == 8:
            router.routes["primary"].fail = True  # type: ignore[attr-defined]
        answers.append(router.invoke("hi").content)
    assert answers == ["primary"] * 8 + ["secondary"] * 4
    assert store.using_fallback
    assert store.snapshot("primary").state == "open"  # opened on the fallback store
    assert len(warnings_of(caplog)) == 1
    store.close()


# --------------------------------------------------------------------------- configuration


def test_health_store_from(
    monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer, namespace: str
) -> None:
    monkeypatch.delenv(STATE_URL_ENV, raising=False)
    assert isinstance(health_store_from(None), InMemoryHealthStore)
    assert isinstance(health_store_from("memory"), InMemoryHealthStore)
    mine = InMemoryHealthStore()
    assert health_store_from(mine) is mine

    url = f"{redis_server.url}?namespace={namespace}"
    monkeypatch.setenv(STATE_URL_ENV, url)
    from_env = health_store_from(None)
    assert isinstance(from_env, RedisHealthStore)
    assert from_env.namespace == namespace
    assert health_store_from(url) is from_env  # one store (and pool) per URL and process
    from_env.record_failure(ROUTE, RATE)
    assert from_env.snapshot(ROUTE).total_failures == 1
    assert not from_env.using_fallback


def test_bad_state_setting_names_no_secret() -> None:
    with pytest.raises(ValueError, match="unsupported router state") as info:
        health_store_from("postgres://user:hunter2@db/0")
    assert "hunter2" not in str(info.value)
    with pytest.raises(TypeError):
        health_store_from(42)  # type: ignore[arg-type]


def test_repr_and_logs_hide_the_password(caplog: pytest.LogCaptureFixture) -> None:
    store = RedisHealthStore("redis://:hunter2@127.0.0.1:9/0", timeout=0.05)
    assert "hunter2" not in repr(store)
    assert store.admit(ROUTE).allowed
    assert store.using_fallback
    assert warnings_of(caplog)
    assert all("hunter2" not in r.getMessage() for r in caplog.records)
    store.close()


def test_missing_redis_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ImportError, match=r"langchain-cerebras-router\[redis\]"):
        RedisHealthStore()


@pytest.mark.parametrize("kwargs", [{"timeout": 0.0}, {"reconnect_after": -1.0}, {"key_ttl": 0.0}])
def test_settings_are_checked(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="invalid RedisHealthStore"):
        RedisHealthStore(**kwargs)  # type: ignore[arg-type]


def test_deep_copies_share_the_store() -> None:
    store = RedisHealthStore("redis://127.0.0.1:9/0")
    assert copy.deepcopy({"health": store})["health"] is store
    store.close()


def test_no_io_in_constructor() -> None:
    # Nothing listens on port 9: constructing must not notice.
    store = RedisHealthStore("redis://127.0.0.1:9/0")
    assert not store.using_fallback
    store.close()


def test_a_unix_socket_url_connects(tmp_path: Any) -> None:
    # docs/deployment.md: state= takes unix:// URLs. Rebuilding the URL without its
    # namespace once turned "unix:///path" into "unix:/path", which redis-py refuses.
    import subprocess
    import time

    sock = tmp_path / "redis.sock"
    server = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", str(sock), "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        for url in (f"unix://{sock}", f"unix://{sock}?namespace=unix-test"):
            store = RedisHealthStore(url)
            assert store.admit("cerebras").allowed
            store.record_success("cerebras", ttft=0.1, latency=0.2)
            assert store.snapshot("cerebras").state == "closed"
        assert RedisHealthStore(f"unix://{sock}?namespace=unix-test").namespace == "unix-test"
    finally:
        server.terminate()
        server.wait()
