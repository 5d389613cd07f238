"""(g) Footprint: import time and memory per model instance.

* **Import time**: a fresh interpreter per sample times the import statement alone
  (interpreter start-up excluded), round-robin over the subjects; median of the runs.
  One extra ``python -X importtime`` run of the ChatCerebras import is broken down by
  top-level package (self time), to show where the time goes.
* **Memory per instance**: in a fresh interpreter per class, after one warm-up instance,
  ``tracemalloc`` measures the Python heap kept alive by N more instances. N is 1,000,
  or fewer for classes whose construction is slow (those that build SDK clients, with
  an SSL context, at construction): as many as fit in a time budget, reported as N.

No target in the issue; reported for comparison.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import statistics
import subprocess
import sys
from collections import defaultdict
from typing import Any

from benchmarks.common import REPO_ROOT, BenchmarkResult, Chart

IMPORTS: dict[str, str] = {
    "langchain-core BaseChatModel (shared floor)": (
        "from langchain_core.language_models.chat_models import BaseChatModel"
    ),
    "raw cerebras-cloud-sdk": "from cerebras.cloud.sdk import Cerebras",
    "ChatCerebras (this package)": (
        "import langchain_cerebras_router; from langchain_cerebras_router import ChatCerebras"
    ),
    "RoutedChatModel (this package)": "from langchain_cerebras_router import RoutedChatModel",
    "langchain-cerebras ChatCerebras": "from langchain_cerebras import ChatCerebras",
    "langchain-groq ChatGroq": "from langchain_groq import ChatGroq",
}

_URL = "http://127.0.0.1:9"
INSTANCES: dict[str, tuple[str, str]] = {
    "ChatCerebras (this package)": (
        "from langchain_cerebras_router import ChatCerebras",
        f"ChatCerebras(model='llama3.1-8b', api_key='k', base_url='{_URL}')",
    ),
    "langchain-cerebras ChatCerebras": (
        "from langchain_cerebras import ChatCerebras",
        f"ChatCerebras(model='llama3.1-8b', api_key='k', base_url='{_URL}/v1')",
    ),
    "langchain-groq ChatGroq": (
        "from langchain_groq import ChatGroq",
        f"ChatGroq(model='llama-3.1-8b-instant', api_key='k', base_url='{_URL}')",
    ),
    "RoutedChatModel (+ its 2 routes)": (
        "from langchain_cerebras_router import ChatCerebras, RoutedChatModel; "
        "from langchain_groq import ChatGroq",
        "RoutedChatModel(routes={"
        f"'cerebras': ChatCerebras(model='llama3.1-8b', api_key='k', base_url='{_URL}'), "
        f"'groq': ChatGroq(model='llama-3.1-8b-instant', api_key='k', base_url='{_URL}')"
        "}, priority='ultimate_speed')",
    ),
}


def _sizes(quick: bool, tiny: bool) -> tuple[int, int, float]:
    """``(import runs per subject, max instances, construction budget in seconds)``."""
    if tiny:
        return 1, 20, 0.5
    if quick:
        return 1, 100, 0.5
    return 5, 1000, 8.0


def _python(code: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    for name in ("CEREBRAS_API_KEY", "GROQ_API_KEY", "OPENAI_API_KEY"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, *extra, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=600,
    )


def _import_seconds(statement: str) -> float:
    code = f"import time; _t = time.perf_counter(); {statement}; print(time.perf_counter() - _t)"
    return float(_python(code).stdout.strip().splitlines()[-1])


def _import_breakdown(statement: str) -> dict[str, float]:
    """Self import time (ms) per top-level package, from ``-X importtime``."""
    stderr = _python(statement, "-X", "importtime").stderr
    per_package: dict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        fields = line[len("import time:") :].split("|")
        if len(fields) != 3:
            continue
        package = fields[2].strip().split(".")[0]
        per_package[package] += int(fields[0]) / 1e3
    return dict(per_package)


def _rss_bytes() -> int | None:
    """Resident set size from ``/proc/self/statm`` (Linux); ``None`` elsewhere."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            resident_pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def _child(setup: str, factory: str, limit: int, budget: float) -> None:
    """Run in a fresh interpreter: print construction time and heap per instance (JSON)."""
    import gc
    import time
    import tracemalloc

    namespace: dict[str, Any] = {}
    exec(setup, namespace)  # fixed benchmark code from INSTANCES
    make = eval(f"lambda: {factory}", namespace)  # fixed benchmark code
    make()
    started = time.perf_counter()
    for _ in range(3):
        make()
    per_instance = (time.perf_counter() - started) / 3
    count = max(10, min(limit, int(budget / max(per_instance, 1e-9))))
    gc.collect()
    rss_before = _rss_bytes()
    kept = [make() for _ in range(count)]
    gc.collect()
    rss_after = _rss_bytes()
    del kept
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    kept = [make() for _ in range(count)]
    elapsed = time.perf_counter() - started
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(
        json.dumps(
            {
                "instances": len(kept),
                "kib_per_instance": (after - before) / len(kept) / 1024,
                "rss_kib_per_instance": (
                    None
                    if rss_before is None or rss_after is None
                    else (rss_after - rss_before) / len(kept) / 1024
                ),
                "construct_us_traced": elapsed / len(kept) * 1e6,
                "construct_us": per_instance * 1e6,
            }
        )
    )


