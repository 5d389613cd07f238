"""The router's own per-call cost, without I/O: a fake Cerebras-like member, direct vs routed.

``python -m benchmarks.router_bookkeeping [--calls 3000]`` calls one in-memory member
(it reports ``ls_provider="cerebras"``, answers with Cerebras-style rate-limit headers in
``response_metadata`` and streams 24 chunks) directly and through a ``RoutedChatModel``
over two such members, and prints the medians and the difference per API. With no
socket in the way, the difference is the router's bookkeeping alone (plan, health,
rate limits, monitor, explanation): the numbers quoted in docs/benchmarks.md, section (c).
A measurement tool, not a target: ``make bench`` measures (c) over real HTTP.

``--opcodes`` counts instead the bytecodes the package itself executes per call
(``sys.settrace`` with opcode events, one call after a warm-up), direct and routed: a
deterministic measure of how much Python the router runs, which is what its cost after a
real request (on cold caches) follows.

``--functions API`` counts every Python bytecode of one call (LangChain's and pydantic's
too) per function, direct and routed, and lists the functions the routed call runs more
bytecodes in, with how many distinct functions each call runs: where the router's work
is, deterministically (what it costs with I/O is measured in docs/benchmarks.md (c)).

``--phases`` times the router's own steps *with* I/O: the bundled emulator in its own
process, a real ChatCerebras route, each step wrapped in a timer for the routed calls only
(a wrapper adds ~0.3 us), routed and direct calls alternating. Steps nest: a
stream's ``OpenedStream.closing_chunk`` includes ``CallPlan.succeeded`` and ``explanation``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from types import FrameType
from typing import Any

from langchain_core.language_models import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from langchain_cerebras_router.lean_streaming import LeanStreamingChatModel

RATE_LIMIT_HEADERS = {
    "x-ratelimit-limit-requests-day": "14400",
    "x-ratelimit-remaining-requests-day": "14399",
    "x-ratelimit-reset-requests-day": "33011.38",
    "x-ratelimit-limit-tokens-minute": "60000",
    "x-ratelimit-remaining-tokens-minute": "59000",
    "x-ratelimit-reset-tokens-minute": "11.38",
}
FINAL_METADATA = {
    "model_name": "gpt-oss-120b",
    "finish_reason": "stop",
    "rate_limits": RATE_LIMIT_HEADERS,
}
ROUNDS = 10


class FakeCerebras(LeanStreamingChatModel):
    """Answers at once, like ChatCerebras would without the network."""

    @property
    def _llm_type(self) -> str:
        return "fake-cerebras"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return LangSmithParams(
            ls_provider="cerebras", ls_model_type="chat", ls_model_name="gpt-oss-120b"
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = AIMessage(
            "hello there",
            response_metadata=dict(FINAL_METADATA),
            usage_metadata={"input_tokens": 5, "output_tokens": 3, "total_tokens": 8},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._generate(messages, stop, **kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for _ in range(24):
            yield ChatGenerationChunk(message=AIMessageChunk(content="x"))
        final = AIMessageChunk(content="", response_metadata=dict(FINAL_METADATA))
        yield ChatGenerationChunk(message=final)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._stream(messages, stop, **kwargs):
            yield chunk


def _timed(call: Callable[[], object], count: int) -> list[float]:
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return seconds


async def _atimed(call: Callable[[], Awaitable[object]], count: int) -> list[float]:
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        seconds.append(time.perf_counter() - started)
    return seconds


def measure(calls: int) -> list[tuple[str, float, float]]:
    """``(api, direct median us, routed median us)`` per API, rounds alternating."""
    from langchain_cerebras_router import RoutedChatModel

    direct = FakeCerebras()
    routed = RoutedChatModel(
        routes={"cerebras": FakeCerebras(), "groq": FakeCerebras()}, priority="ultimate_speed"
    )

    def invoke(model: Any) -> Callable[[], object]:
        return lambda: model.invoke("hi", max_tokens=24)

    def stream(model: Any) -> Callable[[], object]:
        return lambda: sum(1 for _ in model.stream("hi", max_tokens=24))

    def ainvoke(model: Any) -> Callable[[], Awaitable[object]]:
        return lambda: model.ainvoke("hi", max_tokens=24)

    def astream(model: Any) -> Callable[[], Awaitable[object]]:
        async def drain() -> int:
            return len([chunk async for chunk in model.astream("hi", max_tokens=24)])

        return drain

    rows = []
    per_round = max(1, calls // ROUNDS)
    for api, sync_maker, async_maker in (
        ("invoke", invoke, None),
        ("stream", stream, None),
        ("ainvoke", None, ainvoke),
        ("astream", None, astream),
    ):
        samples: dict[str, list[float]] = {"direct": [], "routed": []}
        for index in range(ROUNDS + 1):  # the first round warms up
            for name, model in (("direct", direct), ("routed", routed)):
                if sync_maker is not None:
                    seconds = _timed(sync_maker(model), per_round)
                else:
                    assert async_maker is not None
                    seconds = asyncio.run(_atimed(async_maker(model), per_round))
                if index:
                    samples[name] += seconds
        rows.append(
            (
                api,
                statistics.median(samples["direct"]) * 1e6,
                statistics.median(samples["routed"]) * 1e6,
            )
        )
    return rows


def _opcodes(
    call: Callable[[], object], name_of: Callable[[FrameType], str | None]
) -> Counter[str]:
    """Bytecodes executed during one ``call()``, per ``name_of(frame)`` (``None``: not counted)."""
    counts: Counter[str] = Counter()

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        name = name_of(frame)
        if name is None:
            return None
        frame.f_trace_opcodes = True

        def local(frame: FrameType, event: str, arg: object) -> Any:
            if event == "opcode":
                counts[name] += 1
            return local

        return local

    sys.settrace(tracer)
    try:
        call()
    finally:
        sys.settrace(None)
    return counts


def _in_package(frame: FrameType) -> str | None:
    """Frames of ``langchain_cerebras_router``'s own source files, under one name."""
    return "package" if "langchain_cerebras_router" in frame.f_code.co_filename else None


