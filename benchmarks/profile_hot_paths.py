"""Profile the hot paths behind the benchmarks' missed targets (cProfile + GC statistics).

``python -m benchmarks.profile_hot_paths [PATH ...] [--calls 300] [--tokens 4000]
[--top 20]`` runs each path against an emulator in its own process and prints, per
path: wall time per call or chunk, the collector's work (collections per generation and
the time they took, from ``gc.callbacks``), and the functions with the most own time.
``--delta BASE OTHER`` profiles two paths instead and prints, per function, how much more
own time ``OTHER`` spends per call (or chunk) than ``BASE``: e.g. ``--delta invoke
router_invoke`` is what the router adds. cProfile sees the calling thread only and
inflates small functions about twofold: use it to rank, the benchmarks to measure.

Paths (cProfile): ``invoke``, ``ainvoke``, ``stream``, ``astream``, ``stream_short`` and
``astream_short`` (ChatCerebras), ``router_invoke``, ``router_ainvoke``, ``router_stream``,
``router_astream``, ``router_stream_short`` and ``router_astream_short``
(RoutedChatModel over the same ChatCerebras). Short streams are 24 tokens, long ones (three
per profiled run) ``--tokens``.

Measurements (no profiler, side by side, medians of ``--calls`` rounds):

* ``hop``: what the sync router's first-chunk thread hop costs. ``RoutedChatModel.stream``
  of 24 tokens with the defaults (first chunk read in the calling thread), against a
  router with ``first_token_timeout`` shorter than ``stall_timeout`` (first chunk read
  in a worker thread, for an exact bound), and ``ChatCerebras.stream`` alone; plus an
  empty ``submit`` and ``concurrent.futures.wait`` round trip.
* ``timers``: how late a 100 ms hedge timer fires on this machine, for the sync race
  (``concurrent.futures.wait``) and the async one (``asyncio.wait``), with a wait of
  exactly 100 ms and one a fraction of a millisecond shorter (the router waits
  ``hedge_at - now``).

The findings are kept in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import cProfile
import gc
import io
import pstats
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from benchmarks.common import chat_cerebras, chat_groq, emulator_process, interleave

PROFILED = (
    "invoke",
    "ainvoke",
    "stream",
    "astream",
    "stream_short",
    "astream_short",
    "router_invoke",
    "router_ainvoke",
    "router_stream",
    "router_astream",
    "router_stream_short",
    "router_astream_short",
)
MEASURED = ("hop", "timers")
PATHS = PROFILED + MEASURED
SHORT_TOKENS = 24


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


def _workload(
    path: str, url: str, calls: int, tokens: int, streams: int = 3
) -> tuple[Callable[[], int], str]:
    """A callable running the path once per call (returns chunks or calls), and its unit."""
    from langchain_cerebras_router import RoutedChatModel

    chat = chat_cerebras(url, max_tokens=tokens)
    router = RoutedChatModel(
        routes={"cerebras": chat_cerebras(url, max_tokens=tokens), "groq": chat_groq(url)},
        priority="ultimate_speed",
    )
    short = {"max_tokens": SHORT_TOKENS}

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
        return lambda: sum(1 for _ in range(streams) for c in model.stream("story") if c.content)

    def stream_short(model: Any) -> Callable[[], int]:
        def call() -> int:
            for _ in range(calls):
                for _chunk in model.stream("hi", **short):
                    pass
            return calls

        return call

    def astream(model: Any) -> Callable[[], int]:
        async def drain() -> int:
            chunks = 0
            for _ in range(streams):
                chunks += sum([1 async for c in model.astream("story") if c.content])
            return chunks

        return lambda: asyncio.run(drain())

    def astream_short(model: Any) -> Callable[[], int]:
        async def many() -> int:
            for _ in range(calls):
                async for _chunk in model.astream("hi", **short):
                    pass
            return calls

        return lambda: asyncio.run(many())

    table: dict[str, tuple[Callable[[], int], str]] = {
        "invoke": (invoke(chat), "call"),
        "ainvoke": (ainvoke(chat), "call"),
        "stream": (stream(chat), "chunk"),
        "astream": (astream(chat), "chunk"),
        "stream_short": (stream_short(chat), "call"),
        "astream_short": (astream_short(chat), "call"),
        "router_invoke": (invoke(router), "call"),
        "router_ainvoke": (ainvoke(router), "call"),
        "router_stream": (stream(router), "chunk"),
        "router_astream": (astream(router), "chunk"),
        "router_stream_short": (stream_short(router), "call"),
        "router_astream_short": (astream_short(router), "call"),
    }
    return table[path]


def _profiled(work: Callable[[], int]) -> tuple[cProfile.Profile, int]:
    profiler = cProfile.Profile()
    profiler.enable()
    units = work()
    profiler.disable()
    return profiler, units


def profile(path: str, url: str, *, calls: int, tokens: int, top: int, sort: str) -> str:
    """Profile one path; returns the report text."""
    work, unit = _workload(path, url, calls, tokens)
    work()  # warm-up: clients, connections, caches
    gc.collect()
    with _metered() as meter:
        started = time.perf_counter()
        units = work()
        elapsed = time.perf_counter() - started
    profiler, _ = _profiled(work)
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


def _own_times(profiler: cProfile.Profile) -> dict[tuple[str, int, str], tuple[int, float, float]]:
    """Per function: calls, own seconds, cumulative seconds."""
    stats = pstats.Stats(profiler)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]]
    raw = stats.stats  # type: ignore[attr-defined]
    return {key: (calls, own, cumulative) for key, (_, calls, own, cumulative, _) in raw.items()}


def _where(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    for marker in ("site-packages/", "/work/main/"):
        filename = filename.split(marker)[-1]
    return f"{filename}:{line}({name})"


#: Builtins that wait on the OS (sockets, the selector, locks): their time is I/O, not code.
_WAITS = ("'send'", "'sendall'", "'recv'", "'recv_into'", "'poll'", "'select'", "'acquire'")


def _is_wait(key: tuple[str, int, str]) -> bool:
    return key[0] == "~" and any(name in key[2] for name in _WAITS)


def delta(base: str, other: str, url: str, *, calls: int, tokens: int, top: int) -> str:
    """Per-function own time that ``other`` spends beyond ``base``, per call or chunk."""
    runs = {}
    for path in (base, other):
        work, unit = _workload(path, url, calls, tokens)
        work()
        gc.collect()
        runs[path] = _profiled(work)
    (base_run, base_units), (other_run, other_units) = runs[base], runs[other]
    before, after = _own_times(base_run), _own_times(other_run)
    rows = []
    for key in before.keys() | after.keys():
        b_calls, b_own, b_cum = before.get(key, (0, 0.0, 0.0))
        a_calls, a_own, a_cum = after.get(key, (0, 0.0, 0.0))
        own = (a_own / other_units - b_own / base_units) * 1e6
        cumulative = (a_cum / other_units - b_cum / base_units) * 1e6
        count = a_calls / other_units - b_calls / base_units
        rows.append((own, cumulative, count, key))
    rows.sort(key=lambda row: -abs(row[0]))
    waits = sum(own for own, _, _, key in rows if _is_wait(key))
    code = sum(own for own, _, _, key in rows if not _is_wait(key))
    rows = [row for row in rows if not _is_wait(row[3])]
    lines = [
        f"## delta {other} - {base}: {code:+.1f} us of profiled own time per {unit} in code, "
        f"{waits:+.1f} us in I/O and waits (socket, selector, lock: left out of the ranking)",
        f"{'own us':>8} {'cum us':>9} {'calls':>7}  function",
    ]
    lines += [
        f"{own:+8.1f} {cumulative:+9.1f} {count:+7.1f}  {_where(key)}"
        for own, cumulative, count, key in rows[:top]
    ]
    return "\n".join(lines)


def _median_us(seconds: Sequence[float]) -> float:
    return statistics.median(seconds) * 1e6


def measure_hop(url: str, *, calls: int) -> str:
    """The sync router's first-chunk thread hop, on real 24-token streams, in us."""
    from langchain_cerebras_router import RoutedChatModel

    chat = chat_cerebras(url)

    def router(**kwargs: Any) -> Any:
        return RoutedChatModel(
            routes={"cerebras": chat_cerebras(url), "groq": chat_groq(url)},
            priority="ultimate_speed",
            **kwargs,
        )

    inline = router()
    # A first-token bound shorter than the stall timeout is enforced by a worker thread.
    hopping = router(first_token_timeout=59.0, stall_timeout=60.0)

    def drain(model: Any) -> None:
        for _chunk in model.stream("hi", max_tokens=SHORT_TOKENS):
            pass

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=64)

    def empty() -> None:
        future = pool.submit(int)
        concurrent.futures.wait(
            [future], timeout=60.0, return_when=concurrent.futures.FIRST_COMPLETED
        )

    def nothing() -> None:
        return None

    try:
        streams = interleave(
            {
                "ChatCerebras": lambda: drain(chat),
                "router (first chunk inline)": lambda: drain(inline),
                "router, first_token_timeout (hop)": lambda: drain(hopping),
            },
            iterations=calls,
            warmup=20,
        )
        trips = interleave({"empty": empty, "nothing": nothing}, iterations=calls, warmup=20)
    finally:
        pool.shutdown()
    alone = _median_us(streams["ChatCerebras"])
    lines = [
        f"## hop: {SHORT_TOKENS}-token streams, {calls} each, round-robin (medians)",
    ]
    for name, seconds in streams.items():
        median = _median_us(seconds)
        lines.append(
            f"{name + ':':<36} {median:8.1f} us  (+{median - alone:.1f} us, "
            f"{median / alone:.3f}x ChatCerebras)"
        )
    hop = _median_us(streams["router, first_token_timeout (hop)"]) - _median_us(
        streams["router (first chunk inline)"]
    )
    trip = _median_us(trips["empty"]) - _median_us(trips["nothing"])
    lines += [
        f"the hop: {hop:.1f} us per stream",
        f"an empty submit + wait round trip: {trip:.1f} us (no I/O in the worker)",
    ]
    return "\n".join(lines)


