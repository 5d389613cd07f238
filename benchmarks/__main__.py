"""Run the benchmarks: ``python -m benchmarks [--quick] [--only a,b] [--out bench-results]``.

``--tiny`` runs every benchmark at smoke-test sizes (the numbers mean nothing).

Prints one table per benchmark and a PASS/MISS summary of the issue's targets, and
writes ``<out>/results.json``, ``<out>/results.md`` and one PNG per benchmark.
Exit status: 0 when every selected benchmark ran (targets missed or not), 1 when one
crashed, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib
import importlib.metadata
import importlib.util
import os
import platform
import shutil
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks import BENCHMARKS, OPTIONAL
from benchmarks.common import format_markdown_table, format_table, plot_result, write_json

_PACKAGES = (
    "langchain-cerebras-router",
    "langchain-core",
    "cerebras-cloud-sdk",
    "langchain-cerebras",
    "langchain-openai",
    "openai",
    "langchain-groq",
    "groq",
    "httpx",
    "pydantic",
)


def _parser() -> argparse.ArgumentParser:
    names = ", ".join(f"{letter or '-'}={name}" for name, (letter, _) in BENCHMARKS.items())
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmarks against the bundled emulator, side by side with alternatives.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="smoke-test sizes: checks that everything runs; the numbers mean nothing",
    )
    parser.add_argument(
        "--only",
        default="",
        metavar="A,B",
        help=f"comma-separated benchmarks, by letter or name ({names})",
    )
    parser.add_argument(
        "--out", default="bench-results", type=Path, help="output directory (bench-results)"
    )
    return parser


def _select(only: str) -> list[str]:
    if not only.strip():
        return list(BENCHMARKS)
    by_letter = {letter: name for name, (letter, _) in BENCHMARKS.items() if letter}
    chosen: list[str] = []
    for item in (part.strip() for part in only.split(",")):
        if not item:
            continue
        name = by_letter.get(item.lower(), item)
        if name not in BENCHMARKS:
            msg = f"unknown benchmark {item!r}; choose from {', '.join(BENCHMARKS)} or a-h"
            raise SystemExit(msg)
        if name not in chosen:
            chosen.append(name)
    return [name for name in BENCHMARKS if name in chosen]


def _skip_reason(name: str) -> str | None:
    """Why an optional benchmark cannot run here (``None``: it can)."""
    if name not in OPTIONAL:
        return None
    if importlib.util.find_spec(f"benchmarks.{name}") is None:
        return f"benchmarks/{name}.py is not present"
    if shutil.which("redis-server") is None:
        return "redis-server is not installed"
    return None


def _environment() -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for package in _PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "packages": versions,
    }


def _format_value(value: Any, unit: str, versus: Any = None) -> str:
    """``value`` in ``unit``; ratios get a third decimal when two would equal ``versus``."""
    if not isinstance(value, (int, float)):
        return "-"
    if unit == "x":
        close = isinstance(versus, (int, float)) and f"{value:.2f}" == f"{versus:.2f}"
        return f"{value:.3f}x" if close and value != versus else f"{value:.2f}x"
    return f"{value:.1f} {unit}" if abs(value) < 1000 else f"{value:,.0f} {unit}"


def _target_rows(results: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for name, result in results.items():
        for target in result.get("targets") or []:
            if not isinstance(target, Mapping):
                continue
            unit = str(target.get("unit", "x"))
            goal = f"{target.get('op', '')} {_format_value(target.get('threshold'), unit)}"
            rows.append(
                {
                    "benchmark": name,
                    "target": target.get("id"),
                    "what": target.get("description"),
                    "measured": _format_value(
                        target.get("measured"), unit, target.get("threshold")
                    ),
                    "goal": goal,
                    "status": target.get("status"),
                }
            )
    return rows


def _columns(result: Mapping[str, Any]) -> list[str]:
    columns = result.get("columns")
    if isinstance(columns, list) and columns:
        return [str(c) for c in columns]
    seen: dict[str, None] = {}
    for row in result.get("rows") or []:
        seen.update(dict.fromkeys(row))
    return list(seen)


def _render(name: str, result: Mapping[str, Any], seconds: float) -> str:
    letter = BENCHMARKS[name][0]
    title = result.get("title") or f"({letter}) {name}"
    lines = [f"\n=== {title}   [{seconds:.1f} s]"]
    rows = result.get("rows")
    if isinstance(rows, list) and rows and all(isinstance(r, Mapping) for r in rows):
        lines.append(format_table(rows, _columns(result)))
    else:
        flat = {k: v for k, v in result.items() if isinstance(v, (int, float, str, bool))}
        lines.extend(f"  {k}: {v}" for k, v in flat.items())
    lines.extend(f"  note: {note}" for note in result.get("notes") or [])
    for target in _target_rows({name: result}):
        lines.append(
            f"  [{target['status']}] {target['what']}: {target['measured']} "
            f"(target {target['goal']})"
        )
    return "\n".join(lines)


def _markdown(
    results: Mapping[str, Mapping[str, Any]], meta: Mapping[str, Any], targets: list[dict[str, Any]]
) -> str:
    parts = [
        "# Benchmark results",
        "",
        f"`{meta['command']}` on {meta['environment']['platform']}, "
        f"{meta['environment']['cpu_count']} CPUs, Python {meta['environment']['python']}, "
        f"{meta['generated_at']} ({meta['total_seconds']:.0f} s).",
        "",
        "## Targets",
        "",
        format_markdown_table(targets, ["target", "what", "measured", "goal", "status"]),
    ]
    for name, result in results.items():
        rows = result.get("rows")
        if not isinstance(rows, list) or not rows:
            continue
        parts += ["", f"## {result.get('title') or name}", ""]
        parts.append(format_markdown_table(rows, _columns(result)))
        parts += [f"- {note}" for note in result.get("notes") or []]
    return "\n".join(parts) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected benchmarks; see the module docstring for the exit status."""
    args = _parser().parse_args(argv)
    selected = _select(args.only)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    command = "python -m benchmarks" + (" --quick" if args.quick else "")
    command += " --tiny" if args.tiny else ""
    if args.only:
        command += f" --only {args.only}"
    print(f"{command}: {', '.join(selected)} -> {out}/", flush=True)
    results: dict[str, dict[str, Any]] = {}
    durations: dict[str, float] = {}
    skipped: dict[str, str] = {}
    errors: dict[str, str] = {}
    started = time.perf_counter()
    for name in selected:
        reason = _skip_reason(name)
        if reason is not None:
            skipped[name] = reason
            print(f"\n=== {name}: skipped ({reason})", flush=True)
            continue
        began = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            result = module.run(args.quick, tiny=True) if args.tiny else module.run(args.quick)
        except Exception:
            durations[name] = time.perf_counter() - began
            errors[name] = traceback.format_exc()
            print(f"\n=== {name}: FAILED after {durations[name]:.1f} s\n{errors[name]}", flush=True)
            continue
        durations[name] = time.perf_counter() - began
        gc.collect()  # drop this benchmark's SDK clients while no event loop runs
        results[name] = result
        print(_render(name, result, durations[name]), flush=True)
        try:
            if plot_result(result, out / f"{name}.png"):
                print(f"  chart: {out / f'{name}.png'}", flush=True)
        except Exception as exc:  # a chart must not lose the measurements
            print(f"  chart not drawn: {type(exc).__name__}: {exc}", flush=True)
    total = time.perf_counter() - started
    targets = _target_rows(results)
    meta = {
        "command": command,
        "quick": args.quick,
        "tiny": args.tiny,
        "generated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "total_seconds": total,
        "environment": _environment(),
    }
    write_json(
        out / "results.json",
        {
            **meta,
            "durations_s": durations,
            "targets": targets,
            "skipped": skipped,
            "errors": errors,
            "results": results,
        },
    )
    (out / "results.md").write_text(_markdown(results, meta, targets), encoding="utf-8")
    print("\n=== Targets")
    if targets:
        print(format_table(targets, ["target", "measured", "goal", "status", "what"]))
    passed = sum(t["status"] == "PASS" for t in targets)
    print(
        f"\n{passed}/{len(targets)} targets met; {len(results)} benchmarks ran, "
        f"{len(skipped)} skipped, {len(errors)} failed; {total:.0f} s. "
        f"Results: {out / 'results.json'}"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