def _function_name(frame: FrameType) -> str:
    """``module:qualified name`` of a frame's function."""
    code = frame.f_code
    qualname = code.co_qualname
    if qualname.startswith("__create_fn__") and "self" in frame.f_locals:
        # A dataclass's generated method: named after its class, not its factory.
        qualname = f"{type(frame.f_locals['self']).__qualname__}.{code.co_name}"
    return f"{frame.f_globals.get('__name__', code.co_filename)}:{qualname}"


_SYNC_CALLS: dict[str, Callable[[Any], object]] = {
    "invoke": lambda model: model.invoke("hi", max_tokens=24),
    "stream": lambda model: sum(1 for _ in model.stream("hi", max_tokens=24)),
}


def _direct_and_routed_opcodes(
    api: str, name_of: Callable[[FrameType], str | None]
) -> tuple[Counter[str], Counter[str]]:
    """Bytecodes of one direct and one routed ``api`` call, each after 20 warm-up calls."""
    from langchain_cerebras_router import RoutedChatModel

    direct = FakeCerebras()
    routed = RoutedChatModel(
        routes={"cerebras": FakeCerebras(), "groq": FakeCerebras()}, priority="ultimate_speed"
    )
    call = _SYNC_CALLS[api]
    counts = []
    for model in (direct, routed):
        for _ in range(20):
            call(model)
        counts.append(_opcodes(functools.partial(call, model), name_of))
    return counts[0], counts[1]


def count_opcodes_by_function(api: str) -> tuple[Counter[str], Counter[str]]:
    """Every bytecode of one direct and one routed ``api`` call, per function."""
    return _direct_and_routed_opcodes(api, _function_name)


def count_opcodes() -> list[tuple[str, int, int]]:
    """``(api, direct bytecodes, routed bytecodes)`` in the package, per sync API."""
    rows = []
    for api in _SYNC_CALLS:
        direct, routed = _direct_and_routed_opcodes(api, _in_package)
        rows.append((api, direct.total(), routed.total()))
    return rows


