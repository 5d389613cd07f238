"""(c)'s short-call comparison repeated in fresh processes: how far the same code moves.

``python -m benchmarks.router_spread [--api stream] [--processes 6] [--calls 1000]``
runs, in each of several fresh processes in turn, what (c) runs for one API:
ChatCerebras and a RoutedChatModel over the emulator (in its own process), alternating
call by call, and prints per process the ratio of medians and the paired added time,
then their mean and range. (c)'s bootstrap interval covers the noise within its one
process; between processes the same code moved by +-8 us on a ~2 ms stream
(docs/benchmarks.md (c), session 9), as much as the margin its target needs.

To judge a change, give ``--ref`` a directory holding another copy of the package
(``git worktree add /tmp/ref HEAD`` makes one): processes then alternate between that
copy (``ref``) and this tree (``this``), so the change is measured in (c)'s own setting,
two contenders a process, rather than by an in-process ablation, whose figures did not
transfer to it. A measurement tool, not a target: ``make bench`` does not run it.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# Neither module imports langchain_cerebras_router at import time: a worker can still
# put another copy of it first on its path (``--ref``).
from benchmarks.common import (
    ainterleave,
    emulator_process,
    interleave,
    paired_difference,
    run_async,
)
from benchmarks.router_overhead import (
    DIRECT,
    PROMPT,
    ROUTER,
    SHORT_TOKENS,
    _adrain,
    _drain,
    _models,
)

APIS = ("invoke", "stream", "ainvoke", "astream")
_WORKER_FLAG = "--worker"


def _calls() -> dict[str, Callable[[Any], Any]]:
    """The call each API makes, as (c) makes it."""
    return {
        "invoke": lambda model: model.invoke(PROMPT, max_tokens=SHORT_TOKENS),
        "stream": lambda model: _drain(model, SHORT_TOKENS),
        "ainvoke": lambda model: model.ainvoke(PROMPT, max_tokens=SHORT_TOKENS),
        "astream": lambda model: _adrain(model, SHORT_TOKENS),
    }


def measure_in_this_process(api: str, calls: int, warmup: int) -> dict[str, Any]:
    """One process's comparison of ``api``: medians (seconds), ratio, paired added time."""
    call = _calls()[api]
    with emulator_process(answer_tokens=SHORT_TOKENS) as url:
        direct, router = _models(url)
        contenders = {DIRECT: direct, ROUTER: router}
        timed = {name: functools.partial(call, model) for name, model in contenders.items()}
        if api.startswith("a"):
            samples = run_async(ainterleave(timed, iterations=calls, warmup=warmup))
        else:
            samples = interleave(timed, iterations=calls, warmup=warmup)
    import langchain_cerebras_router  # the copy this process measured

    direct_median = statistics.median(samples[DIRECT])
    router_median = statistics.median(samples[ROUTER])
    return {
        "api": api,
        "calls": calls,
        "direct_median_s": direct_median,
        "router_median_s": router_median,
        "ratio": router_median / direct_median,
        "paired_added_s": paired_difference(samples[ROUTER], samples[DIRECT]),
        "package": str(Path(langchain_cerebras_router.__file__).parent),
    }


def _run_worker(api: str, calls: int, warmup: int, package_dir: str | None) -> dict[str, Any]:
    """Measure in a fresh interpreter, importing the package from ``package_dir`` if given."""
    command = [sys.executable, "-m", "benchmarks.router_spread", _WORKER_FLAG, api]
    command += ["--calls", str(calls), "--warmup", str(warmup)]
    if package_dir is not None:
        command += ["--package-dir", package_dir]
    root = Path(__file__).resolve().parent.parent
    completed = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        msg = f"worker failed ({completed.returncode}): {completed.stderr[-2000:]}"
        raise RuntimeError(msg)
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def spread(
    api: str, processes: int, calls: int, warmup: int, ref: str | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """``[(variant, result)]`` for ``processes`` fresh processes, alternating with ``ref``."""
    variants: list[tuple[str, str | None]] = [("this", None)]
    if ref is not None:
        variants = [("ref", ref), ("this", None)]
    rows = []
    for index in range(processes):
        name, package_dir = variants[index % len(variants)]
        rows.append((name, _run_worker(api, calls, warmup, package_dir)))
    return rows


def spread_summary(rows: Sequence[dict[str, Any]]) -> str:
    """Mean and range of the processes' ratios and paired added times, in words."""
    ratios = [row["ratio"] for row in rows]
    added = [row["paired_added_s"] * 1e6 for row in rows]
    return (
        f"mean ratio {statistics.fmean(ratios):.4f} (range {min(ratios):.4f}-"
        f"{max(ratios):.4f}), paired added {statistics.fmean(added):+.1f} us "
        f"(range {min(added):+.1f} to {max(added):+.1f}) over {len(rows)} processes"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Print the per-process ratios and their spread (or, as a worker, one JSON line)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.router_spread")
    parser.add_argument(_WORKER_FLAG, choices=APIS, help=argparse.SUPPRESS)
    parser.add_argument("--package-dir", help=argparse.SUPPRESS)
    parser.add_argument("--api", choices=APIS, default="stream")
    parser.add_argument("--processes", type=int, default=6, help="fresh processes, in turn")
    parser.add_argument("--calls", type=int, default=1000, help="calls per model and process")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--ref", help="a directory holding another langchain_cerebras_router")
    args = parser.parse_args(argv)
    if args.worker:
        if args.package_dir:
            sys.path.insert(0, args.package_dir)
        print(json.dumps(measure_in_this_process(args.worker, args.calls, args.warmup)))
        return 0
    if args.processes < 1:
        parser.error("--processes must be at least 1")
    ref = None if args.ref is None else str(Path(args.ref).resolve())
    if ref is not None and not (Path(ref) / "langchain_cerebras_router").is_dir():
        parser.error(f"--ref {args.ref!r} holds no langchain_cerebras_router package")
    rows = spread(args.api, args.processes, args.calls, args.warmup, ref)
    print(f"{args.api}: RoutedChatModel / ChatCerebras, {args.calls} calls a process")
    for index, (name, row) in enumerate(rows, 1):
        print(
            f"{index:3d} {name:5} direct {row['direct_median_s'] * 1e6:7.0f} us  "
            f"ratio {row['ratio']:.4f}  paired {row['paired_added_s'] * 1e6:+7.1f} us"
        )
    for name in dict.fromkeys(name for name, _ in rows):
        measured = [row for n, row in rows if n == name]
        print(f"{name}: {spread_summary(measured)}; package {measured[0]['package']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
