"""(d) Failover latency: the first route fails, the second (Groq on the emulator) is healthy.

Faults on the first route (a ChatCerebras): 429 with ``retry-after: 1``, 503, connection
refused (``emu.refused_url``), connection reset, and a stall before the first byte
(``stall:0:30``). Faults are set with the emulator's ``x-emulator-fault`` header in the
faulty member's ``default_headers``, so every attempt (SDK retries included) gets it.

Contenders, all ``invoke``:

* **direct**: the healthy ChatGroq called directly (the floor);
* **RoutedChatModel** (``timeout=1`` s per attempt), router health reset before each
  sample so that each one really tries the faulty route first;
* **RoutedChatModel, route known down**: calls after the breaker opened (or a
  ``retry-after`` is pending), without resetting health: the faulty route is skipped;
* **with_fallbacks**: ``ChatCerebras().with_fallbacks([ChatGroq()])`` with SDK defaults
  (``max_retries=2``, backoff, ``retry-after`` honoured). LangChain models have no timeout
  by default, so for the stall case its primary gets ``timeout=5``. Its samples run
  concurrently (each takes seconds of SDK backoff or timeouts, which concurrency does not
  change) to keep the run short.

Target: the router's failover adds < 50 ms over calling the healthy route directly (for the
stall: over the 1 s attempt timeout plus the direct call).
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
)

PROMPT = "Say hello"
DIRECT = "direct call to the healthy route"
ROUTER = "RoutedChatModel"
ROUTER_DOWN = "RoutedChatModel, route known down"
FALLBACKS = "with_fallbacks (SDK defaults)"
STALL = "stall before the first byte"


@dataclass(frozen=True)
class _Sizes:
    samples: int
    router_timeout: float
    fallback_stall_timeout: float
    retry_after: float


def _sizes(quick: bool, tiny: bool) -> _Sizes:
    if tiny:
        return _Sizes(samples=1, router_timeout=0.3, fallback_stall_timeout=0.3, retry_after=0.1)
    if quick:  # shorter stall timeouts keep --quick under a minute
        return _Sizes(samples=2, router_timeout=0.5, fallback_stall_timeout=1.0, retry_after=1.0)
    return _Sizes(samples=5, router_timeout=1.0, fallback_stall_timeout=5.0, retry_after=1.0)


def _faults(sizes: _Sizes) -> list[tuple[str, str | None]]:
    """``(label, fault spec)``; ``None``: connection refused (no server listening)."""
    return [
        (f"429 (retry-after {sizes.retry_after:g} s)", f"rate_limit:{sizes.retry_after}"),
        ("503", "status:503"),
        ("connection refused", None),
        ("connection reset", "reset"),
        (STALL, "stall:0:30"),
    ]


class _RetryCounter(logging.Handler):
    """Counts the Cerebras SDK's "Retrying request" log lines, per fault (by thread)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.fault_of_thread: dict[int, str] = {}
        self.retries: dict[str, int] = {}
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if not record.getMessage().startswith("Retrying request"):
            return
        with self._lock:
            fault = self.fault_of_thread.get(record.thread or 0)
            if fault is not None:
                self.retries[fault] = self.retries.get(fault, 0) + 1


@contextmanager
def _count_sdk_retries() -> Iterator[_RetryCounter]:
    counter = _RetryCounter()
    logger = logging.getLogger("cerebras.cloud.sdk")
    previous_level, previous_propagate = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous_level)
        logger.propagate = previous_propagate


def _faulty_member(emu: Any, spec: str | None, **extra: Any) -> Any:
    from langchain_cerebras_router.testing import FAULT_HEADER

    if spec is None:
        return chat_cerebras(emu.refused_url, **extra)
    return chat_cerebras(emu.base_url, default_headers={FAULT_HEADER: spec}, **extra)


def _healthy(emu: Any) -> Any:
    return chat_groq(emu.base_url)


