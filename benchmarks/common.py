"""Shared helpers for the benchmarks: timing, statistics, results, tables, JSON and PNG.

Every benchmark module exposes ``run(quick: bool = False, *, tiny: bool = False) -> dict``
and returns :meth:`BenchmarkResult.to_dict`: a JSON-ready dict with the measured rows,
the targets (each ``PASS`` or ``MISS`` with its measured value), the raw samples and the
charts to draw. ``tiny`` shrinks every size so that the smoke test runs them all in seconds.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import math
import multiprocessing
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

__all__ = [
    "API_KEY",
    "CEREBRAS_MODEL",
    "GROQ_MODEL",
    "REPO_ROOT",
    "BenchmarkResult",
    "Chart",
    "Target",
    "ainterleave",
    "chat_cerebras",
    "chat_groq",
    "emulator_process",
    "floor_chat_model",
    "format_table",
    "frozen_gc",
    "interleave",
    "langchain_cerebras_chat",
    "paired_difference",
    "percentile",
    "plot_result",
    "quiet_logging",
    "ratio_interval",
    "run_async",
    "scripted_emulator_process",
    "summarize",
    "validate_result",
    "write_json",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Non-reasoning models, so that every answer is plain text of the requested length.
CEREBRAS_MODEL = "llama3.1-8b"
GROQ_MODEL = "llama-3.1-8b-instant"
API_KEY = "bench-key"

Op = Literal["<=", ">=", "<", ">"]
T = TypeVar("T")


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, then collect garbage while no loop runs.

    SDK async clients close themselves in ``__del__`` by scheduling ``aclose()`` on the
    *running* loop; collected later inside another benchmark's loop, they would fail
    noisily on connections of a closed loop. Collected here, they are simply dropped.
    """
    import asyncio

    try:
        return asyncio.run(coroutine)
    finally:
        gc.collect()


def chat_cerebras(base_url: str, **kwargs: Any) -> Any:
    """This package's ``ChatCerebras`` on ``CEREBRAS_MODEL`` at ``base_url``."""
    from langchain_cerebras_router import ChatCerebras

    options: dict[str, Any] = {"model": CEREBRAS_MODEL, "api_key": API_KEY, **kwargs}
    return ChatCerebras(base_url=base_url, **options)


def chat_groq(base_url: str, **kwargs: Any) -> Any:
    """``langchain_groq.ChatGroq`` on ``GROQ_MODEL``; the groq SDK adds ``/openai/v1``."""
    from langchain_groq import ChatGroq

    options: dict[str, Any] = {"model": GROQ_MODEL, "api_key": API_KEY, **kwargs}
    return ChatGroq(base_url=base_url, **options)


def floor_chat_model(*, chunks: int = 24) -> Any:
    """A chat model with no I/O at all: what LangChain's own machinery costs per call/chunk.

    ``invoke`` returns a fixed message; ``stream`` / ``astream`` yield ``chunks`` one-token
    chunks built the way a real integration builds them. Any LangChain chat model pays
    at least this on top of its SDK, so it bounds the ratios a LangChain client can reach.
    """
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import AIMessage, AIMessageChunk
    from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

    class FloorChatModel(BaseChatModel):
        chunks: int = 24

        @property
        def _llm_type(self) -> str:
            return "floor"

        def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
            message = AIMessage(
                content="Hello " * self.chunks,
                id="chatcmpl-floor",
                response_metadata={"model_provider": "cerebras", "finish_reason": "stop"},
            )
            return ChatResult(generations=[ChatGeneration(message=message)])

        def _chunk(self) -> ChatGenerationChunk:
            message = AIMessageChunk(
                content="Hello ", id="chatcmpl-floor", response_metadata={"model_provider": "x"}
            )
            return ChatGenerationChunk(message=message)

        def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
            for _ in range(self.chunks):
                yield self._chunk()

        async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
            for _ in range(self.chunks):
                yield self._chunk()

    return FloorChatModel(chunks=chunks)


def langchain_cerebras_chat(base_url: str, **kwargs: Any) -> Any:
    """``langchain_cerebras.ChatCerebras`` (ChatOpenAI-based: the URL needs ``/v1``)."""
    from langchain_cerebras import ChatCerebras

    options: dict[str, Any] = {"model": CEREBRAS_MODEL, "api_key": API_KEY, **kwargs}
    return ChatCerebras(base_url=f"{base_url}/v1", **options)


