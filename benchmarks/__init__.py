"""Benchmarks: is the package ever the bottleneck? Measured against the alternatives.

Run them all with ``make bench`` (or ``python -m benchmarks``; ``--quick`` for a short
run, ``--only a,failover`` for a subset). Everything runs against the bundled emulator;
see ``docs/benchmarks.md`` for what each one measures, its target and the latest results.

Each module exposes ``run(quick: bool = False) -> dict`` (the modules written with
:mod:`benchmarks.common` also take ``tiny=True``, used by the smoke test).
"""

from __future__ import annotations

__all__ = ["BENCHMARKS", "OPTIONAL"]

#: Module name -> (issue item letter, short description), in run order.
BENCHMARKS: dict[str, tuple[str, str]] = {
    "overhead": ("a", "per-call overhead vs the raw SDK, langchain-cerebras and ChatGroq"),
    "stream_throughput": ("b", "stream chunks/s for a 4,000-token answer"),
    "router_overhead": ("c", "RoutedChatModel over ChatCerebras alone"),
    "failover": ("d", "failover latency: router vs with_fallbacks vs direct"),
    "batch": ("e", "50 requests at 200 ms: sequential vs abatch"),
    "hedging": ("f", "p50/p99 with and without hedging"),
    "footprint": ("g", "import time and memory per instance"),
    "scale": ("h", "1,000 concurrent astream calls"),
    "redis_overhead": ("", "shared health store on Redis (needs redis-server)"),
    "fleet_simulation": ("", "a fleet of processes sharing health (needs redis-server)"),
}

#: Benchmarks that are skipped (with a note) when their module or redis-server is missing.
OPTIONAL: frozenset[str] = frozenset({"redis_overhead", "fleet_simulation"})