def _timed(call: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = call()
    return time.perf_counter() - started, value


def _cerebras_attempts(routing: dict[str, Any]) -> list[str]:
    return [a["outcome"] for a in routing["attempts"] if a["route"] == "cerebras"]


def _router_samples(
    emu: Any, healthy: Any, spec: str | None, sizes: _Sizes
) -> dict[str, tuple[list[float], list[int]]]:
    """Direct, router (health reset each time) and router-with-route-down samples."""
    from langchain_cerebras_router import RoutedChatModel

    router = RoutedChatModel(
        routes={"cerebras": _faulty_member(emu, spec), "groq": healthy},
        priority="ultimate_speed",
        timeout=sizes.router_timeout,
    )
    healthy.invoke(PROMPT)
    router.health.reset()
    router.invoke(PROMPT)
    out: dict[str, tuple[list[float], list[int]]] = {
        DIRECT: ([], []),
        ROUTER: ([], []),
        ROUTER_DOWN: ([], []),
    }
    for _ in range(sizes.samples):
        seconds, _message = _timed(lambda: healthy.invoke(PROMPT))
        out[DIRECT][0].append(seconds)
        router.health.reset()
        seconds, message = _timed(lambda: router.invoke(PROMPT))
        routing = message.response_metadata["routing"]
        if routing["route"] != "groq" or not _cerebras_attempts(routing):
            msg = f"the router did not fail over as expected: {routing}"
            raise RuntimeError(msg)
        out[ROUTER][0].append(seconds)
        out[ROUTER][1].append(len(_cerebras_attempts(routing)))
    # Route known down: call until the faulty route is refused by health, then time.
    router.health.reset()
    for _ in range(10):
        routing = router.invoke(PROMPT).response_metadata["routing"]
        if _cerebras_attempts(routing) == ["skipped"]:
            break
    else:
        msg = "the router never stopped trying the faulty route"
        raise RuntimeError(msg)
    for _ in range(sizes.samples):
        seconds, message = _timed(lambda: router.invoke(PROMPT))
        outcomes = _cerebras_attempts(message.response_metadata["routing"])
        out[ROUTER_DOWN][0].append(seconds)
        out[ROUTER_DOWN][1].append(sum(o != "skipped" for o in outcomes))
    return out


def _fallback_samples(
    emu: Any, healthy: Any, faults: list[tuple[str, str | None]], sizes: _Sizes
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """with_fallbacks samples for every fault, run concurrently; retries counted per fault."""
    chains = {}
    for label, spec in faults:
        extra = {"timeout": sizes.fallback_stall_timeout} if label == STALL else {}
        chains[label] = _faulty_member(emu, spec, **extra).with_fallbacks([healthy])
    seconds: dict[str, list[float]] = {label: [] for label, _ in faults}
    with _count_sdk_retries() as counter:

        def sample(label: str) -> tuple[str, float]:
            counter.fault_of_thread[threading.get_ident()] = label
            elapsed, message = _timed(lambda: chains[label].invoke(PROMPT))
            if not message.content:
                msg = f"with_fallbacks gave an empty answer for {label}"
                raise RuntimeError(msg)
            return label, elapsed

        jobs = [label for label, _ in faults for _ in range(sizes.samples)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            for label, elapsed in pool.map(sample, jobs):
                seconds[label].append(elapsed)
    attempts = {label: 1 + counter.retries.get(label, 0) / sizes.samples for label, _ in faults}
    return seconds, attempts


def run(quick: bool = False, *, tiny: bool = False) -> dict[str, Any]:
    """Measure failover latency for each fault: router vs with_fallbacks vs direct."""
    from langchain_cerebras_router.testing import Emulator

    sizes = _sizes(quick, tiny)
    faults = _faults(sizes)
    rows: list[dict[str, Any]] = []
    targets: list[Target] = []
    with (
        Emulator() as emu,
        quiet_logging("langchain_cerebras_router", "langchain_core", "httpx"),
    ):
        healthy = _healthy(emu)
        router_results = {
            label: _router_samples(emu, healthy, spec, sizes) for label, spec in faults
        }
        fallback_seconds, fallback_attempts = _fallback_samples(emu, healthy, faults, sizes)
    for label, _spec in faults:
        measured = router_results[label]
        direct = percentile(measured[DIRECT][0], 0.5) * 1e3
        contenders: list[tuple[str, list[float], float | None]] = [
            (DIRECT, measured[DIRECT][0], None),
            (ROUTER, measured[ROUTER][0], percentile(measured[ROUTER][1], 0.5)),
            (ROUTER_DOWN, measured[ROUTER_DOWN][0], percentile(measured[ROUTER_DOWN][1], 0.5)),
            (FALLBACKS, fallback_seconds[label], fallback_attempts[label]),
        ]
        for contender, seconds, attempts in contenders:
            median = percentile(seconds, 0.5) * 1e3
            rows.append(
                {
                    "fault": label,
                    "contender": contender,
                    "samples": len(seconds),
                    "median_ms": median,
                    "added_ms": median - direct,
                    "vs_direct": median / direct,
                    "faulty_route_calls": attempts,
                }
            )
        router_added = percentile(measured[ROUTER][0], 0.5) * 1e3 - direct
        if label == STALL:
            targets.append(
                Target(
                    "d.stall",
                    f"router failover on a stall, ms added beyond the "
                    f"{sizes.router_timeout:g} s attempt timeout + direct call",
                    router_added - sizes.router_timeout * 1e3,
                    "<",
                    50.0,
                    unit="ms",
                )
            )
        else:
            slug = label.split(" (")[0].replace(" ", "_")
            targets.append(
                Target(
                    f"d.{slug}",
                    f"router failover on {label}: ms added over the direct call",
                    router_added,
                    "<",
                    50.0,
                    unit="ms",
                )
            )
    return BenchmarkResult(
        name="failover",
        title="(d) failover latency, first route failing, second healthy",
        columns=[
            "fault",
            "contender",
            "samples",
            "median_ms",
            "added_ms",
            "vs_direct",
            "faulty_route_calls",
        ],
        rows=rows,
        targets=targets,
        charts=[
            Chart(
                "median latency of one call (log scale)",
                y="median_ms",
                ylabel="ms (median)",
                x=("fault", "contender"),
                group="contender",
                log=True,
            )
        ],
        params={
            "samples": sizes.samples,
            "router_timeout_s": sizes.router_timeout,
            "with_fallbacks_stall_timeout_s": sizes.fallback_stall_timeout,
            "retry_after_s": sizes.retry_after,
            "stall_fault": "stall:0:30",
            "emulator": "in-process, no added latency",
        },
        notes=[
            "faulty_route_calls: HTTP attempts on the failing route per call (SDK retries "
            "included; 0 when the router skipped it).",
            f"with_fallbacks' primary has timeout={sizes.fallback_stall_timeout:g} s in the "
            "stall case only (LangChain's default is no timeout); otherwise SDK defaults.",
            "with_fallbacks is stateless: the next call while the route is down pays the "
            "same again.",
        ],
    ).to_dict()
