"""Every benchmark runs at a tiny size and returns a well-formed result.

Benchmarks are not tests: nothing here asserts on a timing or on a target's status, only
that each benchmark still runs end to end against the emulator and reports what it should.
"""

from __future__ import annotations

import gc
import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

# langchain-cerebras, a contender in (a), (b) and (g), only exists for Python >= 3.11 with
# langchain-openai 1.x (see the test extra in pyproject.toml).
pytest.importorskip("langchain_cerebras", reason="benchmarks compare against langchain-cerebras")

from benchmarks import BENCHMARKS, OPTIONAL, profile_hot_paths
from benchmarks.__main__ import _format_value, main
from benchmarks.common import (
    Target,
    format_table,
    paired_difference,
    percentile,
    plot_result,
    ratio_interval,
    validate_result,
)

OURS = [name for name in BENCHMARKS if name not in OPTIONAL]


@pytest.fixture(scope="module")
def tiny_results() -> dict[str, dict[str, Any]]:
    results = {}
    for name in OURS:
        results[name] = importlib.import_module(f"benchmarks.{name}").run(quick=True, tiny=True)
        gc.collect()  # as the runner does: SDK clients are dropped outside any event loop
    return results


@pytest.mark.parametrize("name", OURS)
def test_benchmark_result_is_well_formed(
    name: str, tiny_results: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    result = tiny_results[name]
    assert validate_result(result) == []
    assert result["name"] == name
    assert format_table(result["rows"], result["columns"]).count("\n") == len(result["rows"]) + 1
    assert plot_result(result, tmp_path / f"{name}.png")
    assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", [n for n in OURS if n != "footprint"])
def test_every_issue_benchmark_states_its_targets(
    name: str, tiny_results: dict[str, dict[str, Any]]
) -> None:
    targets = tiny_results[name]["targets"]
    assert targets
    for target in targets:
        assert isinstance(target["measured"], float)
        assert target["status"] in ("PASS", "MISS")


def test_scale_and_failover_report_no_errors(tiny_results: dict[str, dict[str, Any]]) -> None:
    scale = tiny_results["scale"]
    assert all(row["errors"] == 0 for row in scale["rows"])
    assert scale["targets"][0]["measured"] == 0.0
    failover = tiny_results["failover"]
    faults = {row["fault"] for row in failover["rows"]}
    assert len(faults) == 5
    routed = [r for r in failover["rows"] if r["contender"] == "RoutedChatModel"]
    assert all(r["faulty_route_calls"] == 1 for r in routed)
    down = [r for r in failover["rows"] if r["contender"].endswith("route known down")]
    assert all(r["faulty_route_calls"] == 0 for r in down)


def test_hedging_target_uses_the_second_route_called_as_a_hedge(
    tiny_results: dict[str, dict[str, Any]],
) -> None:
    hedging = tiny_results["hedging"]
    delay_ms = hedging["params"]["hedge_after_s"] * 1e3
    for target in hedging["targets"]:
        api = target["id"].split(".")[1].removesuffix("_hedged_p99")
        series = {
            name.removeprefix(f"{api} "): values
            for name, values in hedging["series"].items()
            if name.startswith(f"{api} ")
        }
        (hedged,) = [v for k, v in series.items() if k.startswith("RoutedChatModel, hedge_after")]
        (as_hedge,) = [v for k, v in series.items() if "as a hedge" in k]
        (warm,) = [v for k, v in series.items() if "back to back" in k]
        assert len(as_hedge) == len(hedged) == len(warm) == hedging["params"]["calls_per_contender"]
        expected = percentile(hedged, 0.99) / (delay_ms + percentile(as_hedge, 0.99))
        assert target["measured"] == pytest.approx(expected, rel=1e-3)


def test_router_overhead_notes_the_stream_comparison_in_fresh_processes(
    tiny_results: dict[str, dict[str, Any]],
) -> None:
    result = tiny_results["router_overhead"]
    (note,) = [n for n in result["notes"] if "fresh processes" in n]
    assert note.startswith("Not the target's method")
    ratios = result["params"]["spread_stream_ratios"]
    assert len(ratios) == result["params"]["spread_processes"] == 1
    assert f"{ratios[0]:.4f}" in note and ratios[0] > 0


def test_close_ratios_get_a_third_decimal() -> None:
    assert _format_value(1.0013, "x", 1.0) == "1.001x"
    assert _format_value(1.0, "x", 1.0) == "1.00x"
    assert _format_value(1.27, "x", 1.05) == "1.27x"
    assert _format_value(3.5, "ms", 50.0) == "3.5 ms"
    assert _format_value(None, "x", 1.0) == "-"


def test_profile_hot_paths_runs(capsys: pytest.CaptureFixture[str]) -> None:
    small = ["--calls", "3", "--tokens", "40", "--top", "3"]
    assert profile_hot_paths.main(["stream", "router_invoke", "hop", *small]) == 0
    assert profile_hot_paths.main(["--delta", "invoke", "router_invoke", *small]) == 0
    out = capsys.readouterr().out
    assert "## stream: " in out
    assert "## router_invoke: " in out
    assert "the hop: " in out
    assert "## delta router_invoke - invoke: " in out
    with pytest.raises(SystemExit):
        profile_hot_paths.main(["nope"])


def test_target_status() -> None:
    assert Target("t", "ratio", 1.05, "<=", 1.10).status == "PASS"
    assert Target("t", "ratio", 1.2, "<=", 1.10).status == "MISS"
    assert Target("t", "speed-up", 5.0, ">=", 4.5).status == "PASS"
    assert Target("t", "added", 50.0, "<", 50.0, unit="ms").status == "MISS"
    assert Target("t", "nothing", None, "<", 1.0).status == "N/A"


def test_percentile_interpolates() -> None:
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([0.0, 10.0], 0.99) == pytest.approx(9.9)
    assert percentile([7.0], 0.99) == 7.0


def test_paired_difference_is_the_median_of_the_pairwise_differences() -> None:
    base = [1.0, 2.0, 3.0, 10.0]
    # Differences 0.1, 0.2, 0.3, -5.0: their median (0.15), not the medians' difference (0.25).
    assert paired_difference([1.1, 2.2, 3.3, 5.0], base) == pytest.approx(0.15)
    # A drift shared by both contenders cancels in the pairs.
    drifting = [float(i) for i in range(100)]
    assert paired_difference([x + 0.01 for x in drifting], drifting) == pytest.approx(0.01)
    assert paired_difference([3.0, 1.0, 2.0], [0.0, 0.0, 10.0]) == 1.0
    with pytest.raises(ValueError, match="equally long"):
        paired_difference([1.0], [1.0, 2.0])


def test_ratio_interval_brackets_the_ratio_and_narrows_with_more_samples() -> None:
    import random

    rng = random.Random(1)

    def samples(count: int) -> tuple[list[float], list[float]]:
        base = [1.0 + rng.random() for _ in range(count)]
        return [b * 1.04 + rng.gauss(0, 0.05) for b in base], base

    routed, base = samples(200)
    low, high = ratio_interval(routed, base)
    assert low < percentile(routed, 0.5) / percentile(base, 0.5) < high
    wide = high - low
    low, high = ratio_interval(*samples(3000))
    assert low < 1.04 < high
    assert high - low < wide
    assert ratio_interval(routed, base) == ratio_interval(routed, base)
    # Means: one outlier in the base moves the interval's ends, not its order.
    low, high = ratio_interval(routed, base, statistic="mean")
    assert low < sum(routed) / sum(base) < high
    with pytest.raises(ValueError, match="equally long"):
        ratio_interval([], [])


def test_validate_result_reports_problems() -> None:
    assert validate_result({"name": "x"})
    broken = {
        "name": "x",
        "title": "t",
        "columns": ["a"],
        "rows": [{"b": float("nan")}],
        "targets": [{"id": "t", "status": "MAYBE", "measured": "1"}],
        "charts": [],
        "params": {},
        "notes": [],
        "series": {},
    }
    problems = validate_result(broken)
    assert any("lacks columns" in p for p in problems)
    assert any("non-finite" in p for p in problems)
    assert any("status" in p for p in problems)


def test_runner_writes_json_markdown_and_png(tmp_path: Path) -> None:
    out = tmp_path / "results"
    assert main(["--tiny", "--only", "e", "--out", str(out)]) == 0
    data = json.loads((out / "results.json").read_text())
    assert list(data["results"]) == ["batch"]
    assert data["targets"][0]["target"] == "e.abatch_speedup"
    assert data["errors"] == {}
    assert (out / "batch.png").exists()
    assert "## Targets" in (out / "results.md").read_text()


def test_runner_rejects_unknown_names(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="unknown benchmark"):
        main(["--only", "nope", "--out", str(tmp_path)])


def test_router_bookkeeping_measures_every_api(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import router_bookkeeping

    assert router_bookkeeping.main(["--calls", "20"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["invoke", "stream", "ainvoke", "astream"]
    assert all("added" in line for line in lines[1:])


def test_router_bookkeeping_counts_the_packages_bytecodes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from benchmarks import router_bookkeeping

    assert router_bookkeeping.main(["--opcodes"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    assert [row[0] for row in rows] == ["invoke", "stream"]
    for _, _, direct, _, routed, _, added in rows:
        assert int(routed) > int(direct) and int(added) == int(routed) - int(direct)


def test_router_bookkeeping_counts_every_bytecode_per_function(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from benchmarks import router_bookkeeping

    assert router_bookkeeping.main(["--functions", "stream", "--top", "50"]) == 0
    header, columns, *rows = capsys.readouterr().out.splitlines()
    totals = [int(n) for n in re.findall(r"[-+]?\d+", header)]
    direct, routed, added, direct_functions, routed_functions, added_functions = totals
    assert added == routed - direct > 0
    assert added_functions == routed_functions - direct_functions > 0
    assert columns.split() == ["added", "routed", "function"]
    listed = {row.split()[2]: (int(row.split()[0]), int(row.split()[1])) for row in rows}
    assert 0 < len(listed) <= 50
    # The router's own loop runs; the direct model's lean loop does not run through it.
    assert listed["langchain_cerebras_router.stream_execution:run_stream"][0] > 0
    lean_added, lean_routed = listed[
        "langchain_cerebras_router.lean_streaming:LeanStreamingChatModel.stream"
    ]
    assert lean_added < 0 and lean_routed == 0
    # Dataclass constructors are named after their class.
    assert "langchain_cerebras_router.failover:CallPlan.__init__" in listed


def test_router_spread_alternates_fresh_processes_between_two_copies(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import shutil

    import langchain_cerebras_router
    from benchmarks import router_spread

    this = Path(langchain_cerebras_router.__file__).parent
    ref = tmp_path / "ref"
    shutil.copytree(this, ref / "langchain_cerebras_router")
    argv = ["--api", "stream", "--processes", "2", "--calls", "3", "--warmup", "1"]
    assert router_spread.main([*argv, "--ref", str(ref)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("stream: RoutedChatModel / ChatCerebras")
    assert [line.split()[:2] for line in lines[1:3]] == [["1", "ref"], ["2", "this"]]
    ratios = [float(line.split("ratio")[1].split()[0]) for line in lines[1:3]]
    assert all(ratio > 0 for ratio in ratios)
    summaries = dict(line.split(": ", 1) for line in lines[3:])
    assert summaries["ref"].endswith(f"package {ref / 'langchain_cerebras_router'}")
    assert summaries["this"].endswith(f"package {this}")
    with pytest.raises(SystemExit):
        router_spread.main([*argv, "--ref", str(tmp_path)])  # holds no package


def test_router_bookkeeping_times_the_routers_steps_with_io_and_restores_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from benchmarks import router_bookkeeping
    from langchain_cerebras_router.failover import CallPlan
    from langchain_cerebras_router.router import RoutedChatModel

    before = (RoutedChatModel.__dict__["_context"], CallPlan.__dict__["succeeded"])
    assert router_bookkeeping.main(["--phases", "stream", "--calls", "3"]) == 0
    assert (RoutedChatModel.__dict__["_context"], CallPlan.__dict__["succeeded"]) == before
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("routed stream with I/O: ")
    timed = {line.split()[-1]: float(line.split()[0]) for line in lines[1:]}
    for step in ("RoutedChatModel._context", "CallPlan.succeeded", "OpenedStream.closing_chunk"):
        assert timed[step] > 0.0
    # The closing chunk records the success: the outer step includes the inner one.
    assert timed["OpenedStream.closing_chunk"] >= timed["CallPlan.succeeded"]


def test_scripted_emulator_process_applies_scripts_and_reports_errors() -> None:
    """The (f) emulator runs in its own process; its fault calls reach it, and fail loudly."""
    import httpx

    from benchmarks.common import scripted_emulator_process

    with scripted_emulator_process() as emulator:
        emulator.script("cerebras", ["status:503", None])
        body = {"model": "llama3.1-8b", "messages": [{"role": "user", "content": "hi"}]}
        headers = {"Authorization": "Bearer bench-key"}
        url = emulator.base_url + "/v1/chat/completions"
        assert httpx.post(url, json=body, headers=headers).status_code == 503
        assert httpx.post(url, json=body, headers=headers).status_code == 200
        emulator.clear_faults()
        with pytest.raises(RuntimeError, match="script failed"):
            emulator.script("nowhere", [None])