#: (module, class, method) of the router's steps timed by ``--phases``.
PHASES = (
    ("langchain_cerebras_router.router", "RoutedChatModel", "_context"),
    ("langchain_cerebras_router.failover", "CallPlan", "next_step"),
    ("langchain_cerebras_router.route_execution", "CallContext", "kwargs_for_attempt"),
    ("langchain_cerebras_router.failover", "CallPlan", "succeeded"),
    ("langchain_cerebras_router.health", "InMemoryHealthStore", "record_success"),
    ("langchain_cerebras_router.metrics", "SpeedMonitor", "record_attempt"),
    ("langchain_cerebras_router.failover", "CallPlan", "explanation"),
    ("langchain_cerebras_router.stream_execution", "OpenedStream", "closing_chunk"),
    ("langchain_cerebras_router.stream_execution", "OpenedStream", "take"),
)


def measure_phases(calls: int, api: str = "stream") -> tuple[float, list[tuple[str, float]]]:
    """``(us per routed call, [(step, us per call)])``, with I/O (see the module docstring)."""
    import importlib

    from benchmarks.common import chat_cerebras, chat_groq, emulator_process
    from langchain_cerebras_router import RoutedChatModel

    spent: dict[str, float] = {}
    timing = False  # only the routed calls are timed
    originals = []

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not timing:
                return function(*args, **kwargs)
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

        return wrapper

    for module_name, owner_name, name in PHASES:
        owner = getattr(importlib.import_module(module_name), owner_name)
        original = owner.__dict__[name]
        originals.append((owner, name, original))
        setattr(owner, name, timed(f"{owner_name}.{name}", original))
    try:
        with emulator_process(answer_tokens=200) as url:
            direct = chat_cerebras(url)
            routed = RoutedChatModel(
                routes={"cerebras": chat_cerebras(url), "groq": chat_groq(url)},
                priority="ultimate_speed",
            )

            def call(model: Any) -> object:
                if api == "invoke":
                    return model.invoke("hi", max_tokens=24)
                return sum(1 for _ in model.stream("hi", max_tokens=24))

            for _ in range(20):
                call(direct)
                call(routed)
            total = 0.0
            for _ in range(calls):
                call(direct)
                timing = True
                started = time.perf_counter()
                call(routed)
                total += time.perf_counter() - started
                timing = False
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
    ranked = sorted(spent.items(), key=lambda item: -item[1])
    return total / calls * 1e6, [(name, seconds / calls * 1e6) for name, seconds in ranked]


def main(argv: Sequence[str] | None = None) -> int:
    """Print the router's added cost per API, without I/O."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.router_bookkeeping")
    parser.add_argument("--calls", type=int, default=3000, help="calls per API and client")
    parser.add_argument(
        "--opcodes", action="store_true", help="count the package's bytecodes per call instead"
    )
    parser.add_argument(
        "--functions",
        choices=("invoke", "stream"),
        help="count every bytecode of one call of this API per function instead",
    )
    parser.add_argument("--top", type=int, default=30, help="functions listed by --functions")
    parser.add_argument(
        "--phases",
        choices=("invoke", "stream"),
        help="time the router's steps with I/O (emulator process) for this API instead",
    )
    args = parser.parse_args(argv)
    if args.phases:
        total, steps = measure_phases(args.calls, args.phases)
        print(f"routed {args.phases} with I/O: {total:.1f} us per call (means of {args.calls})")
        for name, us in steps:
            print(f"{us:8.2f} us  {name}")
        return 0
    if args.functions:
        direct, routed = count_opcodes_by_function(args.functions)
        added = Counter(routed)
        added.subtract(direct)
        print(
            f"{args.functions}: bytecodes direct {direct.total()}, routed {routed.total()} "
            f"(added {routed.total() - direct.total():+d}); distinct functions direct "
            f"{len(direct)}, routed {len(routed)} (added {len(routed) - len(direct):+d})"
        )
        print(" added  routed  function")
        ranked = sorted(added.items(), key=lambda item: (-abs(item[1]), item[0]))
        for name, count in [item for item in ranked if item[1]][: args.top]:
            print(f"{count:+6d}  {routed[name]:6d}  {name}")
        return 0
    if args.opcodes:
        print("package bytecodes executed per call (one call after 20 warm-up calls)")
        for api, alone, through in count_opcodes():
            print(f"{api:8} direct {alone:7d}  routed {through:7d}  added {through - alone:+6d}")
        return 0
    print(f"router bookkeeping, no I/O, medians of {args.calls} calls each (us)")
    for api, direct, routed in measure(args.calls):
        print(f"{api:8} direct {direct:7.1f}  routed {routed:7.1f}  added {routed - direct:+6.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
