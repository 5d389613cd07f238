"""(f) Hedging: the first route is slow to its first token on 10% of calls.

An emulator in its own process answers the Cerebras route late on every tenth call
(``slow_first_token:1.0`` through its ``script``); the Groq route is always healthy. Two
routers over the same two routes (priority ``ultimate_speed``, Cerebras first) run
round-robin with direct calls to the Groq route: one router without hedging, one with
``hedge_after=0.1`` (start Groq when Cerebras has not answered within 100 ms). Sync
``invoke`` and async ``ainvoke`` are measured separately.

Target: hedged p99 <= hedge delay + the second route's p99, where the second route's
latency is a direct call issued the way a hedge is issued: after sitting idle for the
hedge delay, on a client whose kept-alive connection was last used ``EVERY`` rounds
earlier (the router's Groq member only carries the hedges, one round in ``EVERY``).
``EVERY`` such clients take turns, one per round, so that every round yields a sample.
A warm back-to-back direct call is reported too, for reference only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
    scripted_emulator_process,
)

PLAIN = "RoutedChatModel, no hedging"
HEDGED = "RoutedChatModel, hedge_after"
AS_HEDGE = "second route (Groq) direct, as a hedge"
WARM = "second route (Groq) direct, back to back"
PROMPT = "Say hello"
EVERY = 10


@dataclass(frozen=True)
class _Sizes:
    calls: int
    slow_seconds: float
    hedge_after: float


@dataclass
class _Contenders:
    """The routers, the reference client, and the clients that call Groq as a hedge does."""

    plain: Any
    hedged: Any
    warm: Any
    as_hedge: list[Any]

    def model(self, name: str, index: int) -> Any:
        """The model that plays ``name`` in round ``index``."""
        if name == AS_HEDGE:
            return self.as_hedge[index % len(self.as_hedge)]
        return {PLAIN: self.plain, HEDGED: self.hedged, WARM: self.warm}[name]


@dataclass
class _Samples:
    """Seconds per call, per contender, and what the hedged calls spent where."""

    seconds: dict[str, list[float]] = field(
        default_factory=lambda: {name: [] for name in (PLAIN, HEDGED, AS_HEDGE, WARM)}
    )
    #: For each call the hedge answered: the Groq attempt's own time (launch to answer,
    #: as the router records it) and the rest of the call (wait before the hedge, router).
    hedge_attempt_ms: list[float] = field(default_factory=list)
    hedge_rest_ms: list[float] = field(default_factory=list)

    def record(self, name: str, seconds: float, message: Any) -> None:
        self.seconds[name].append(seconds)
        routing = message.response_metadata.get("routing")
        if name != HEDGED or not routing or not routing.get("hedged"):
            return
        if routing.get("route") != "groq":
            return
        for attempt in routing.get("attempts", []):
            if attempt.get("hedge") and attempt.get("outcome") == "answered":
                self.hedge_attempt_ms.append(float(attempt["elapsed_ms"]))
                self.hedge_rest_ms.append(seconds * 1e3 - float(attempt["elapsed_ms"]))


def _sizes(quick: bool, tiny: bool) -> _Sizes:
    if tiny:
        return _Sizes(calls=10, slow_seconds=0.2, hedge_after=0.05)
    if quick:
        return _Sizes(calls=20, slow_seconds=0.5, hedge_after=0.1)
    return _Sizes(calls=200, slow_seconds=1.0, hedge_after=0.1)


def _contenders(emu: Any, hedge_after: float) -> _Contenders:
    from langchain_cerebras_router import RoutedChatModel

    def routes() -> dict[str, Any]:
        return {"cerebras": chat_cerebras(emu.base_url), "groq": chat_groq(emu.base_url)}

    return _Contenders(
        plain=RoutedChatModel(routes=routes(), priority="ultimate_speed"),
        hedged=RoutedChatModel(routes=routes(), priority="ultimate_speed", hedge_after=hedge_after),
        warm=chat_groq(emu.base_url),
        as_hedge=[chat_groq(emu.base_url) for _ in range(EVERY)],
    )


def _warm_up_calls(models: _Contenders) -> list[tuple[Any, str | None]]:
    """One call per client and route: every connection is open before timing, as in use."""
    calls: list[tuple[Any, str | None]] = []
    for router in (models.plain, models.hedged):
        calls += [(router, None), (router, "speed")]  # "speed" sends it to Groq
    calls += [(model, None) for model in (models.warm, *models.as_hedge)]
    return calls


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


def _order(index: int) -> list[str]:
    names = [PLAIN, HEDGED, AS_HEDGE, WARM]
    shift = index % len(names)
    return names[shift:] + names[:shift]


def _run_sync(models: _Contenders, sizes: _Sizes, arm: Callable[[], None]) -> _Samples:
    for model, priority in _warm_up_calls(models):
        model.invoke(PROMPT, **({"priority": priority} if priority else {}))
    arm()
    samples = _Samples()
    for index in range(sizes.calls):
        for name in _order(index):
            model = models.model(name, index)
            if name == AS_HEDGE:
                time.sleep(sizes.hedge_after)  # a hedge starts after this much idle time
            started = time.perf_counter()
            message = model.invoke(PROMPT)
            samples.record(name, time.perf_counter() - started, message)
    return samples


async def _run_async(models: _Contenders, sizes: _Sizes, arm: Callable[[], None]) -> _Samples:
    for model, priority in _warm_up_calls(models):
        await model.ainvoke(PROMPT, **({"priority": priority} if priority else {}))
    arm()
    samples = _Samples()
    for index in range(sizes.calls):
        for name in _order(index):
            model = models.model(name, index)
            if name == AS_HEDGE:
                await asyncio.sleep(sizes.hedge_after)
            started = time.perf_counter()
            message = await model.ainvoke(PROMPT)
            samples.record(name, time.perf_counter() - started, message)
    return samples


def _label(name: str, sizes: _Sizes) -> str:
    if name == HEDGED:
        return f"{HEDGED}={sizes.hedge_after:g}"
    if name == AS_HEDGE:
        return f"{AS_HEDGE} (after {sizes.hedge_after * 1e3:g} ms idle)"
    return name


def _breakdown(api: str, samples: _Samples, sizes: _Sizes) -> str:
    """Where the hedged calls' time went, from the router's own attempt records."""
    if not samples.hedge_attempt_ms:
        return f"{api}: no call was answered by the hedge."
    delay_ms = sizes.hedge_after * 1e3
    late = [rest - delay_ms for rest in samples.hedge_rest_ms]
    direct = samples.seconds[AS_HEDGE]
    count = len(samples.hedge_attempt_ms)
    return (
        f"{api}: in the {count} call{'s' if count != 1 else ''} the hedge answered, the Groq "
        f"attempt (launch to answer, as the router records it) took "
        f"{percentile(samples.hedge_attempt_ms, 0.5):.2f} ms median, "
        f"{max(samples.hedge_attempt_ms):.2f} ms max (Groq called as a hedge, directly: "
        f"{percentile(direct, 0.5) * 1e3:.2f} ms median, {percentile(direct, 0.99) * 1e3:.2f} "
        f"ms p99); the rest of the call beyond {delay_ms:g} ms (the hedge delay counts from "
        "the start of the call, so this is the hedge timer's lateness, the hand-over and "
        f"LangChain's end of the run) took {percentile(late, 0.5):.2f} ms median, "
        f"{max(late):.2f} ms max."
    )


def run(quick: bool = False, *, tiny: bool = False) -> dict[str, Any]:
    """Measure p50/p99 with and without hedging on a route that is sometimes slow."""
    sizes = _sizes(quick, tiny)
    rows: list[dict[str, Any]] = []
    targets: list[Target] = []
    series: dict[str, list[float]] = {}
    notes: list[str] = []
    results: dict[str, _Samples] = {}
    with scripted_emulator_process() as emu, quiet_logging("langchain_cerebras_router"):
        for api in ("invoke", "ainvoke"):
            models = _contenders(emu, sizes.hedge_after)
            emu.clear_faults()

            def arm() -> None:
                _script(emu, sizes)

            if api == "invoke":
                results[api] = _run_sync(models, sizes, arm)
            else:
                results[api] = run_async(_run_async(models, sizes, arm))
    for api, samples in results.items():
        hedged_calls = len(samples.hedge_attempt_ms)
        for name, seconds in samples.seconds.items():
            label = _label(name, sizes)
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
        second_p99_ms = percentile(samples.seconds[AS_HEDGE], 0.99) * 1e3
        bound = sizes.hedge_after * 1e3 + second_p99_ms
        targets.append(
            Target(
                f"f.{api}_hedged_p99",
                f"{api}: hedged p99 / (hedge delay {sizes.hedge_after * 1e3:g} ms + second "
                f"route p99 {second_p99_ms:.2f} ms, called as a hedge is)",
                percentile(samples.seconds[HEDGED], 0.99) * 1e3 / bound,
                "<=",
                1.0,
            )
        )
        notes.append(_breakdown(api, samples, sizes))
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
            "second_route_as_hedge": (
                f"direct ChatGroq call after {sizes.hedge_after:g} s idle; {EVERY} clients "
                f"take turns, so each connection is reused after {EVERY} rounds like the "
                "router's Groq member, which only carries the hedges"
            ),
            "emulator": "own process, no added latency",
        },
        notes=[
            "The target is met when the ratio is <= 1: hedged p99 within the hedge delay "
            "plus the second route's p99, the second route being called directly under the "
            "conditions a hedge runs in (same run).",
            "'as a hedge': the call starts after the process sat idle for the hedge delay, on "
            f"a kept-alive connection last used {EVERY} rounds earlier ({EVERY} clients take "
            "turns), as the router's Groq member is used only by the hedges (one round in "
            f"{EVERY}).",
            "'back to back': the same direct call on a connection used every round, right "
            "after the previous call (reference only: not the conditions of a hedge).",
            *notes,
        ],
        series=series,
    ).to_dict()
