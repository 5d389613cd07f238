"""(f) Hedging: the first route is slow to its first token on 10% of calls.

An in-process emulator answers the Cerebras route late on every tenth call
(``slow_first_token:1.0`` through ``emu.script``); the Groq route is always healthy. Two
routers over the same two routes (priority ``ultimate_speed``, Cerebras first) run
round-robin with a direct call to the Groq route: one without hedging, one with
``hedge_after=0.1`` (start Groq when Cerebras has not answered within 100 ms). Sync
``invoke`` and async ``ainvoke`` are measured separately.

Target: hedged p99 <= hedge delay + the second route's own p99 (measured directly).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.common import (
    BenchmarkResult,
    Chart,
    Target,
    chat_cerebras,
    chat_groq,
    percentile,
    quiet_logging,
    run_async,
)

PLAIN = "RoutedChatModel, no hedging"
HEDGED = "RoutedChatModel, hedge_after"
DIRECT = "second route (Groq) direct"
IDLE = "second route (Groq) direct, after hedge-delay idle"
PROMPT = "Say hello"
EVERY = 10


@dataclass(frozen=True)
class _Sizes:
    calls: int
    slow_seconds: float
    hedge_after: float


def _sizes(quick: bool, tiny: bool) -> _Sizes:
    if tiny:
        return _Sizes(calls=10, slow_seconds=0.2, hedge_after=0.05)
    if quick:
        return _Sizes(calls=10, slow_seconds=0.5, hedge_after=0.1)
    return _Sizes(calls=200, slow_seconds=1.0, hedge_after=0.1)


def _routers(emu: Any, hedge_after: float) -> dict[str, Any]:
    from langchain_cerebras_router import RoutedChatModel

    def routes() -> dict[str, Any]:
        return {"cerebras": chat_cerebras(emu.base_url), "groq": chat_groq(emu.base_url)}

    return {
        PLAIN: RoutedChatModel(routes=routes(), priority="ultimate_speed"),
        HEDGED: RoutedChatModel(
            routes=routes(), priority="ultimate_speed", hedge_after=hedge_after
        ),
        DIRECT: chat_groq(emu.base_url),
        IDLE: chat_groq(emu.base_url),
    }


def _script(emu: Any, sizes: _Sizes) -> None:
    """Two Cerebras requests per round (one per router), slow on every tenth round.

    Armed after the warm-up calls, so that the first step is the first timed request.
    """
    slow = f"slow_first_token:{sizes.slow_seconds}"
    steps = []
    for index in range(sizes.calls):
        fault = slow if index % EVERY == 0 else None
        steps += [fault, fault]
    emu.clear_faults()
    emu.script("cerebras", steps)


def _record(
    name: str, seconds: float, message: Any, samples: dict[str, list[float]], hedged: list[int]
) -> None:
    samples[name].append(seconds)
    routing = message.response_metadata.get("routing")
    if routing and routing.get("hedged") and routing.get("route") == "groq":
        hedged.append(1)


def _run_sync(
    models: dict[str, Any], sizes: _Sizes, arm: Callable[[], None]
) -> tuple[dict[str, list[float]], int]:
    import time

    for name, model in models.items():
        model.invoke(PROMPT)
        if name in (PLAIN, HEDGED):  # open the Groq route's connection too, as traffic would
            model.invoke(PROMPT, priority="speed")
    arm()
    samples: dict[str, list[float]] = {name: [] for name in models}
    hedged: list[int] = []
    names = list(models)
    for index in range(sizes.calls):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            if name == IDLE:
                time.sleep(sizes.hedge_after)
            started = time.perf_counter()
            message = models[name].invoke(PROMPT)
            _record(name, time.perf_counter() - started, message, samples, hedged)
    return samples, len(hedged)


async def _run_async(
    models: dict[str, Any], sizes: _Sizes, arm: Callable[[], None]
) -> tuple[dict[str, list[float]], int]:
    import time

    for name, model in models.items():
        await model.ainvoke(PROMPT)
        if name in (PLAIN, HEDGED):
            await model.ainvoke(PROMPT, priority="speed")
    arm()
    samples: dict[str, list[float]] = {name: [] for name in models}
    hedged: list[int] = []
    names = list(models)
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        name: functools.partial(m.ainvoke, PROMPT) for name, m in models.items()
    }
    for index in range(sizes.calls):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            if name == IDLE:
                await asyncio.sleep(sizes.hedge_after)
            started = time.perf_counter()
            message = await calls[name]()
            _record(name, time.perf_counter() - started, message, samples, hedged)
    return samples, len(hedged)


def run(quick: bool = False, *, tiny: bool = False) -> dict[str, Any]:
    """Measure p50/p99 with and without hedging on a route that is sometimes slow."""
    from langchain_cerebras_router.testing import Emulator

    sizes = _sizes(quick, tiny)
    rows: list[dict[str, Any]] = []
    targets: list[Target] = []
    series: dict[str, list[float]] = {}
    with Emulator() as emu, quiet_logging("langchain_cerebras_router"):
        results = {}
        for api in ("invoke", "ainvoke"):
            models = _routers(emu, sizes.hedge_after)
            emu.clear_faults()

            def arm() -> None:
                _script(emu, sizes)

            if api == "invoke":
                results[api] = _run_sync(models, sizes, arm)
            else:
                results[api] = run_async(_run_async(models, sizes, arm))
    for api, (samples, hedged_calls) in results.items():
        for name, seconds in samples.items():
            label = {
                HEDGED: f"{HEDGED}={sizes.hedge_after:g}",
                IDLE: f"{DIRECT}, after {sizes.hedge_after * 1e3:g} ms idle",
            }.get(name, name)
            rows.append(
                {
                    "api": api,
                    "contender": label,
                    "calls": len(seconds),
                    "p50_ms": percentile(seconds, 0.5) * 1e3,
                    "p90_ms": percentile(seconds, 0.9) * 1e3,
                    "p99_ms": percentile(seconds, 0.99) * 1e3,
                    "max_ms": max(seconds) * 1e3,
                    "hedged_calls": hedged_calls if name == HEDGED else None,
                }
            )
            series[f"{api} {label}"] = [s * 1e3 for s in seconds]
        bound = sizes.hedge_after * 1e3 + percentile(samples[DIRECT], 0.99) * 1e3
        targets.append(
            Target(
                f"f.{api}_hedged_p99",
                f"{api}: hedged p99 / (hedge delay {sizes.hedge_after * 1e3:g} ms + "
                f"second route p99 {bound - sizes.hedge_after * 1e3:.2f} ms)",
                percentile(samples[HEDGED], 0.99) * 1e3 / bound,
                "<=",
                1.0,
            )
        )
    return BenchmarkResult(
        name="hedging",
        title=f"(f) hedging, first route slow ({sizes.slow_seconds:g} s) on 1 call in {EVERY}",
        columns=[
            "api",
            "contender",
            "calls",
            "p50_ms",
            "p90_ms",
            "p99_ms",
            "max_ms",
            "hedged_calls",
        ],
        rows=rows,
        targets=targets,
        charts=[
            Chart(
                "p99 latency (log scale)",
                y="p99_ms",
                ylabel="ms (p99)",
                x=("api", "contender"),
                group="api",
                log=True,
            ),
            Chart(
                "latency distribution, sync invoke",
                y="ms",
                ylabel="ms per call (log scale)",
                kind="cdf",
                series=tuple(k for k in series if k.startswith("invoke ")),
                log=True,
            ),
        ],
        params={
            "calls_per_contender": sizes.calls,
            "slow_every": EVERY,
            "slow_first_token_s": sizes.slow_seconds,
            "hedge_after_s": sizes.hedge_after,
            "emulator": "in-process, no added latency",
        },
        notes=[
            "The target is met when the ratio is <= 1: hedged p99 within the hedge delay "
            "plus the second route's own p99 (back-to-back direct calls, same run).",
            "A hedge starts after the process sat idle for the hedge delay; the 'after idle' "
            "row is the second route called directly after the same idle time, for scale.",
        ],
        series=series,
    ).to_dict()
