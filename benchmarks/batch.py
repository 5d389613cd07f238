"""(e) Parallel batch: 50 requests at 200 ms server latency.

A dedicated in-process emulator adds ``server_latency=0.2`` s to every request.
``ChatCerebras`` answers the same 50 prompts three ways: a sequential ``invoke`` loop,
``batch`` (thread pool) and ``abatch`` (one event loop), both with ``max_concurrency=10``.

Target: ``abatch`` >= 4.5x faster than the sequential loop (the ideal is 10x: five waves
of ten instead of fifty calls in a row).
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks.common import BenchmarkResult, Chart, Target, chat_cerebras, run_async

CONCURRENCY = 10


def _sizes(quick: bool, tiny: bool) -> tuple[int, float]:
    """``(requests, server latency in seconds)``."""
    if tiny:
        return 4, 0.05
    if quick:
        return 10, 0.2
    return 50, 0.2


def run(quick: bool = False, *, tiny: bool = False) -> dict[str, Any]:
    """Time a sequential loop, ``batch`` and ``abatch`` over the same prompts."""
    from langchain_cerebras_router.testing import Emulator

    requests, latency = _sizes(quick, tiny)
    prompts = [f"Question number {i}" for i in range(requests)]
    config = {"max_concurrency": CONCURRENCY}
    timings: dict[str, float] = {}
    with Emulator(server_latency=latency) as emu:
        llm = chat_cerebras(emu.base_url)
        llm.invoke("warm-up")
        started = time.perf_counter()
        sequential = [llm.invoke(p) for p in prompts]
        timings["sequential invoke loop"] = time.perf_counter() - started

        started = time.perf_counter()
        threaded = llm.batch(prompts, config=config)
        timings[f"batch(max_concurrency={CONCURRENCY})"] = time.perf_counter() - started

        async def concurrent() -> list[Any]:
            await llm.ainvoke("warm-up")
            begun = time.perf_counter()
            answers: list[Any] = await llm.abatch(prompts, config=config)
            timings[f"abatch(max_concurrency={CONCURRENCY})"] = time.perf_counter() - begun
            return answers

        gathered = run_async(concurrent())
        served = emu.request_count("cerebras")
    answers = (sequential, threaded, gathered)
    if any(len(a) != requests or not all(m.content for m in a) for a in answers):
        msg = "a batch returned missing or empty answers"
        raise RuntimeError(msg)
    base = timings["sequential invoke loop"]
    rows: list[dict[str, Any]] = [
        {
            "mode": mode,
            "requests": requests,
            "concurrency": 1 if mode.startswith("sequential") else CONCURRENCY,
            "wall_s": seconds,
            "per_request_ms": seconds / requests * 1e3,
            "speedup": base / seconds,
        }
        for mode, seconds in timings.items()
    ]
    waves = -(-requests // CONCURRENCY)
    return BenchmarkResult(
        name="batch",
        title=f"(e) parallel batch, {requests} requests at {latency * 1e3:.0f} ms server latency",
        columns=["mode", "requests", "concurrency", "wall_s", "per_request_ms", "speedup"],
        rows=rows,
        targets=[
            Target(
                "e.abatch_speedup",
                "abatch(max_concurrency=10) speed-up over a sequential invoke loop",
                rows[-1]["speedup"],
                ">=",
                4.5,
            )
        ],
        charts=[
            Chart(
                "wall time for the whole batch (lower is better)",
                y="wall_s",
                ylabel="seconds",
                x=("mode",),
            )
        ],
        params={
            "requests": requests,
            "server_latency_s": latency,
            "max_concurrency": CONCURRENCY,
            "ideal_speedup": requests / waves,
            "emulator": "in-process, dedicated instance",
            "chat_requests_served": served,
        },
        notes=[f"Ideal speed-up with {CONCURRENCY} in flight: {requests / waves:g}x."],
    ).to_dict()
