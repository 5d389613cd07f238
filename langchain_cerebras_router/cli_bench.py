"""``langchain-cerebras-router bench``: measured vs advertised speed, TTFT and latency.

Every call goes through the target's LangChain chat model with a
:class:`~langchain_cerebras_router.metrics.SpeedMonitor` as callback, so the numbers are the
ones the monitor reports in production. Core dependencies only, except :func:`write_plot`
(matplotlib, extra ``plots``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from langchain_cerebras_router._version import __version__
from langchain_cerebras_router.cli_targets import Session, Target, describe_error
from langchain_cerebras_router.metrics import CallSample, ModelStats, SpeedMonitor

__all__ = [
    "DEFAULT_BENCH_PROMPTS",
    "BenchReport",
    "RecordingMonitor",
    "TargetBench",
    "run_bench",
    "write_plot",
]

DEFAULT_BENCH_PROMPTS: tuple[str, ...] = (
    "Explain in one paragraph why time to first token matters for chat applications.",
    "List five practical uses of a very fast language model, one line each.",
    "Summarise the trade-offs between latency and throughput in LLM serving.",
    "Write a short product description for a wafer-scale AI chip.",
)


class RecordingMonitor(SpeedMonitor):
    """A :class:`SpeedMonitor` that also keeps every sample (for plots and JSON).

    Example:
        .. code-block:: python

            monitor = RecordingMonitor()
            llm.invoke("Hi", config={"callbacks": [monitor]})
            monitor.samples[-1].latency
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._samples: list[CallSample] = []

    def _add(self, sample: CallSample) -> None:
        # Every sample, from `record` or a router's `record_attempt`, under the lock.
        super()._add(sample)
        self._samples.append(sample)

    @property
    def samples(self) -> list[CallSample]:
        """Every recorded sample, oldest first."""
        with self._lock:
            self._drain_pending()
            return list(self._samples)


