"""(a) Per-call overhead: raw SDK vs ChatCerebras vs langchain-cerebras vs ChatGroq.

Every contender calls the same emulator (its own process, no added latency, a 24-token
answer), round-robin per iteration, so the difference between two medians is the client
code each one runs per call. Ratios are to the raw ``cerebras-cloud-sdk`` call.

Targets: ``ChatCerebras.invoke`` / ``ainvoke`` median <= 1.10x the raw SDK, and faster
than ``langchain-cerebras``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks.common import (
    API_KEY,
    CEREBRAS_MODEL,
    GROQ_MODEL,
    BenchmarkResult,
    Chart,
    Target,
    ainterleave,
    chat_cerebras,
    chat_groq,
    emulator_process,
    floor_chat_model,
    interleave,
    langchain_cerebras_chat,
    run_async,
    summarize,
)

RAW = "raw cerebras-cloud-sdk"
OURS = "ChatCerebras (this package)"
LANGCHAIN_CEREBRAS = "langchain-cerebras"
GROQ = "langchain-groq ChatGroq"
FLOOR = "LangChain floor (BaseChatModel, no I/O)"
PROMPT = "Say hello"


def _sizes(quick: bool, tiny: bool) -> tuple[int, int]:
    """``(iterations, warmup)``."""
    if tiny:
        return 3, 1
    if quick:
        return 30, 5
    return 500, 20


def _models(url: str) -> dict[str, Any]:
    return {
        OURS: chat_cerebras(url),
        LANGCHAIN_CEREBRAS: langchain_cerebras_chat(url),
        GROQ: chat_groq(url),  # the emulator's Groq paths
        FLOOR: floor_chat_model(),
    }


def _sync_contenders(url: str) -> dict[str, Callable[[], object]]:
    from cerebras.cloud.sdk import Cerebras

    raw = Cerebras(api_key=API_KEY, base_url=url, warm_tcp_connection=False, max_retries=0)
    messages: Any = [{"role": "user", "content": PROMPT}]

    def raw_call() -> object:
        return raw.chat.completions.create(model=CEREBRAS_MODEL, messages=messages)

    contenders: dict[str, Callable[[], object]] = {RAW: raw_call}
    for name, model in _models(url).items():
        contenders[name] = functools.partial(model.invoke, PROMPT)
    return contenders


async def _async_samples(url: str, iterations: int, warmup: int) -> dict[str, list[float]]:
    from cerebras.cloud.sdk import AsyncCerebras

    raw = AsyncCerebras(api_key=API_KEY, base_url=url, warm_tcp_connection=False, max_retries=0)
    messages: Any = [{"role": "user", "content": PROMPT}]

    def raw_call() -> Awaitable[object]:
        return raw.chat.completions.create(model=CEREBRAS_MODEL, messages=messages)

    contenders: dict[str, Callable[[], Awaitable[object]]] = {RAW: raw_call}
    for name, model in _models(url).items():
        contenders[name] = functools.partial(model.ainvoke, PROMPT)
    try:
        return await ainterleave(contenders, iterations=iterations, warmup=warmup)
    finally:
        await raw.close()


def _rows(api: str, samples: dict[str, list[float]]) -> list[dict[str, Any]]:
    raw = summarize(samples[RAW])
    rows = []
    for client, seconds in samples.items():
        stats = summarize(seconds)
        floor = client == FLOOR
        rows.append(
            {
                "api": api,
                "client": client,
                "calls": len(seconds),
                "median_ms": stats["median_ms"],
                "p99_ms": stats["p99_ms"],
                "added_us": (stats["median_ms"] - (0.0 if floor else raw["median_ms"])) * 1e3,
                "vs_raw_median": None if floor else stats["median_ms"] / raw["median_ms"],
                "vs_raw_p99": None if floor else stats["p99_ms"] / raw["p99_ms"],
            }
        )
    return rows


def run(quick: bool = False, *, tiny: bool = False) -> dict[str, Any]:
    """Measure sync and async per-call latency of the four clients, side by side."""
    iterations, warmup = _sizes(quick, tiny)
    with emulator_process() as url:
        sync_samples = interleave(_sync_contenders(url), iterations=iterations, warmup=warmup)
        async_samples = run_async(_async_samples(url, iterations, warmup))
    rows = _rows("invoke", sync_samples) + _rows("ainvoke", async_samples)
    by_key = {(r["api"], r["client"]): r for r in rows}
    ceilings = []
    for api in ("invoke", "ainvoke"):
        floor_us = by_key[(api, FLOOR)]["added_us"]
        raw_us = by_key[(api, RAW)]["median_ms"] * 1e3
        own_us = by_key[(api, OURS)]["added_us"] - floor_us
        ceilings.append(
            f"{api}: the LangChain floor alone is {floor_us:.0f} us, so a LangChain chat model "
            f"wrapping this SDK call as is cannot beat {(raw_us + floor_us) / raw_us:.2f}x the "
            f"raw SDK here; ChatCerebras's own code costs {own_us:+.0f} us net of that floor "
            "(negative: it skips SDK work, such as building pydantic response objects)."
        )
    targets = []
    for api in ("invoke", "ainvoke"):
        ours = by_key[(api, OURS)]
        theirs = by_key[(api, LANGCHAIN_CEREBRAS)]
        targets.append(
            Target(
                f"a.{api}_vs_raw",
                f"ChatCerebras.{api} median / raw SDK median",
                ours["vs_raw_median"],
                "<=",
                1.10,
            )
        )
        targets.append(
            Target(
                f"a.{api}_vs_langchain_cerebras",
                f"ChatCerebras.{api} median / langchain-cerebras median",
                ours["median_ms"] / theirs["median_ms"],
                "<",
                1.0,
            )
        )
    series = {
        f"{api} {client}": [s * 1e3 for s in seconds]
        for api, samples in (("invoke", sync_samples), ("ainvoke", async_samples))
        for client, seconds in samples.items()
    }
    return BenchmarkResult(
        name="overhead",
        title="(a) per-call overhead vs the raw SDK",
        columns=[
            "api",
            "client",
            "calls",
            "median_ms",
            "p99_ms",
            "added_us",
            "vs_raw_median",
            "vs_raw_p99",
        ],
        rows=rows,
        targets=targets,
        charts=[
            Chart(
                "median latency per call (emulator, no added latency)",
                y="median_ms",
                ylabel="ms per call (median)",
                x=("api", "client"),
                group="api",
            ),
            Chart(
                "p99 latency per call",
                y="p99_ms",
                ylabel="ms per call (p99)",
                x=("api", "client"),
                group="api",
            ),
        ],
        params={
            "iterations_per_client": iterations,
            "warmup": warmup,
            "answer_tokens": 24,
            "emulator": "separate process, no added latency",
            "models": {"cerebras": CEREBRAS_MODEL, "groq": GROQ_MODEL},
        },
        notes=[
            "Contenders run round-robin (rotating order) against one emulator process.",
            "added_us = median minus the raw SDK's median, in microseconds; for the LangChain "
            "floor (a BaseChatModel that does no I/O) it is its whole cost: what any LangChain "
            "chat model adds to its SDK at least.",
            *ceilings,
        ],
        series=series,
    ).to_dict()