# ======================================================================================
# Statistics and timing
# ======================================================================================


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-quantile (0..1) with linear interpolation between order statistics."""
    if not values:
        msg = "percentile() of no samples"
        raise ValueError(msg)
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(seconds: Sequence[float]) -> dict[str, float]:
    """Median, p99, mean, min and max of samples in seconds, reported in milliseconds."""
    return {
        "median_ms": percentile(seconds, 0.5) * 1e3,
        "p99_ms": percentile(seconds, 0.99) * 1e3,
        "mean_ms": sum(seconds) / len(seconds) * 1e3,
        "min_ms": min(seconds) * 1e3,
        "max_ms": max(seconds) * 1e3,
    }


def _check_pairs(samples: Sequence[float], base: Sequence[float]) -> None:
    if len(samples) != len(base) or not samples:
        msg = "paired statistics need two equally long, non-empty sample lists"
        raise ValueError(msg)


def paired_difference(samples: Sequence[float], base: Sequence[float]) -> float:
    """Median of ``samples[i] - base[i]`` (seconds): the added time per call, paired.

    :func:`interleave` times contenders one right after the other in each iteration,
    so the pairs share the machine's state of that moment; the median of the pairwise
    differences is less sensitive to drift than the difference of the two medians.
    """
    _check_pairs(samples, base)
    return statistics.median(a - b for a, b in zip(samples, base, strict=True))


def ratio_interval(
    samples: Sequence[float],
    base: Sequence[float],
    *,
    statistic: Literal["median", "mean"] = "median",
    resamples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Bootstrap interval of ``statistic(samples) / statistic(base)``, pairs resampled together.

    Says how far the ratio of one run could move by sampling alone, so that a reader can
    tell a ratio robustly under a target from one that sits on it. Deterministic (``seed``).
    """
    _check_pairs(samples, base)
    measure = statistics.median if statistic == "median" else statistics.fmean
    rng = random.Random(seed)
    count = len(samples)
    ratios = []
    for _ in range(resamples):
        picks = [rng.randrange(count) for _ in range(count)]
        ratios.append(measure([samples[i] for i in picks]) / measure([base[i] for i in picks]))
    tail = (1.0 - confidence) / 2
    return percentile(ratios, tail), percentile(ratios, 1.0 - tail)


def _rotations(names: list[str], iteration: int) -> list[str]:
    shift = iteration % len(names)
    return names[shift:] + names[:shift]


def interleave(
    contenders: Mapping[str, Callable[[], object]], *, iterations: int, warmup: int
) -> dict[str, list[float]]:
    """Time each contender ``iterations`` times, round-robin, so noise hits all alike.

    The order rotates every iteration so that no contender always runs right after
    another. A full collection runs first, then ``warmup`` untimed rounds.

    Returns:
        Seconds per call, per contender.
    """
    names = list(contenders)
    for _ in range(warmup):
        for name in names:
            contenders[name]()
    gc.collect()
    samples: dict[str, list[float]] = {name: [] for name in names}
    clock = time.perf_counter
    for iteration in range(iterations):
        for name in _rotations(names, iteration):
            call = contenders[name]
            started = clock()
            call()
            samples[name].append(clock() - started)
    return samples


async def ainterleave(
    contenders: Mapping[str, Callable[[], Awaitable[object]]], *, iterations: int, warmup: int
) -> dict[str, list[float]]:
    """Async :func:`interleave`: one awaited call at a time, round-robin."""
    names = list(contenders)
    for _ in range(warmup):
        for name in names:
            await contenders[name]()
    gc.collect()
    samples: dict[str, list[float]] = {name: [] for name in names}
    clock = time.perf_counter
    for iteration in range(iterations):
        for name in _rotations(names, iteration):
            call = contenders[name]
            started = clock()
            await call()
            samples[name].append(clock() - started)
    return samples


# ======================================================================================
# Results
# ======================================================================================


