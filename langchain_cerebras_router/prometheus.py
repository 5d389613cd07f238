"""Prometheus export of `SpeedMonitor` metrics.

`render_text` writes the Prometheus text exposition format (version 0.0.4) with no dependency;
`register` exposes the same metric families through the official ``prometheus_client``
(optional extra ``langchain-cerebras-router[prometheus]``), which is imported lazily. Both
render identical text. Every metric name starts with ``langchain_router_``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from langchain_cerebras_router.metrics import ModelStats, SpeedMonitor

__all__ = ["PREFIX", "MetricFamily", "metric_families", "register", "render_text"]

PREFIX = "langchain_router_"
_QUANTILES = (("0.5", "p50"), ("0.95", "p95"), ("0.99", "p99"))


@dataclass
class MetricFamily:
    """One metric family; for counters ``name`` excludes the ``_total`` suffix."""

    name: str
    help: str
    type: Literal["counter", "gauge", "summary"]
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)


def metric_families(monitor: SpeedMonitor) -> list[MetricFamily]:
    """Build the metric families of a monitor's current statistics."""
    stats = monitor.stats()
    families = [
        _counter("calls", "Chat model calls that ended, successful or failed.", stats, "calls"),
        _errors(stats),
        _counter(
            "cancelled_calls",
            "Calls abandoned by the caller (stream closed early, task cancelled).",
            stats,
            "cancelled",
        ),
        _counter("input_tokens", "Prompt tokens reported by providers.", stats, "input_tokens"),
        _counter(
            "output_tokens", "Completion tokens reported by providers.", stats, "output_tokens"
        ),
        _summary(
            "latency_seconds",
            "End-to-end latency of successful calls; quantiles over the rolling window.",
            stats,
            "latency",
        ),
        _summary(
            "time_to_first_token_seconds",
            "Time to first content chunk of successful streamed calls; quantiles over the "
            "rolling window.",
            stats,
            "ttft",
        ),
        _gauge(
            "availability_ratio",
            "Successful calls / calls over the rolling window.",
            stats,
            "availability",
        ),
        _gauge(
            "client_tokens_per_second",
            "Median output tokens/s measured by the client over the rolling window.",
            stats,
            "client_tokens_per_second_p50",
        ),
        _gauge(
            "server_tokens_per_second",
            "Median output tokens/s reported by the provider over the rolling window.",
            stats,
            "server_tokens_per_second_p50",
        ),
        _gauge(
            "advertised_tokens_per_second",
            "Output tokens/s advertised in the model catalogue.",
            stats,
            "advertised_tokens_per_second",
        ),
        _gauge(
            "speed_ratio",
            "Measured median tokens/s (server-side if known) / advertised tokens/s.",
            stats,
            "speed_ratio",
        ),
    ]
    in_flight = MetricFamily(PREFIX + "in_flight_runs", "Runs started and not ended.", "gauge")
    in_flight.samples.append((in_flight.name, {}, float(monitor.in_flight_runs)))
    evicted = MetricFamily(
        PREFIX + "evicted_runs",
        "Runs forgotten because too many were in flight (never ended).",
        "counter",
    )
    evicted.samples.append((evicted.name + "_total", {}, float(monitor.evicted_runs)))
    return [*families, in_flight, evicted]


def render_text(families: Sequence[MetricFamily]) -> str:
    """Render metric families in the Prometheus text exposition format."""
    lines: list[str] = []
    for family in families:
        name = family.name + "_total" if family.type == "counter" else family.name
        lines.append(f"# HELP {name} {_escape_help(family.help)}")
        lines.append(f"# TYPE {name} {family.type}")
        for sample_name, labels, value in family.samples:
            label_text = ",".join(
                f'{key}="{_escape_label(val)}"' for key, val in sorted(labels.items())
            )
            lines.append(
                f"{sample_name}{{{label_text}}} {_format_value(value)}"
                if label_text
                else f"{sample_name} {_format_value(value)}"
            )
    return "".join(line + "\n" for line in lines)


class _MonitorCollector:
    """A ``prometheus_client`` collector reading a `SpeedMonitor` at each scrape."""

    def __init__(self, monitor: SpeedMonitor) -> None:
        self._monitor = monitor

    def collect(self) -> Iterator[Any]:
        from prometheus_client.metrics_core import Metric

        for family in metric_families(self._monitor):
            metric = Metric(family.name, family.help, family.type)
            for sample_name, labels, value in family.samples:
                metric.add_sample(sample_name, labels, value)
            yield metric


def register(monitor: SpeedMonitor, registry: Any = None) -> Any:
    """Register a collector for ``monitor`` in a ``prometheus_client`` registry.

    Args:
        monitor: The monitor to expose.
        registry: A ``CollectorRegistry``; ``prometheus_client.REGISTRY`` by default.

    Returns:
        The registered collector.

    Raises:
        ImportError: ``prometheus_client`` is not installed.
    """
    try:
        import prometheus_client
    except ImportError as exc:
        msg = (
            "register_prometheus() needs the optional dependency prometheus-client: "
            "pip install 'langchain-cerebras-router[prometheus]'"
        )
        raise ImportError(msg) from exc
    collector = _MonitorCollector(monitor)
    (registry if registry is not None else prometheus_client.REGISTRY).register(collector)
    return collector


def _model_labels(stats: ModelStats) -> dict[str, str]:
    return {"provider": stats.provider, "model": stats.model}


def _counter(name: str, help_: str, stats: Sequence[ModelStats], attr: str) -> MetricFamily:
    family = MetricFamily(PREFIX + name, help_, "counter")
    for item in stats:
        family.samples.append(
            (family.name + "_total", _model_labels(item), float(getattr(item, attr)))
        )
    return family


def _errors(stats: Sequence[ModelStats]) -> MetricFamily:
    family = MetricFamily(PREFIX + "errors", "Failed calls by kind of failure.", "counter")
    for item in stats:
        for kind, count in sorted(item.errors_by_kind.items()):
            labels = {**_model_labels(item), "kind": kind}
            family.samples.append((family.name + "_total", labels, float(count)))
    return family


def _gauge(name: str, help_: str, stats: Sequence[ModelStats], attr: str) -> MetricFamily:
    family = MetricFamily(PREFIX + name, help_, "gauge")
    for item in stats:
        value = getattr(item, attr)
        if value is not None:
            family.samples.append((family.name, _model_labels(item), float(value)))
    return family


def _summary(name: str, help_: str, stats: Sequence[ModelStats], field_: str) -> MetricFamily:
    family = MetricFamily(PREFIX + name, help_, "summary")
    for item in stats:
        labels = _model_labels(item)
        for quantile, suffix in _QUANTILES:
            value = getattr(item, f"{field_}_{suffix}")
            if value is not None:
                family.samples.append((family.name, {**labels, "quantile": quantile}, value))
        family.samples.append((family.name + "_sum", labels, getattr(item, f"{field_}_sum")))
        family.samples.append(
            (family.name + "_count", labels, float(getattr(item, f"{field_}_count")))
        )
    return family


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _format_value(value: float) -> str:
    """Format like Go's ``strconv.FormatFloat(v, 'g', -1, 64)`` as ``prometheus_client`` does."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(value)
    dot = text.find(".")
    if value > 0 and dot > 6:
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1 :]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return text