def _instance_footprint(name: str, limit: int, budget: float) -> dict[str, Any]:
    setup, factory = INSTANCES[name]
    code = (
        "from benchmarks.footprint import _child; "
        f"_child({setup!r}, {factory!r}, {limit}, {budget})"
    )
    result: dict[str, Any] = json.loads(_python(code).stdout.strip().splitlines()[-1])
    return result


def run(quick: bool = False, *, tiny: bool = False) -> dict[str, Any]:
    """Measure import time and memory per instance of each client."""
    runs, limit, budget = _sizes(quick, tiny)
    # Tiny (smoke) runs measure one subject of each kind besides the floor.
    imports = {k: v for i, (k, v) in enumerate(IMPORTS.items()) if not tiny or i in (0, 2)}
    instances = [k for i, k in enumerate(INSTANCES) if not tiny or i in (0, 3)]
    _import_seconds("import langchain_cerebras_router")  # compile bytecode first
    samples: dict[str, list[float]] = {name: [] for name in imports}
    names = list(imports)
    for index in range(runs):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(_import_seconds(imports[name]) * 1e3)
    rows: list[dict[str, Any]] = []
    floor = statistics.median(samples[names[0]])
    for name in names:
        median = statistics.median(samples[name])
        rows.append(
            {
                "measure": "import time",
                "subject": name,
                "n": len(samples[name]),
                "value": median,
                "unit": "ms",
                "beyond_langchain_core": (
                    median - floor if name != names[0] and "sdk" not in name else None
                ),
                "construct_us": None,
            }
        )
    breakdown = _import_breakdown(IMPORTS["ChatCerebras (this package)"])
    for package, milliseconds in sorted(breakdown.items(), key=lambda kv: -kv[1])[:8]:
        rows.append(
            {
                "measure": "ChatCerebras import, self time by package",
                "subject": package,
                "n": 1,
                "value": milliseconds,
                "unit": "ms",
                "beyond_langchain_core": None,
                "construct_us": None,
            }
        )
    # Quick runs measure the classes two at a time (construct_us is then less exact).
    with concurrent.futures.ThreadPoolExecutor(max_workers=2 if quick or tiny else 1) as pool:
        footprints = list(pool.map(lambda n: _instance_footprint(n, limit, budget), instances))
    for name, footprint in zip(instances, footprints, strict=True):
        rows.append(
            {
                "measure": "memory per instance",
                "subject": name,
                "n": footprint["instances"],
                "value": footprint["kib_per_instance"],
                "unit": "KiB",
                "beyond_langchain_core": None,
                "construct_us": footprint["construct_us"],
            }
        )
        if footprint.get("rss_kib_per_instance") is not None:
            rows.append(
                {
                    "measure": "RSS per instance",
                    "subject": name,
                    "n": footprint["instances"],
                    "value": footprint["rss_kib_per_instance"],
                    "unit": "KiB",
                    "beyond_langchain_core": None,
                    "construct_us": footprint["construct_us"],
                }
            )
    return BenchmarkResult(
        name="footprint",
        title="(g) import time and memory per model instance",
        columns=[
            "measure",
            "subject",
            "n",
            "value",
            "unit",
            "beyond_langchain_core",
            "construct_us",
        ],
        rows=rows,
        charts=[
            Chart(
                "import time in a fresh interpreter (median, ms)",
                y="value",
                ylabel="ms",
                x=("subject",),
                where={"measure": "import time"},
            ),
            Chart(
                "ChatCerebras import: self time by top-level package (ms)",
                y="value",
                ylabel="ms",
                x=("subject",),
                where={"measure": "ChatCerebras import, self time by package"},
            ),
            Chart(
                "Python heap kept alive per instance (tracemalloc, KiB)",
                y="value",
                ylabel="KiB per instance",
                x=("subject",),
                where={"measure": "memory per instance"},
            ),
            Chart(
                "resident memory per instance, C allocations included (KiB)",
                y="value",
                ylabel="KiB per instance",
                x=("subject",),
                where={"measure": "RSS per instance"},
            ),
        ],
        params={
            "import_runs_per_subject": runs,
            "max_instances": limit,
            "construction_budget_s": budget,
        },
        notes=[
            "n for memory = instances measured (1,000 unless construction is slow).",
            "tracemalloc sees the Python heap only; RSS also counts C allocations such as "
            "OpenSSL contexts (rounded to pages, so noisy for small objects).",
            "construct_us: time to build one instance, without tracemalloc.",
            "This package's ChatCerebras builds its SDK client at the first call, not at "
            "construction; ChatGroq builds two httpx clients (with SSL contexts) per instance.",
        ],
        series={name: values for name, values in samples.items()},
    ).to_dict()
