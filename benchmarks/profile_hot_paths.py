"""Profile the hot paths behind the benchmarks' missed targets (cProfile + GC statistics).

``python -m benchmarks.profile_hot_paths [invoke ainvoke stream astream router_invoke
router_astream] [--calls 300] [--tokens 4000] [--top 20]`` runs each path against an
emulator in its own process and prints, per path: wall time per call or chunk, the
collector's work (collections per generation and the time they took, from
``gc.callbacks``), and the functions with the most own time. The findings are kept in
``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import pstats
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from benchmarks.common import chat_cerebras, chat_groq, emulator_process

PATHS = ("invoke", "ainvoke", "stream", "astream", "router_invoke", "router_astream")


class GcMeter:
    """Collections and time spent collecting, per generation (via ``gc.callbacks``)."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            generation = info["generation"]
            self.count[generation] += 1
            self.seconds[generation] += time.perf_counter() - self._started

    def summary(self) -> str:
        parts = [
            f"gen{g}: {self.count[g]} collections, {self.seconds[g] * 1e3:.1f} ms" for g in range(3)
        ]
        return "; ".join(parts)


@contextmanager
def _metered() -> Iterator[GcMeter]:
    meter = GcMeter()
    gc.callbacks.append(meter)
    try:
        yield meter
    finally:
        gc.callbacks.remove(meter)


def _workload(path: str, url: str, calls: int, tokens: int) -> tuple[Callable[[], int], str]:
    """A callable running the path once per call (returns chunks or 1), and its unit."""
    from langchain_cerebras_router import RoutedChatModel

    chat = chat_cerebras(url, max_tokens=tokens)
    router = RoutedChatModel(
        routes={"cerebras": chat_cerebras(url, max_tokens=tokens), "groq": chat_groq(url)},
        priority="ultimate_speed",
    )
    short = {"max_tokens": 24}

    def invoke(model: Any) -> Callable[[], int]:
        def call() -> int:
            for _ in range(calls):
                model.invoke("hi", **short)
            return calls

        return call

    def ainvoke(model: Any) -> Callable[[], int]:
        async def many() -> int:
            for _ in range(calls):
                await model.ainvoke("hi", **short)
            return calls

        return lambda: asyncio.run(many())

    def stream(model: Any) -> Callable[[], int]:
        return lambda: sum(1 for c in model.stream("story") if c.content)

    def astream(model: Any) -> Callable[[], int]:
        async def drain() -> int:
            return sum([1 async for c in model.astream("story") if c.content])

        return lambda: asyncio.run(drain())

    table: dict[str, tuple[Callable[[], int], str]] = {
        "invoke": (invoke(chat), "call"),
        "ainvoke": (ainvoke(chat), "call"),
        "stream": (stream(chat), "chunk"),
        "astream": (astream(chat), "chunk"),
        "router_invoke": (invoke(router), "call"),
        "router_astream": (astream(router), "chunk"),
    }
    return table[path]


def profile(path: str, url: str, *, calls: int, tokens: int, top: int, sort: str) -> str:
    """Profile one path; returns the report text."""
    work, unit = _workload(path, url, calls, tokens)
    work()  # warm-up: clients, connections, caches
    gc.collect()
    with _metered() as meter:
        started = time.perf_counter()
        units = work()
        elapsed = time.perf_counter() - started
    profiler = cProfile.Profile()
    profiler.enable()
    work()
    profiler.disable()
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer)
    stats.sort_stats(sort).print_stats(top)
    lines = buffer.getvalue().splitlines()
    body = [line for line in lines if line.strip()][2:]
    return "\n".join(
        [
            f"## {path}: {elapsed / units * 1e6:.1f} us per {unit} ({units} {unit}s, unprofiled)",
            f"collector during that run: {meter.summary()}",
            *body,
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Profile the chosen paths and print the reports."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_hot_paths")
    parser.add_argument("paths", nargs="*", choices=[*PATHS, []], default=list(PATHS))
    parser.add_argument("--calls", type=int, default=300, help="calls per invoke path")
    parser.add_argument("--tokens", type=int, default=4000, help="tokens per streamed answer")
    parser.add_argument("--top", type=int, default=20, help="functions to list")
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    args = parser.parse_args(argv)
    with emulator_process(answer_tokens=args.tokens) as url:
        for path in args.paths or PATHS:
            print(
                profile(
                    path, url, calls=args.calls, tokens=args.tokens, top=args.top, sort=args.sort
                )
            )
            print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
