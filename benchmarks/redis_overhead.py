"""Added cost per routed call of `RedisHealthStore` over `InMemoryHealthStore`, on loopback.

A routed call touches its health store twice: ``admit`` before the attempt and
``record_success`` (with the response's rate-limit headers) after it. Each contender does
exactly that per iteration, round-robin, against a local ``redis-server`` started for the
run (or ``LANGCHAIN_ROUTER_BENCH_REDIS_URL``). Also measured: the same pair when Redis is
down (the store serves from its in-process fallback after one failed attempt), and the
TTFT p95 read that ``hedge_after="p95"`` adds.

Target: the Redis store adds < 0.5 ms per call (median), sync and async.

Run: ``python -m benchmarks.redis_overhead`` (``--quick`` for fewer iterations).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from benchmarks.common import (
    BenchmarkResult,
    Chart,
    Target,
    ainterleave,
    format_table,
    interleave,
    quiet_logging,
    summarize,
)
from langchain_cerebras_router.health import HealthStore, InMemoryHealthStore, RateLimitSnapshot
from langchain_cerebras_router.redis_health import RedisHealthStore
from langchain_cerebras_router.testing.redis_server import RedisServer

URL_ENV = "LANGCHAIN_ROUTER_BENCH_REDIS_URL"
ROUTE = "cerebras"
GOAL_MS = 0.5
HEADERS = RateLimitSnapshot(
    remaining_requests=14_000,
    limit_requests=14_400,
    reset_requests_s=33_011.4,
    remaining_tokens=59_000,
    limit_tokens=60_000,
    reset_tokens_s=11.4,
)
MEMORY = "InMemoryHealthStore"
REDIS = "RedisHealthStore"
REDIS_DOWN = "RedisHealthStore, Redis down"
COLUMNS = ["api", "store", "operation", "median_ms", "p99_ms", "added_ms"]


def _sizes(quick: bool, tiny: bool) -> tuple[int, int]:
    """``(iterations, warmup)``."""
    if tiny:
        return 20, 5
    if quick:
        return 1_000, 100
    return 5_000, 500


@contextlib.contextmanager
def _redis_url() -> Iterator[str | None]:
    """A Redis URL: the configured one, else a throwaway local server, else ``None``."""
    configured = os.environ.get(URL_ENV)
    if configured:
        yield configured
        return
    if not RedisServer.available():
        yield None
        return
    with RedisServer() as server:
        yield server.url


def _dead_url() -> str:
    """A loopback URL nobody listens on (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def _pair(store: HealthStore) -> Callable[[], None]:
    def call() -> None:
        store.admit(ROUTE, estimated_tokens=200)
        store.record_success(ROUTE, ttft=0.12, latency=0.35, rate_limits=HEADERS)

    return call


def _p95(store: HealthStore) -> Callable[[], object]:
    return lambda: store.ttft_quantile(ROUTE, 0.95)


def _apair(store: HealthStore) -> Callable[[], Awaitable[None]]:
    async def call() -> None:
        await store.aadmit(ROUTE, estimated_tokens=200)
        await store.arecord_success(ROUTE, ttft=0.12, latency=0.35, rate_limits=HEADERS)

    return call


def _rows(api: str, samples: dict[str, list[float]], operation: str) -> list[dict[str, Any]]:
    base = summarize(samples[MEMORY])["median_ms"] if MEMORY in samples else None
    rows = []
    for store, values in samples.items():
        stats = summarize(values)
        added = None if base is None else stats["median_ms"] - base
        rows.append(
            {
                "api": api,
                "store": store,
                "operation": operation,
                "median_ms": stats["median_ms"],
                "p99_ms": stats["p99_ms"],
                "added_ms": added,
            }
        )
    return rows


async def _async_samples(
    stores: dict[str, HealthStore], iterations: int, warmup: int
) -> dict[str, list[float]]:
    contenders = {name: _apair(store) for name, store in stores.items()}
    samples = await ainterleave(contenders, iterations=iterations, warmup=warmup)
    for store in stores.values():
        if isinstance(store, RedisHealthStore):
            await store.aclose()
    return samples


def run(quick: bool = False, *, tiny: bool = False) -> dict[str, Any]:
    """Measure admit + record_success per call on each store, sync and async."""
    iterations, warmup = _sizes(quick, tiny)
    result = BenchmarkResult(
        name="redis_overhead",
        title="Health store cost per routed call: Redis (loopback) vs in memory",
        columns=COLUMNS,
        params={"iterations": iterations, "warmup": warmup},
        notes=[
            "One call = admit + record_success with rate-limit headers (one Lua script each).",
            "'Redis down': the store falls back to its in-process state after one refused "
            "connection and does not retry Redis before reconnect_after.",
        ],
    )
    with _redis_url() as url, quiet_logging("langchain_cerebras_router.redis_health"):
        if url is None:
            result.notes.append(f"skipped: no redis-server on PATH and {URL_ENV} unset")
            result.rows.append({c: None for c in COLUMNS} | {"store": REDIS, "api": "-"})
            result.targets.append(
                Target("redis.added.sync", "Redis store added cost", None, "<", GOAL_MS, "ms")
            )
            return result.to_dict()
        namespace = f"bench-{os.getpid()}"
        stores: dict[str, HealthStore] = {
            MEMORY: InMemoryHealthStore(),
            REDIS: RedisHealthStore(url, namespace=namespace, timeout=1.0),
            REDIS_DOWN: RedisHealthStore(_dead_url(), reconnect_after=3600.0),
        }
        sync = interleave(
            {name: _pair(store) for name, store in stores.items()},
            iterations=iterations,
            warmup=warmup,
        )
        asyn = asyncio.run(_async_samples(stores, iterations, warmup))
        hedge = interleave(
            {name: _p95(store) for name, store in stores.items()},
            iterations=iterations,
            warmup=warmup,
        )
        for store in stores.values():
            if isinstance(store, RedisHealthStore):
                store.reset()
                store.close()
    result.rows = (
        _rows("sync", sync, "admit + record_success")
        + _rows("async", asyn, "aadmit + arecord_success")
        + _rows("sync", hedge, "ttft_quantile(0.95)")
    )
    added = {(r["api"], r["store"], r["operation"]): r["added_ms"] for r in result.rows}
    for api, operation in (
        ("sync", "admit + record_success"),
        ("async", "aadmit + arecord_success"),
    ):
        result.targets.append(
            Target(
                f"redis.added.{api}",
                f"{api} {operation}: median added by Redis over in memory (loopback)",
                added[(api, REDIS, operation)],
                "<",
                GOAL_MS,
                "ms",
            )
        )
    result.series = {
        f"{api} {store}": [v * 1e3 for v in values]
        for api, data in (("sync", sync), ("async", asyn))
        for store, values in data.items()
    }
    result.charts = [
        Chart(
            title="Health store cost per call (median)",
            y="median_ms",
            ylabel="ms per call",
            x=("api", "store"),
            group="store",
            where={"operation": "admit + record_success"},
        ),
        Chart(
            title="Health store cost per call (CDF)",
            y="ms",
            ylabel="ms per call",
            kind="cdf",
            series=tuple(f"sync {name}" for name in (MEMORY, REDIS, REDIS_DOWN)),
            log=True,
        ),
    ]
    return result.to_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    args = parser.parse_args()
    data = run(quick=args.quick)
    print(data["title"])
    print(format_table(data["rows"], data["columns"]))
    for target in data["targets"]:
        measured = target["measured"]
        shown = "-" if measured is None else f"{measured:.3f}"
        print(f"{target['status']}  {target['description']}: {shown} {target['unit']}")
    for note in data["notes"]:
        print(f"note: {note}")


if __name__ == "__main__":
    main()