@dataclass(frozen=True)
class Target:
    """One target of the issue, checked against a measured value.

    Args:
        id: Stable identifier, e.g. ``"a.invoke"``.
        description: What is compared, in words.
        measured: The measured value (``None`` when it could not be measured).
        op: How ``measured`` must compare with ``threshold``.
        threshold: The target value.
        unit: Unit of both values (``"x"`` for ratios).
    """

    id: str
    description: str
    measured: float | None
    op: Op
    threshold: float
    unit: str = "x"

    @property
    def passed(self) -> bool | None:
        """Whether the target is met (``None`` when nothing was measured)."""
        if self.measured is None or not math.isfinite(self.measured):
            return None
        value, limit = self.measured, self.threshold
        return {
            "<=": value <= limit,
            ">=": value >= limit,
            "<": value < limit,
            ">": value > limit,
        }[self.op]

    @property
    def status(self) -> str:
        """``PASS``, ``MISS`` or ``N/A``."""
        passed = self.passed
        return "N/A" if passed is None else ("PASS" if passed else "MISS")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with ``status``."""
        return {**asdict(self), "status": self.status}


@dataclass(frozen=True)
class Chart:
    """A chart drawn from a result's rows (``bar``) or raw series (``cdf``).

    Args:
        title: Chart title.
        y: Row key of the value (``bar``) or axis label source (``cdf``).
        ylabel: Axis label of the value.
        x: Row key (or keys joined with `` / ``) naming each bar.
        group: Row key whose value picks the bar colour (and the legend).
        where: Only rows whose items match.
        kind: ``bar`` (rows) or ``cdf`` (``series`` from the result's ``series``).
        series: Names of raw series in the result (``cdf`` only).
        log: Logarithmic value axis.
    """

    title: str
    y: str
    ylabel: str
    x: tuple[str, ...] = ()
    group: str | None = None
    where: Mapping[str, Any] = field(default_factory=dict)
    kind: Literal["bar", "cdf"] = "bar"
    series: tuple[str, ...] = ()
    log: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["where"] = dict(self.where)
        data["x"] = list(self.x)
        data["series"] = list(self.series)
        return data


@dataclass
class BenchmarkResult:
    """What a benchmark returns (as :meth:`to_dict`).

    Args:
        name: Module name, e.g. ``"overhead"``.
        title: One-line title, e.g. ``"(a) per-call overhead"``.
        columns: Row keys to print, in order.
        rows: Measurements, one dict per line of the table.
        targets: The issue's targets with their measured values.
        charts: Charts for the PNG.
        params: Sizes and settings used.
        notes: Remarks printed under the table.
        series: Raw samples (e.g. per-call latencies in ms), for JSON and CDF charts.
    """

    name: str
    title: str
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    series: dict[str, list[float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "title": self.title,
            "columns": list(self.columns),
            "rows": [dict(row) for row in self.rows],
            "targets": [t.to_dict() for t in self.targets],
            "charts": [c.to_dict() for c in self.charts],
            "params": dict(self.params),
            "notes": list(self.notes),
            "series": {k: [round(v, 4) for v in vs] for k, vs in self.series.items()},
        }


def validate_result(result: Mapping[str, Any]) -> list[str]:
    """Problems with a result dict (empty when well formed); used by the smoke test."""
    problems: list[str] = []
    for key, kind in (
        ("name", str),
        ("title", str),
        ("columns", list),
        ("rows", list),
        ("targets", list),
        ("charts", list),
        ("params", dict),
        ("notes", list),
        ("series", dict),
    ):
        if not isinstance(result.get(key), kind):
            problems.append(f"{key!r} missing or not a {kind.__name__}")
    if problems:
        return problems
    if not result["rows"]:
        problems.append("no rows")
    for index, row in enumerate(result["rows"]):
        missing = [c for c in result["columns"] if c not in row]
        if missing:
            problems.append(f"row {index} lacks columns {missing}")
        for key, value in row.items():
            if isinstance(value, float) and not math.isfinite(value):
                problems.append(f"row {index} has non-finite {key}={value}")
    for target in result["targets"]:
        if target.get("status") not in ("PASS", "MISS", "N/A"):
            problems.append(f"target {target.get('id')!r} has status {target.get('status')!r}")
        measured = target.get("measured")
        if measured is not None and not isinstance(measured, (int, float)):
            problems.append(f"target {target.get('id')!r} measured is not a number")
    try:
        json.dumps(result, allow_nan=False)
    except (TypeError, ValueError) as exc:
        problems.append(f"not JSON-serialisable: {exc}")
    return problems


# ======================================================================================
# Output: tables, JSON, PNG
# ======================================================================================


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        magnitude = abs(value)
        if magnitude >= 1000:
            return f"{value:,.0f}"
        if magnitude >= 100:
            return f"{value:.1f}"
        if magnitude >= 1:
            return f"{value:.2f}"
        return f"{value:.3f}"
    return str(value)


def format_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A plain-text table with a header line; numbers right-aligned."""
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    numeric = [
        all(isinstance(row.get(c), (int, float)) or row.get(c) is None for row in rows)
        for c in columns
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(list(columns)), rule, *(line(r) for r in cells)])


