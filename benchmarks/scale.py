"""(h) Scale: 1,000 concurrent ``astream`` calls through one RoutedChatModel.

One event loop starts every call at once; the router's Cerebras route shares one
``httpx.AsyncClient`` whose pool allows 1,000 connections; the emulator runs in its own
process and streams each 64-token answer as fast as it can. Two passes:

1. timed: throughput (calls/s, content chunks/s), per-call latency, peak RSS growth
   (``/proc/self/statm`` sampled every 5 ms; Linux only);
2. the same storm under ``tracemalloc``: peak Python heap growth.

Target: no error (every error is listed in the notes).
"""

from __future__ import annotations

import asyncio
import collections
import os
import threading
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import Any

from benchmarks.common import (
    API_KEY,
    CEREBRAS_MODEL,
    GROQ_MODEL,
    BenchmarkResult,
    Chart,
    Target,
    emulator_process,
    percentile,
)

ANSWER_TOKENS = 64


@dataclass
class _Storm:
    wall: float = 0.0
    chunks: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    routes: collections.Counter[str] = field(default_factory=collections.Counter)


def _sizes(quick: bool, tiny: bool) -> int:
    if tiny:
        return 20
    return 200 if quick else 1000


async def _storm(url: str, calls: int) -> _Storm:
    import httpx
    from langchain_groq import ChatGroq

    from langchain_cerebras_router import ChatCerebras, RoutedChatModel

    limits = httpx.Limits(max_connections=calls, max_keepalive_connections=calls)
    outcome = _Storm()
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(60.0)) as client:
        router = RoutedChatModel(
            routes={
                "cerebras": ChatCerebras(
                    model=CEREBRAS_MODEL, api_key=API_KEY, base_url=url, http_async_client=client
                ),
                "groq": ChatGroq(model=GROQ_MODEL, api_key=API_KEY, base_url=url),
            },
            priority="ultimate_speed",
        )
        await router.ainvoke("warm-up", max_tokens=ANSWER_TOKENS)

        async def one(index: int) -> None:
            started = time.perf_counter()
            count = 0
            try:
                async for chunk in router.astream(f"Request {index}", max_tokens=ANSWER_TOKENS):
                    if chunk.content:
                        count += 1
                    routing = chunk.response_metadata.get("routing")
                    if routing:
                        outcome.routes[routing["route"]] += 1
            except Exception as exc:
                outcome.errors.append(f"call {index}: {type(exc).__name__}: {exc}")
                return
            outcome.latencies.append(time.perf_counter() - started)
            outcome.chunks += count

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(calls)))
        outcome.wall = time.perf_counter() - started
    return outcome


class _RssSampler:
    """Peak resident set size while running, sampled from ``/proc/self/statm``."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.baseline = self._rss()
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)

    @staticmethod
    def _rss() -> int | None:
        try:
            with open("/proc/self/statm", encoding="ascii") as statm:
                return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            current = self._rss()
            if current is not None and self.peak is not None:
                self.peak = max(self.peak, current)

    def __enter__(self) -> _RssSampler:
        if self.baseline is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    @property
    def growth_mib(self) -> float | None:
        if self.baseline is None or self.peak is None:
            return None
        return (self.peak - self.baseline) / 2**20


def run(quick: bool = False, *, tiny: bool = False) -> dict[str, Any]:
    """Start N astream calls at once through one router; throughput, memory, errors."""
    calls = _sizes(quick, tiny)
    with emulator_process(answer_tokens=ANSWER_TOKENS) as url:
        with _RssSampler() as rss:
            timed = asyncio.run(_storm(url, calls))
        tracemalloc.start()
        try:
            traced_before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            traced = asyncio.run(_storm(url, calls))
            traced_peak = tracemalloc.get_traced_memory()[1] - traced_before
        finally:
            tracemalloc.stop()
    errors = timed.errors + traced.errors
    ok = len(timed.latencies)
    row = {
        "calls": calls,
        "completed": ok,
        "errors": len(errors),
        "wall_s": timed.wall,
        "calls_per_s": ok / timed.wall,
        "chunks_per_s": timed.chunks / timed.wall,
        "p50_ms": percentile(timed.latencies, 0.5) * 1e3 if ok else None,
        "p99_ms": percentile(timed.latencies, 0.99) * 1e3 if ok else None,
        "peak_rss_growth_mib": rss.growth_mib,
        "peak_heap_growth_mib": traced_peak / 2**20,
        "heap_kib_per_call": traced_peak / calls / 1024,
    }
    notes = [
        f"Answered by: {dict(timed.routes)} (timed pass).",
        f"Content chunks received: {timed.chunks:,} ({ANSWER_TOKENS} expected per call).",
        "The tracemalloc pass is slower; only its memory figures are reported.",
    ]
    notes += [f"ERROR {e}" for e in errors[:20]]
    if len(errors) > 20:
        notes.append(f"... and {len(errors) - 20} more errors")
    return BenchmarkResult(
        name="scale",
        title=f"(h) {calls:,} concurrent astream calls through RoutedChatModel",
        columns=list(row),
        rows=[row],
        targets=[
            Target(
                "h.errors",
                f"errors among {calls:,} concurrent astream calls (two passes)",
                float(len(errors)),
                "<=",
                0.0,
                unit="errors",
            )
        ],
        charts=[
            Chart(
                "per-call latency with every call in flight at once",
                y="ms",
                ylabel="ms from start to the end of the stream",
                kind="cdf",
                series=("latency_ms",),
            )
        ],
        params={
            "concurrent_calls": calls,
            "answer_tokens": ANSWER_TOKENS,
            "httpx_limits": f"max_connections={calls}, max_keepalive_connections={calls}",
            "emulator": "separate process, streams as fast as it can",
        },
        notes=notes,
        series={"latency_ms": [s * 1e3 for s in timed.latencies]},
    ).to_dict()
