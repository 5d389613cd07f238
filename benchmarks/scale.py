"""(h) Scale: 1,000 concurrent ``astream`` calls through one RoutedChatModel.

One event loop starts every call at once; the client shares one ``httpx.AsyncClient``
whose pool allows 1,000 connections; the emulator runs in its own process and streams
each 64-token answer as fast as it can. After an untimed router warm-up storm (its peak
RSS growth, sampled every 5 ms from ``/proc/self/statm``, is the clean figure), the same
storm runs through the raw ``AsyncCerebras`` SDK, ``ChatCerebras.astream`` and
``RoutedChatModel.astream`` in rotating order (calls/s, content chunks/s, per-call
latency), then once more through the router under ``tracemalloc`` for its peak Python
heap growth.

Target: no error in the router storms (every error is listed in the notes).
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
    BenchmarkResult,
    Chart,
    Target,
    chat_cerebras,
    chat_groq,
    emulator_process,
    percentile,
    run_async,
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
    return 100 if quick else 1000


def _client(url: str, kind: str, http_client: Any) -> Any:
    """The streaming client under test: ``raw``, ``chat`` (ChatCerebras) or ``router``."""
    from langchain_cerebras_router import RoutedChatModel

    if kind == "raw":
        from cerebras.cloud.sdk import AsyncCerebras

        return AsyncCerebras(
            api_key=API_KEY,
            base_url=url,
            warm_tcp_connection=False,
            max_retries=0,
            http_client=http_client,
        )
    chat = chat_cerebras(url, http_async_client=http_client)
    if kind == "chat":
        return chat
    return RoutedChatModel(
        routes={"cerebras": chat, "groq": chat_groq(url)}, priority="ultimate_speed"
    )


async def _stream_once(client: Any, kind: str, prompt: str, outcome: _Storm) -> int:
    count = 0
    if kind == "raw":
        stream = await client.chat.completions.create(
            model=CEREBRAS_MODEL,
            messages=[{"role": "user", "content": prompt}],
            max_completion_tokens=ANSWER_TOKENS,
            stream=True,
        )
        async for event in stream:
            if event.choices and event.choices[0].delta.content:
                count += 1
        return count
    async for chunk in client.astream(prompt, max_tokens=ANSWER_TOKENS):
        if chunk.content:
            count += 1
        routing = chunk.response_metadata.get("routing")
        if routing:
            outcome.routes[routing["route"]] += 1
    return count


async def _storm(url: str, calls: int, kind: str = "router") -> _Storm:
    import httpx

    limits = httpx.Limits(max_connections=calls, max_keepalive_connections=calls)
    outcome = _Storm()
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(60.0)) as http_client:
        client = _client(url, kind, http_client)
        await _stream_once(client, kind, "warm-up", _Storm())

        async def one(index: int) -> None:
            started = time.perf_counter()
            try:
                count = await _stream_once(client, kind, f"Request {index}", outcome)
            except Exception as exc:
                outcome.errors.append(f"{kind} call {index}: {type(exc).__name__}: {exc}")
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


KINDS = {
    "router": "RoutedChatModel.astream",
    "chat": "ChatCerebras.astream",
    "raw": "raw AsyncCerebras stream",
}


def _sizes_rounds(quick: bool, tiny: bool) -> int:
    """Timed storms per client (rotating order), after one untimed warm-up storm."""
    return 1 if quick or tiny else 2


def run(quick: bool = False, *, tiny: bool = False) -> dict[str, Any]:
    """Start N astream calls at once: raw SDK, ChatCerebras and the router, side by side."""
    calls = _sizes(quick, tiny)
    rounds = _sizes_rounds(quick, tiny)
    storms: dict[str, list[_Storm]] = {kind: [] for kind in KINDS}
    names = list(KINDS)
    with emulator_process(answer_tokens=ANSWER_TOKENS) as url:
        # The first storm of the process pays for growing the heap and for the emulator
        # building its answers: a router warm-up, whose RSS growth is the clean peak.
        with _RssSampler() as sampler:
            warm = run_async(_storm(url, calls, "router"))
        for index in range(rounds):
            shift = index % len(names)
            for kind in names[shift:] + names[:shift]:
                storms[kind].append(run_async(_storm(url, calls, kind)))
        tracemalloc.start()
        try:
            traced_before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            traced = run_async(_storm(url, calls, "router"))
            traced_peak = tracemalloc.get_traced_memory()[1] - traced_before
        finally:
            tracemalloc.stop()
    passes = [warm, traced, *(storm for runs in storms.values() for storm in runs)]
    errors = [e for storm in passes for e in storm.errors]

    def rate(kind: str) -> float:
        return sum(s.chunks for s in storms[kind]) / sum(s.wall for s in storms[kind])

    rows: list[dict[str, Any]] = []
    for kind, label in KINDS.items():
        runs = storms[kind]
        latencies = [latency for storm in runs for latency in storm.latencies]
        wall = sum(storm.wall for storm in runs)
        rows.append(
            {
                "client": label,
                "calls": calls,
                "storms": len(runs),
                "errors": sum(len(storm.errors) for storm in runs),
                "wall_s": wall / len(runs),
                "calls_per_s": len(latencies) / wall,
                "chunks_per_s": rate(kind),
                "vs_raw": rate(kind) / rate("raw"),
                "p50_ms": percentile(latencies, 0.5) * 1e3 if latencies else None,
                "p99_ms": percentile(latencies, 0.99) * 1e3 if latencies else None,
            }
        )
    router_errors = sum(len(s.errors) for s in (warm, traced, *storms["router"]))
    rss = sampler.growth_mib
    notes = [
        f"Router calls answered by: {dict(warm.routes)} (warm-up storm).",
        f"Content chunks per storm: {warm.chunks:,} ({ANSWER_TOKENS} expected per call).",
        f"Router memory: peak Python heap growth {traced_peak / 2**20:.1f} MiB "
        f"({traced_peak / calls / 1024:.1f} KiB per call in flight, tracemalloc pass); "
        + (
            f"peak RSS growth {rss:.1f} MiB during the first storm of the process."
            if rss is not None
            else "RSS not available on this platform."
        ),
        "Each client's rates cover all its timed storms (total chunks / total time).",
    ]
    notes += [f"ERROR {e}" for e in errors[:20]]
    if len(errors) > 20:
        notes.append(f"... and {len(errors) - 20} more errors")
    return BenchmarkResult(
        name="scale",
        title=f"(h) {calls:,} concurrent streams at once",
        columns=[
            "client",
            "calls",
            "storms",
            "errors",
            "wall_s",
            "calls_per_s",
            "chunks_per_s",
            "vs_raw",
            "p50_ms",
            "p99_ms",
        ],
        rows=rows,
        targets=[
            Target(
                "h.errors",
                f"errors among {calls:,} concurrent RoutedChatModel.astream calls "
                "(every storm: warm-up, timed, tracemalloc)",
                float(router_errors),
                "<=",
                0.0,
                unit="errors",
            )
        ],
        charts=[
            Chart(
                "content chunks per second, all calls in flight at once",
                y="chunks_per_s",
                ylabel="content chunks / s",
                x=("client",),
            ),
            Chart(
                "per-call latency with every call in flight at once",
                y="ms",
                ylabel="ms from start to the end of the stream",
                kind="cdf",
                series=tuple(KINDS.values()),
            ),
        ],
        params={
            "concurrent_calls": calls,
            "timed_storms_per_client": rounds,
            "router_peak_heap_growth_mib": traced_peak / 2**20,
            "router_peak_rss_growth_mib": rss,
            "answer_tokens": ANSWER_TOKENS,
            "httpx_limits": f"max_connections={calls}, max_keepalive_connections={calls}",
            "emulator": "separate process, streams as fast as it can",
        },
        notes=notes,
        series={
            KINDS[k]: [latency * 1e3 for storm in runs for latency in storm.latencies]
            for k, runs in storms.items()
        },
    ).to_dict()