def format_markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """The same table in Markdown."""
    head = "| " + " | ".join(columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join([head, rule, *body])


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON (NaN and infinities become ``null``)."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, Mapping):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(clean(data), indent=2, allow_nan=False) + "\n", encoding="utf-8")


def _bar_chart(axes: Any, result: Mapping[str, Any], chart: Mapping[str, Any]) -> None:
    where = chart.get("where") or {}
    rows = [
        row
        for row in result["rows"]
        if all(row.get(k) == v for k, v in where.items())
        and isinstance(row.get(chart["y"]), (int, float))
    ]
    labels = [" / ".join(str(row.get(k)) for k in chart["x"]) for row in rows]
    values = [float(row[chart["y"]]) for row in rows]
    group = chart.get("group")
    groups = [str(row.get(group)) for row in rows] if group else ["" for _ in rows]
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#17becf"]
    order = list(dict.fromkeys(groups))
    colours = [palette[order.index(g) % len(palette)] for g in groups]
    positions = list(range(len(rows)))
    axes.barh(positions, values, color=colours)
    axes.set_yticks(positions, labels, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel(chart["ylabel"])
    if chart.get("log"):
        axes.set_xscale("log")
    for position, value in zip(positions, values, strict=True):
        axes.annotate(
            _cell(value),
            (value, position),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
        )
    if group and len(order) > 1:
        from matplotlib.patches import Patch

        axes.legend(
            handles=[Patch(color=palette[i % len(palette)], label=g) for i, g in enumerate(order)],
            fontsize=7,
            loc="best",
        )


def _cdf_chart(axes: Any, result: Mapping[str, Any], chart: Mapping[str, Any]) -> None:
    for name in chart["series"]:
        values = sorted(result["series"].get(name) or [])
        if not values:
            continue
        fractions = [(i + 1) / len(values) for i in range(len(values))]
        axes.step(values, fractions, where="post", label=name)
    axes.set_xlabel(chart["ylabel"])
    axes.set_ylabel("fraction of calls")
    if chart.get("log"):
        axes.set_xscale("log")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="lower right")


def plot_result(result: Mapping[str, Any], path: Path) -> bool:
    """Draw a result's charts into one PNG (Agg backend); ``False`` if there is none."""
    charts = result.get("charts") or []
    if not charts:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    heights = []
    for chart in charts:
        if chart.get("kind") == "cdf":
            heights.append(3.2)
        else:
            where = chart.get("where") or {}
            count = sum(all(r.get(k) == v for k, v in where.items()) for r in result["rows"])
            heights.append(max(1.6, 0.32 * count + 0.9))
    figure, axes_list = plt.subplots(
        len(charts), 1, figsize=(9, sum(heights)), height_ratios=heights, squeeze=False
    )
    for axes, chart in zip(axes_list[:, 0], charts, strict=True):
        if chart.get("kind") == "cdf":
            _cdf_chart(axes, result, chart)
        else:
            _bar_chart(axes, result, chart)
        axes.set_title(chart["title"], fontsize=9)
    figure.suptitle(str(result.get("title", "")), fontsize=11)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


# ======================================================================================
# Environment
# ======================================================================================


@contextlib.contextmanager
def frozen_gc(frozen: bool = True) -> Iterator[None]:
    """With ``frozen``, move every object alive now out of the collector's reach.

    A stream on ``BaseChatModel.stream``'s path keeps all its chunks until the end (to
    merge them for callbacks), so a long stream promotes thousands of objects to the
    oldest generation and triggers full collections, which scan the whole heap (every
    imported module included: about 80 ms on the reference machine). The raw SDK keeps
    nothing, nor does ChatCerebras when no callback handler observes the stream.
    ``gc.freeze()`` after start-up, a common production setting, makes those collections
    cheap; measuring both ways shows how much of a gap is the collector, and freezing
    removes the noise when two LangChain clients are compared.
    """
    if not frozen:
        yield
        return
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def quiet_logging(*names: str, level: int = logging.CRITICAL) -> Iterator[None]:
    """Raise the level of the named loggers for the duration (failover warnings are noise)."""
    loggers = [logging.getLogger(name) for name in names]
    saved = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, previous in zip(loggers, saved, strict=True):
            logger.setLevel(previous)


_LISTENING = re.compile(r"listening on (http://\S+)")


@contextlib.contextmanager
def emulator_process(
    *,
    answer_tokens: int = 24,
    server_latency: float = 0.0,
    tokens_per_second: float | None = None,
    startup_timeout: float = 30.0,
) -> Iterator[str]:
    """Run the bundled emulator in its own process and yield its base URL.

    Client-overhead benchmarks use this rather than the in-process ``Emulator`` so that
    the server runs on the other core and never holds the client's GIL: the client is
    then the only Python code on the measured path's core.
    """
    command = [
        sys.executable,
        "-m",
        "langchain_cerebras_router.testing",
        "--port",
        "0",
        "--answer-tokens",
        str(answer_tokens),
        "--server-latency",
        str(server_latency),
    ]
    if tokens_per_second is not None:
        command += ["--tokens-per-second", str(tokens_per_second)]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            url = _await_url(process, startup_timeout)
            if url is None:
                errors.seek(0)
                detail = errors.read().decode(errors="replace")[-2000:]
                msg = f"the emulator process did not start: {detail}"
                raise RuntimeError(msg)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


class ScriptedEmulator:
    """Client side of :func:`scripted_emulator_process`: the emulator's URL and its faults."""

    def __init__(self, connection: Any, base_url: str) -> None:
        self._connection = connection
        self.base_url = base_url

    def _call(self, method: str, *args: Any) -> None:
        self._connection.send((method, args))
        error = self._connection.recv()
        if error is not None:
            raise RuntimeError(f"emulator process: {method} failed: {error}")

    def script(self, provider: str, steps: Sequence[str | None]) -> None:
        """``Emulator.script`` in the emulator's process."""
        self._call("script", provider, list(steps))

    def clear_faults(self) -> None:
        """``Emulator.clear_faults`` in the emulator's process."""
        self._call("clear_faults")


def _serve_scripted_emulator(connection: Any) -> None:
    """Child process: run an emulator and apply the parent's fault calls until told to stop."""
    from langchain_cerebras_router.testing import Emulator

    with Emulator() as emulator:
        connection.send(emulator.base_url)
        while True:
            message = connection.recv()
            if message is None:
                return
            method, args = message
            try:
                getattr(emulator, method)(*args)
            except Exception as exc:  # reported to the parent, which raises
                connection.send(repr(exc))
            else:
                connection.send(None)


@contextlib.contextmanager
def scripted_emulator_process(startup_timeout: float = 30.0) -> Iterator[ScriptedEmulator]:
    """:func:`emulator_process` for benchmarks that script faults call by call.

    The emulator runs in a child process (started with ``spawn``), so that, as with
    :func:`emulator_process`, it never holds the measured client's GIL; ``script`` and
    ``clear_faults`` are forwarded to it over a pipe.
    """
    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe()
    process = context.Process(target=_serve_scripted_emulator, args=(child_end,), daemon=True)
    process.start()
    try:
        if not parent_end.poll(startup_timeout):
            msg = "the scripted emulator process did not start"
            raise RuntimeError(msg)
        yield ScriptedEmulator(parent_end, parent_end.recv())
    finally:
        with contextlib.suppress(OSError):
            parent_end.send(None)
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
            process.join()
        parent_end.close()


def _await_url(process: subprocess.Popen[str], timeout: float) -> str | None:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            return None
        match = _LISTENING.search(line)
        if match:
            return match.group(1)
    return None