def measure_timers(*, samples: int) -> str:
    """How late a 100 ms hedge timer fires: sync race vs async race, in ms."""
    pending: concurrent.futures.Future[None] = concurrent.futures.Future()
    lines = [f"## timers: lateness of a 100 ms wait with nothing else to do ({samples} each)"]
    for wait in (0.1, 0.0995):
        late = []
        for _ in range(samples):
            started = time.perf_counter()
            concurrent.futures.wait([pending], timeout=wait)
            late.append(time.perf_counter() - started - wait)
            time.sleep(0.02)
        lines.append(_lateness("concurrent.futures.wait", wait, late))

    async def asynchronous() -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for wait in (0.1, 0.0995):
            late = []
            for _ in range(samples):
                started = time.perf_counter()
                await asyncio.wait([future], timeout=wait)
                late.append(time.perf_counter() - started - wait)
                await asyncio.sleep(0.02)
            lines.append(_lateness("asyncio.wait", wait, late))

    asyncio.run(asynchronous())
    return "\n".join(lines)


def _lateness(what: str, wait: float, late: Sequence[float]) -> str:
    return (
        f"{what + f'(timeout={wait:g})':<40} late by {statistics.median(late) * 1e3:.3f} ms "
        f"median, {max(late) * 1e3:.3f} ms max"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Profile or measure the chosen paths and print the reports."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_hot_paths")
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help=f"any of {', '.join(PATHS)} (default: profiled ones)",
    )
    parser.add_argument("--calls", type=int, default=300, help="calls per invoke path")
    parser.add_argument("--tokens", type=int, default=4000, help="tokens per streamed answer")
    parser.add_argument("--top", type=int, default=20, help="functions to list")
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    parser.add_argument(
        "--delta",
        nargs=2,
        metavar=("BASE", "OTHER"),
        choices=PROFILED,
        help="print what OTHER spends beyond BASE, per function, instead of the paths",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.paths) - set(PATHS))
    if unknown:
        parser.error(f"unknown path(s) {', '.join(unknown)}; choose from {', '.join(PATHS)}")
    paths = args.paths or list(PROFILED)
    with emulator_process(answer_tokens=args.tokens) as url:
        if args.delta:
            base, other = args.delta
            print(delta(base, other, url, calls=args.calls, tokens=args.tokens, top=args.top))
            return 0
        for path in paths:
            if path == "hop":
                print(measure_hop(url, calls=args.calls))
            elif path == "timers":
                print(measure_timers(samples=min(args.calls, 30)))
            else:
                print(
                    profile(
                        path,
                        url,
                        calls=args.calls,
                        tokens=args.tokens,
                        top=args.top,
                        sort=args.sort,
                    )
                )
            print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