@dataclass
class TargetBench:
    """The results of one target."""

    target: Target
    emulated_tokens_per_second: float | None
    stats: list[ModelStats] = field(default_factory=list)
    samples: list[CallSample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok_samples(self) -> list[CallSample]:
        """Successful calls."""
        return [s for s in self.samples if s.ok]

    @property
    def main_stats(self) -> ModelStats | None:
        """The statistics of the model that answered most calls."""
        return max(self.stats, key=lambda s: s.calls, default=None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "provider": self.target.provider,
            "model": self.target.model,
            "endpoint": self.target.endpoint,
            "emulated": self.target.emulated,
            "emulated_tokens_per_second": self.emulated_tokens_per_second,
            "advertised_tokens_per_second": self.target.advertised_tokens_per_second,
            "errors": list(self.errors),
            "stats": [s.to_dict() for s in self.stats],
            "samples": [
                {**asdict(s), "client_tokens_per_second": s.client_tokens_per_second}
                for s in self.samples
            ],
        }


@dataclass
class BenchReport:
    """Everything ``bench`` measured."""

    emulated: bool
    notes: list[str]
    requests: int
    stream: bool
    max_tokens: int
    prompts: list[str]
    targets: list[TargetBench]
    created: str = field(
        default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (the ``--json-out`` file)."""
        return {
            "tool": "langchain-cerebras-router bench",
            "version": __version__,
            "created": self.created,
            "mode": "emulator" if self.emulated else "live",
            "notes": list(self.notes),
            "settings": {
                "requests_per_target": self.requests,
                "stream": self.stream,
                "max_tokens": self.max_tokens,
                "prompts": list(self.prompts),
            },
            "targets": [t.to_dict() for t in self.targets],
        }


def _call(llm: Any, prompt: str, *, stream: bool, callbacks: list[Any]) -> None:
    config: Any = {"callbacks": callbacks, "run_name": "bench"}
    if stream:
        for _ in llm.stream(prompt, config=config):
            pass
    else:
        llm.invoke(prompt, config=config)


def run_bench(
    session: Session,
    *,
    requests: int,
    stream: bool = True,
    max_tokens: int = 256,
    prompts: Sequence[str] = DEFAULT_BENCH_PROMPTS,
    warmup: bool = True,
    on_call: Callable[[Target, bool], None] | None = None,
) -> BenchReport:
    """Send ``requests`` prompts to each target in turn and measure them.

    Args:
        session: The targets (and the emulator, paced per target, if any).
        requests: Calls per target (prompts are cycled).
        stream: Stream the answers (needed for time to first token).
        max_tokens: Completion limit of each call.
        prompts: The prompts to cycle through.
        warmup: Send one unmeasured call per target first (connection set-up).
        on_call: Called after each measured call with the target and whether it succeeded.

    Returns:
        The report; failed calls are counted, never raised.
    """
    if requests < 1:
        msg = f"requests must be >= 1, got {requests}"
        raise ValueError(msg)
    if not prompts:
        msg = "at least one prompt is needed"
        raise ValueError(msg)
    results: list[TargetBench] = []
    for target in session.targets:
        session.pace(target)
        result = TargetBench(target, session.emulated_speed(target))
        llm = target.chat_model(max_tokens=max_tokens, max_retries=0, timeout=60.0)
        if warmup:
            try:
                _call(llm, prompts[0], stream=stream, callbacks=[])
            except Exception as exc:
                result.errors.append(f"warm-up: {describe_error(exc, session.secrets)}")
        monitor = RecordingMonitor(window=max(requests, 1))
        for index in range(requests):
            ok = True
            try:
                _call(llm, prompts[index % len(prompts)], stream=stream, callbacks=[monitor])
            except Exception as exc:
                ok = False
                result.errors.append(describe_error(exc, session.secrets))
            if on_call is not None:
                on_call(target, ok)
        result.stats = monitor.stats()
        result.samples = monitor.samples
        results.append(result)
    return BenchReport(
        emulated=session.emulated,
        notes=list(session.notes),
        requests=requests,
        stream=stream,
        max_tokens=max_tokens,
        prompts=list(prompts),
        targets=results,
    )


# --------------------------------------------------------------------------- plot

_ADVERTISED = "#c9ccd1"
_SERVER = "#2a9d8f"
_CLIENT = "#264653"
_TTFT = "#e9c46a"
_LATENCY = "#e76f51"


def _label(ax: Any, x: float, y: float, text: str) -> None:
    ax.annotate(
        text,
        (x, y),
        xytext=(0, 3),
        textcoords="offset points",
        ha="center",
        va="bottom",
        fontsize=7,
    )


def _spread(count: int, width: float) -> list[float]:
    """Deterministic horizontal offsets for ``count`` dots within ``width``."""
    if count <= 1:
        return [0.0] * count
    return [-width / 2 + width * i / (count - 1) for i in range(count)]


def write_plot(report: BenchReport, path: str | Path) -> Path:
    """Draw the report as a PNG (matplotlib, Agg backend; extra ``plots``).

    Left: output tokens/s per target, advertised vs measured (server- and client-side
    median). Right: time to first token and end-to-end latency (median bars, p95 whiskers,
    one dot per call).

    Returns:
        The path written.

    Raises:
        ImportError: matplotlib is not installed.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    labels = [f"{t.target.provider}\n{t.target.model}" for t in report.targets]
    stats = [t.main_stats for t in report.targets]
    xs = list(range(len(labels)))
    fig = Figure(figsize=(12, 5.2), dpi=130, layout="constrained")
    FigureCanvasAgg(fig)
    speed_ax, time_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})

    width = 0.26
    advertised = [t.target.advertised_tokens_per_second or 0.0 for t in report.targets]
    server = [(s.server_tokens_per_second_p50 or 0.0) if s else 0.0 for s in stats]
    client = [(s.client_tokens_per_second_p50 or 0.0) if s else 0.0 for s in stats]
    for offset, values, color, name, hatch in (
        (-width, advertised, _ADVERTISED, "advertised (catalogue)", "//"),
        (0.0, server, _SERVER, "measured, server-side p50", None),
        (width, client, _CLIENT, "measured, client-side p50", None),
    ):
        speed_ax.bar(
            [x + offset for x in xs],
            values,
            width,
            label=name,
            color=color,
            hatch=hatch,
            edgecolor="white" if hatch is None else "#8a8f98",
            linewidth=0.6,
        )
        for x, value in zip(xs, values, strict=True):
            _label(speed_ax, x + offset, value, f"{value:,.0f}" if value else "n/a")
    speed_ax.set_title("Output speed", loc="left", fontweight="bold")
    speed_ax.set_ylabel("tokens / second")
    speed_ax.set_xticks(xs, labels, fontsize=8)
    speed_ax.legend(fontsize=8, frameon=False, loc="best")
    speed_ax.margins(y=0.15)

    for offset, color, name, pick in (
        (-0.18, _TTFT, "time to first token", "ttft"),
        (0.18, _LATENCY, "end-to-end latency", "latency"),
    ):
        medians: list[float] = []
        upper: list[float] = []
        dots_x: list[float] = []
        dots_y: list[float] = []
        for x, result, stat in zip(xs, report.targets, stats, strict=True):
            p50 = getattr(stat, f"{pick}_p50", None) if stat else None
            p95 = getattr(stat, f"{pick}_p95", None) if stat else None
            values = [v for s in result.ok_samples if (v := getattr(s, pick)) is not None]
            medians.append(p50 or 0.0)
            upper.append(max((p95 or 0.0) - (p50 or 0.0), 0.0))
            dots_x.extend(x + offset + d for d in _spread(len(values), 0.22))
            dots_y.extend(values)
            top = max([p95 or 0.0, *values])
            _label(time_ax, x + offset, top, "n/a" if p50 is None else f"{p50:.2f}s")
        time_ax.bar(
            [x + offset for x in xs],
            medians,
            0.34,
            yerr=[[0.0] * len(upper), upper],
            capsize=4,
            color=color,
            alpha=0.85,
            label=f"{name} (p50, whisker p95)",
            error_kw={"elinewidth": 1, "ecolor": "#444"},
        )
        time_ax.scatter(dots_x, dots_y, s=9, color="#333", alpha=0.55, zorder=3, linewidths=0)
    time_ax.set_title("Time to first token and latency", loc="left", fontweight="bold")
    time_ax.set_ylabel("seconds")
    time_ax.set_xticks(xs, labels, fontsize=8)
    time_ax.legend(fontsize=8, frameon=False, loc="best")
    time_ax.margins(y=0.2)

    for ax in (speed_ax, time_ax):
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)

    mode = (
        "EMULATOR: simulated speeds, not a measurement of the providers"
        if report.emulated
        else "live APIs"
    )
    fig.suptitle(f"langchain-cerebras-router bench · {mode}", fontsize=12, fontweight="bold")
    kind = "streamed" if report.stream else "non-streamed"
    fig.supxlabel(
        f"{report.requests} {kind} calls per target · max_tokens={report.max_tokens} · "
        f"dots: single calls · n/a: not reported · {report.created}",
        fontsize=7,
        color="#666",
        x=0.99,
        ha="right",
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out
