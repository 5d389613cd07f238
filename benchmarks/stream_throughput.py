"""(b) Stream throughput: content chunks per second for a 4,000-token answer.

The emulator (its own process) streams one token per chunk as fast as it can, so the
client is the bottleneck: chunks/s is the rate at which each client turns SSE events into
what it yields. Contenders: the raw SDK (sync and async), ``ChatCerebras.stream`` /
``astream`` (unobserved, and with a no-op callback handler, which takes
``BaseChatModel.stream``'s path), ``langchain-cerebras`` ``stream`` / ``astream`` and the
LangChain floor (a chat model with no I/O), run round-robin. Throughput is all chunks
over all the time of the runs, once with the default collector and once after
``gc.freeze()`` (see :func:`benchmarks.common.frozen_gc`).

Target: ChatCerebras chunks/s >= 0.8x the raw SDK's (sync vs sync, async vs async).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from benchmarks.common import (
    API_KEY,
    CEREBRAS_MODEL,
    BenchmarkResult,
    Chart,
    Target,
    chat_cerebras,
    emulator_process,
    floor_chat_model,
    frozen_gc,
    langchain_cerebras_chat,
    run_async,
)

RAW = "raw cerebras-cloud-sdk"
OURS = "ChatCerebras (this package)"
OURS_OBSERVED = "ChatCerebras with a callback handler"
LANGCHAIN_CEREBRAS = "langchain-cerebras"
FLOOR = "LangChain floor (BaseChatModel, no I/O)"
PROMPT = "Write a long story"
ANSWER_TOKENS = 4000
MAX_TOKENS = 4096


def _sizes(quick: bool, tiny: bool) -> tuple[int, int]:
    """``(answer_tokens, runs per contender)``."""
    if tiny:
        return 200, 1
    if quick:
        return ANSWER_TOKENS, 2
    return ANSWER_TOKENS, 9


def _models(url: str, answer_tokens: int) -> dict[str, Any]:
    return {
        OURS: chat_cerebras(url, max_tokens=MAX_TOKENS),
        LANGCHAIN_CEREBRAS: langchain_cerebras_chat(url, max_tokens=MAX_TOKENS),
        FLOOR: floor_chat_model(chunks=answer_tokens),
    }


def _observed() -> dict[str, Any]:
    """A config with a no-op handler: what tracing or ``astream_events`` make a stream take.

    The handler runs inline (as LangSmith's tracer does): LangChain runs other sync
    handlers of an async call in a thread pool, one hand-off per event.
    """
    from langchain_core.callbacks import BaseCallbackHandler

    class NoOpHandler(BaseCallbackHandler):
        run_inline = True

    return {"callbacks": [NoOpHandler()]}


def _sync_contenders(url: str, answer_tokens: int) -> dict[str, Callable[[], int]]:
    from cerebras.cloud.sdk import Cerebras

    raw = Cerebras(api_key=API_KEY, base_url=url, warm_tcp_connection=False, max_retries=0)

    def raw_stream() -> int:
        count = 0
        stream: Any = raw.chat.completions.create(
            model=CEREBRAS_MODEL,
            messages=[{"role": "user", "content": PROMPT}],
            max_completion_tokens=MAX_TOKENS,
            stream=True,
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                count += 1
        return count

    def lc_stream(model: Any, config: Any = None) -> int:
        return sum(1 for chunk in model.stream(PROMPT, config) if chunk.content)

    contenders: dict[str, Callable[[], int]] = {RAW: raw_stream}
    for name, model in _models(url, answer_tokens).items():
        contenders[name] = functools.partial(lc_stream, model)
    contenders[OURS_OBSERVED] = functools.partial(
        lc_stream, chat_cerebras(url, max_tokens=MAX_TOKENS), _observed()
    )
    return contenders


def _async_contenders(
    url: str, answer_tokens: int
) -> tuple[dict[str, Callable[[], Awaitable[int]]], Any]:
    from cerebras.cloud.sdk import AsyncCerebras

    raw = AsyncCerebras(api_key=API_KEY, base_url=url, warm_tcp_connection=False, max_retries=0)

    async def raw_stream() -> int:
        count = 0
        stream: Any = await raw.chat.completions.create(
            model=CEREBRAS_MODEL,
            messages=[{"role": "user", "content": PROMPT}],
            max_completion_tokens=MAX_TOKENS,
            stream=True,
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                count += 1
        return count

    async def lc_astream(model: Any, config: Any = None) -> int:
        count = 0
        async for chunk in model.astream(PROMPT, config):
            if chunk.content:
                count += 1
        return count

    contenders: dict[str, Callable[[], Awaitable[int]]] = {RAW: raw_stream}
    for name, model in _models(url, answer_tokens).items():
        contenders[name] = functools.partial(lc_astream, model)
    contenders[OURS_OBSERVED] = functools.partial(
        lc_astream, chat_cerebras(url, max_tokens=MAX_TOKENS), _observed()
    )
    return contenders, raw


def _rounds(names: list[str], runs: int) -> Iterator[str]:
    for run_index in range(runs):
        shift = run_index % len(names)
        yield from names[shift:] + names[:shift]


def _measure_sync(
    contenders: dict[str, Callable[[], int]], runs: int, *, frozen: bool
) -> dict[str, list[float]]:
    """Chunks/s per run, round-robin after one untimed warm-up run each."""
    for call in contenders.values():
        call()
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    with frozen_gc(frozen):
        for name in _rounds(list(contenders), runs):
            started = time.perf_counter()
            chunks = contenders[name]()
            rates[name].append(chunks / (time.perf_counter() - started))
    return rates


async def _measure_async(
    url: str, runs: int, answer_tokens: int
) -> tuple[dict[str, list[float]], dict[str, list[float]], int]:
    """Async chunks/s per run: with the default collector, then with a frozen heap."""
    contenders, raw = _async_contenders(url, answer_tokens)
    try:
        chunks_seen = 0
        for call in contenders.values():
            chunks_seen = await call()
        both: list[dict[str, list[float]]] = []
        for frozen in (False, True):
            rates: dict[str, list[float]] = {name: [] for name in contenders}
            with frozen_gc(frozen):
                for name in _rounds(list(contenders), runs):
                    started = time.perf_counter()
                    chunks = await contenders[name]()
                    rates[name].append(chunks / (time.perf_counter() - started))
            both.append(rates)
        return both[0], both[1], chunks_seen
    finally:
        await raw.close()


def _throughput(rates: list[float]) -> float:
    """Total chunks / total time over equal-length runs: the harmonic mean of the rates.

    A full collection lands in a random run and makes per-run rates bimodal; the total
    spreads its cost over the runs instead of letting the median pick a side.
    """
    return len(rates) / sum(1.0 / rate for rate in rates)


def _rows(
    api: str, rates: dict[str, list[float]], frozen: dict[str, list[float]], chunks: int
) -> list[dict[str, Any]]:
    raw = _throughput(rates[RAW])
    raw_frozen = _throughput(frozen[RAW])
    rows = []
    for client, values in rates.items():
        median = _throughput(values)
        median_frozen = _throughput(frozen[client])
        floor = client == FLOOR
        rows.append(
            {
                "api": api,
                "client": client,
                "runs": len(values),
                "content_chunks": chunks,
                "chunks_per_s": median,
                "us_per_chunk": 1e6 / median,
                "added_us_per_chunk": 1e6 / median - (0.0 if floor else 1e6 / raw),
                "vs_raw": None if floor else median / raw,
                "chunks_per_s_gc_frozen": median_frozen,
                "vs_raw_gc_frozen": None if floor else median_frozen / raw_frozen,
            }
        )
    return rows


def _ceiling(rows: list[dict[str, Any]], api: str) -> str:
    """The best ratio a chat model on BaseChatModel.stream's path could reach."""
    by_client = {r["client"]: r for r in rows if r["api"] == api}
    raw_us = by_client[RAW]["us_per_chunk"]
    floor_us = by_client[FLOOR]["us_per_chunk"]
    raw_frozen = 1e6 / by_client[RAW]["chunks_per_s_gc_frozen"]
    floor_frozen = 1e6 / by_client[FLOOR]["chunks_per_s_gc_frozen"]
    return (
        f"{api}: BaseChatModel.stream's own per-chunk work (the floor) costs {floor_us:.1f} us "
        f"({floor_frozen:.1f} us with a frozen heap), so a chat model on that path, wrapping "
        f"the raw SDK stream as is, cannot exceed {raw_us / (raw_us + floor_us):.2f}x "
        f"({raw_frozen / (raw_frozen + floor_frozen):.2f}x) the raw SDK's chunks/s here."
    )


def run(quick: bool = False, *, tiny: bool = False) -> dict[str, Any]:
    """Measure content chunks/s of each client on one long streamed answer."""
    answer_tokens, runs = _sizes(quick, tiny)
    with emulator_process(answer_tokens=answer_tokens) as url:
        sync_contenders = _sync_contenders(url, answer_tokens)
        chunks = sync_contenders[RAW]()
        sync_rates = _measure_sync(sync_contenders, runs, frozen=False)
        sync_frozen = _measure_sync(sync_contenders, runs, frozen=True)
        async_rates, async_frozen, async_chunks = run_async(
            _measure_async(url, runs, answer_tokens)
        )
    rows = _rows("stream (sync)", sync_rates, sync_frozen, chunks) + _rows(
        "astream (async)", async_rates, async_frozen, async_chunks
    )
    by_key = {(r["api"], r["client"]): r for r in rows}
    ceilings = [_ceiling(rows, "stream (sync)"), _ceiling(rows, "astream (async)")]
    targets = [
        Target(
            "b.stream_vs_raw",
            "ChatCerebras.stream chunks/s / raw SDK sync stream chunks/s",
            by_key[("stream (sync)", OURS)]["vs_raw"],
            ">=",
            0.8,
        ),
        Target(
            "b.astream_vs_raw",
            "ChatCerebras.astream chunks/s / raw SDK async stream chunks/s",
            by_key[("astream (async)", OURS)]["vs_raw"],
            ">=",
            0.8,
        ),
    ]
    return BenchmarkResult(
        name="stream_throughput",
        title=f"(b) stream throughput, {answer_tokens:,}-token answer",
        columns=[
            "api",
            "client",
            "runs",
            "content_chunks",
            "chunks_per_s",
            "us_per_chunk",
            "added_us_per_chunk",
            "vs_raw",
            "chunks_per_s_gc_frozen",
            "vs_raw_gc_frozen",
        ],
        rows=rows,
        targets=targets,
        charts=[
            Chart(
                "content chunks per second over all runs (higher is better)",
                y="chunks_per_s",
                ylabel="content chunks / s",
                x=("api", "client"),
                group="api",
            ),
            Chart(
                "the same with gc.freeze() after start-up",
                y="chunks_per_s_gc_frozen",
                ylabel="content chunks / s",
                x=("api", "client"),
                group="api",
            ),
        ],
        params={
            "answer_tokens": answer_tokens,
            "max_completion_tokens": MAX_TOKENS,
            "runs_per_client": runs,
            "emulator": "separate process, streams as fast as it can",
        },
        notes=[
            "A content chunk is one yielded chunk with non-empty text (one token here).",
            "chunks_per_s = all content chunks / all the time over the runs (collector pauses "
            "amortised; per-run rates are in the JSON series).",
            "us_per_chunk = 1 / chunks_per_s: the client's cost per chunk, server included.",
            "*_gc_frozen: the same after gc.freeze() (start-up heap out of the collector's "
            "reach); the gap to the default figures is full collections triggered by the "
            "chunks a LangChain stream keeps until its end.",
            "The LangChain floor is a BaseChatModel yielding the same number of chunks with no "
            "I/O and no parsing: the cost BaseChatModel.stream's machinery adds per chunk "
            "(callbacks, and keeping every chunk to merge them for on_llm_end).",
            "ChatCerebras streams that no callback handler observes skip that machinery and "
            "keep no chunk (langchain_cerebras_router.lean_streaming); with a handler attached "
            "(LangSmith tracing, astream_events, LangGraph's messages mode) they take "
            "BaseChatModel's path: the 'with a callback handler' rows.",
            *ceilings,
        ],
        series={
            f"{api} {client}": values
            for api, rates in (
                ("stream", sync_rates),
                ("astream", async_rates),
                ("stream gc-frozen", sync_frozen),
                ("astream gc-frozen", async_frozen),
            )
            for client, values in rates.items()
        },
    ).to_dict()
