"""The ``langchain-cerebras-router`` CLI: every command, offline, against the emulator."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cerebras.cloud.sdk import Cerebras, InternalServerError
from groq import Groq
from typer.testing import CliRunner

from langchain_cerebras_router import cli
from langchain_cerebras_router.cli_app import app
from langchain_cerebras_router.testing import Emulator

PROVIDER_ENV = (
    "CEREBRAS_API_KEY",
    "CEREBRAS_BASE_URL",
    "GROQ_API_KEY",
    "GROQ_API_BASE",
    "GROQ_BASE_URL",
    "OPENAI_API_KEY",
)
CEREBRAS_CANARY = "csk-CANARYcerebras0123456789"
GROQ_CANARY = "gsk_CANARYgroq0123456789"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "120")


def _run(runner: CliRunner, *args: str) -> Any:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def _flat(output: str) -> str:
    """The output without rich's panel borders and line wrapping."""
    return re.sub(r"[│╭╮╰╯─\s]+", " ", output)


def _assert_says_emulator(output: str) -> None:
    assert "EMULATOR" in output
    assert "no CEREBRAS_API_KEY or GROQ_API_KEY is set" in output


def test_help_lists_every_command(runner: CliRunner) -> None:
    result = _run(runner, "--help")
    assert result.exit_code == 0
    for command in ("demo", "models", "bench", "compare", "doctor", "emulator"):
        assert command in result.output
    version = _run(runner, "--version")
    assert version.output.startswith("langchain-cerebras-router ")


def test_main_without_the_extra_names_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "typer", None)
    assert cli.main(["doctor"]) == 1
    err = capsys.readouterr().err
    assert "pip install 'langchain-cerebras-router[cli]'" in err
    assert "typer" in err


@pytest.mark.usefixtures("no_keys")
def test_main_returns_the_exit_status() -> None:
    assert cli.main(["--version"]) == 0
    assert cli.main(["bench", "--model", "nope"]) == 2


@pytest.mark.usefixtures("no_keys")
def test_demo_command(runner: CliRunner) -> None:
    result = _run(runner, "demo", "--plain")
    assert result.exit_code == 0, result.output
    assert "Emulator mode (CEREBRAS_API_KEY is not set)" in result.output
    assert "--- 5. routing with failover" in result.output
    assert "Demo finished: every section ran." in result.output


@pytest.mark.usefixtures("no_keys")
def test_models_table(runner: CliRunner) -> None:
    result = _run(runner, "models")
    assert result.exit_code == 0, result.output
    _assert_says_emulator(result.output)
    for expected in (
        "Cerebras",
        "gpt-oss-120b",
        "3,000",
        "$0.35",
        "Groq",
        "llama-3.3-70b-versatile",
    ):
        assert expected in result.output
    assert "4 models listed by GET /v1/models" in result.output


@pytest.mark.usefixtures("no_keys")
def test_models_json(runner: CliRunner) -> None:
    result = _run(runner, "models", "--json", "--all")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["mode"] == "emulator"
    by_provider = {p["provider"]: p for p in payload["providers"]}
    assert set(by_provider) == {"cerebras", "groq"}
    cerebras = {m["model_id"]: m for m in by_provider["cerebras"]["models"]}
    assert cerebras["gpt-oss-120b"]["listed"] is True
    assert cerebras["gpt-oss-120b"]["advertised_tokens_per_second"] == 3000
    assert cerebras["gpt-oss-120b"]["price_output_per_million"] == 0.75
    # --all adds catalogued ids the provider does not list.
    assert cerebras["llama-4-scout-17b-16e-instruct"]["listed"] is False
    assert cerebras["llama-4-scout-17b-16e-instruct"]["status"] == "retired"
    # The banner goes to stderr so that stdout stays JSON.
    assert "EMULATOR" in result.stderr


def test_models_with_keys_calls_the_configured_endpoint(
    runner: CliRunner, emulator_env: Emulator
) -> None:
    result = _run(runner, "models", "--json", "-p", "groq")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["mode"] == "live"
    assert [p["provider"] for p in payload["providers"]] == ["groq"]
    assert emulator_env.request_count("groq", "/models") == 1


@pytest.mark.usefixtures("no_keys")
def test_bench_writes_table_json_and_plot(runner: CliRunner, tmp_path: Path) -> None:
    plot = tmp_path / "charts" / "bench.png"
    json_out = tmp_path / "bench.json"
    result = _run(
        runner,
        "bench",
        "-n",
        "2",
        "--max-tokens",
        "16",
        "--no-warmup",
        "--plot",
        str(plot),
        "--json-out",
        str(json_out),
    )
    assert result.exit_code == 0, result.output
    _assert_says_emulator(result.output)
    assert "Bench · 2 streamed calls per target · EMULATOR" in result.output
    assert "gpt-oss-120b" in result.output
    assert "llama-3.3-70b-versatile" in result.output
    assert "2/2" in result.output
    png = plot.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 20_000
    report = json.loads(json_out.read_text())
    assert report["mode"] == "emulator"
    assert report["settings"]["requests_per_target"] == 2
    targets = {t["provider"]: t for t in report["targets"]}
    assert set(targets) == {"cerebras", "groq"}
    cerebras = targets["cerebras"]
    assert cerebras["advertised_tokens_per_second"] == 3000
    assert len(cerebras["samples"]) == 2
    (stats,) = cerebras["stats"]
    assert stats["calls"] == 2
    assert stats["ttft_p50"] > 0
    # The emulator paces Cerebras at 3,000 tokens/s and reports it in time_info.
    assert stats["server_tokens_per_second_p50"] == pytest.approx(3000, rel=0.01)


@pytest.mark.usefixtures("no_keys")
def test_bench_counts_failures_and_exits_nonzero(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from langchain_cerebras_router import cli_targets

    original = cli_targets.Session.pace

    def pace_with_fault(self: cli_targets.Session, target: cli_targets.Target) -> None:
        original(self, target)
        if self.emulator is not None and target.provider == "groq":
            self.emulator.inject("status:503", provider="groq", times=None)

    monkeypatch.setattr(cli_targets.Session, "pace", pace_with_fault)
    result = _run(runner, "bench", "-n", "2", "--max-tokens", "8", "--no-warmup")
    assert result.exit_code == 1
    assert "0/2" in result.output
    assert "InternalServerError" in result.output


@pytest.mark.usefixtures("no_keys")
def test_bench_rejects_unknown_providers(runner: CliRunner) -> None:
    result = _run(runner, "bench", "-m", "mistral:large")
    assert result.exit_code == 2
    assert "unknown provider 'mistral'" in _flat(result.output)


def test_commands_with_no_usable_provider_say_why(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CEREBRAS_API_KEY", raising=False)
    result = _run(runner, "bench", "-m", "cerebras")
    assert result.exit_code == 2
    assert "Cerebras skipped: CEREBRAS_API_KEY is missing" in _flat(result.output)
    assert "--emulator" in result.output


@pytest.mark.usefixtures("no_keys")
def test_compare_side_by_side(runner: CliRunner, tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("# my prompts\nName a prime number.\n\nSay hi to Ada.\n")
    result = _run(runner, "compare", "--prompts", str(prompts), "--max-tokens", "16")
    assert result.exit_code == 0, result.output
    _assert_says_emulator(result.output)
    assert "Name a prime number." in result.output
    assert "Say hi to Ada." in result.output
    assert "my prompts" not in result.output
    assert "gpt-oss-120b" in result.output
    assert "llama-3.3-70b-versatile" in result.output
    assert "TTFT" in result.output
    # 16 tokens are not enough for the reasoning model to answer: the table says why.
    assert "max_tokens reached" in result.output


@pytest.mark.usefixtures("no_keys")
def test_compare_json(runner: CliRunner) -> None:
    result = _run(runner, "compare", "--json", "--max-tokens", "96")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["mode"] == "emulator"
    assert payload["targets"] == ["cerebras:gpt-oss-120b", "groq:llama-3.3-70b-versatile"]
    assert len(payload["results"]) == 3
    for row in payload["results"]:
        assert [a["provider"] for a in row["answers"]] == ["cerebras", "groq"]
        for answer in row["answers"]:
            assert answer["error"] is None
            assert answer["answer"]
            assert answer["finish_reason"] == "stop"
            assert answer["latency"] > 0


@pytest.mark.usefixtures("no_keys")
def test_compare_rejects_an_empty_prompt_file(runner: CliRunner, tmp_path: Path) -> None:
    prompts = tmp_path / "empty.txt"
    prompts.write_text("# nothing\n\n")
    result = _run(runner, "compare", "--prompts", str(prompts))
    assert result.exit_code == 2
    assert "no prompt found" in _flat(result.output)


@pytest.mark.usefixtures("no_keys")
def test_doctor_without_keys(runner: CliRunner) -> None:
    result = _run(runner, "doctor")
    assert result.exit_code == 0, result.output
    _assert_says_emulator(result.output)
    for expected in (
        "CEREBRAS_API_KEY",
        "missing",
        "GET /v1/models answered",
        "gpt-oss-120b is served",
        "tcp warm-up",
        "GET /v1/tcp_warming",
        "rate limits",
        "requests 999,999 of 1,000,000 left",
    ):
        assert expected in result.output


@pytest.mark.usefixtures("no_keys")
def test_doctor_json(runner: CliRunner) -> None:
    result = _run(runner, "doctor", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["mode"] == "emulator"
    checks = {(c["section"], c["name"]): c for c in payload["checks"]}
    assert checks["environment", "CEREBRAS_API_KEY"]["detail"] == "missing"
    assert checks["cerebras", "rate limits"]["status"] == "ok"
    assert checks["groq", "rate limits"]["status"] == "ok"
    assert checks["groq", "model"]["detail"] == "llama-3.3-70b-versatile is served"


def test_doctor_never_prints_a_key(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, emulator: Emulator
) -> None:
    monkeypatch.setenv("CEREBRAS_API_KEY", CEREBRAS_CANARY)
    monkeypatch.setenv("GROQ_API_KEY", GROQ_CANARY)
    monkeypatch.setenv("CEREBRAS_BASE_URL", emulator.base_url)
    monkeypatch.setenv("GROQ_API_BASE", emulator.base_url)
    for args in (["doctor"], ["doctor", "--json"]):
        result = _run(runner, *args)
        assert result.exit_code == 0, result.output
        assert "CANARY" not in result.output
        assert "set" in result.output
    # Rate-limit headroom is read from the headers of a tiny request.
    emulator.set_rate_limits("cerebras", requests_per_day=10)
    result = _run(runner, "doctor")
    assert "requests 9 of 10 left" in result.output


def test_doctor_failures_never_print_a_key(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Emulator(api_keys={"the-right-key"}) as strict:
        monkeypatch.setenv("CEREBRAS_API_KEY", CEREBRAS_CANARY)
        monkeypatch.setenv("GROQ_API_KEY", GROQ_CANARY)
        monkeypatch.setenv("CEREBRAS_BASE_URL", strict.base_url)
        monkeypatch.setenv("GROQ_API_BASE", strict.base_url)
        result = _run(runner, "doctor")
    assert result.exit_code == 1
    assert "AuthenticationError" in result.output
    assert "check(s) failed" in result.output
    assert "CANARY" not in result.output


@pytest.mark.usefixtures("no_keys")
def test_emulator_command_prints_what_to_export(runner: CliRunner) -> None:
    result = _run(
        runner, "emulator", "--port", "0", "--duration", "0", "--fault", "groq=status:503"
    )
    assert result.exit_code == 0, result.output
    assert "export CEREBRAS_BASE_URL=http://127.0.0.1:" in result.output
    assert "export GROQ_API_BASE=http://127.0.0.1:" in result.output
    assert "groq=status:503" in result.output
    assert "Emulator stopped after 0 chat request(s)." in result.output


def test_emulator_command_rejects_bad_faults(runner: CliRunner) -> None:
    for spec in ("bogus", "mistral=status:503"):
        result = _run(runner, "emulator", "--port", "0", "--duration", "0", "--fault", spec)
        assert result.exit_code == 2
        assert "Invalid value for --fault" in _flat(result.output)


def test_emulator_command_serves_until_terminated() -> None:
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV}
    env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "langchain_cerebras_router",
            "emulator",
            "--port",
            "0",
            "--duration",
            "60",
            "--fault",
            "cerebras=status:503",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        exports: dict[str, str] = {}
        for line in process.stdout:
            if line.strip().startswith("export "):
                name, _, value = line.strip().removeprefix("export ").partition("=")
                exports[name] = value
            if "Ctrl-C" in line:
                break
        assert set(exports) == {
            "CEREBRAS_API_KEY",
            "CEREBRAS_BASE_URL",
            "GROQ_API_KEY",
            "GROQ_API_BASE",
        }
        messages: Any = [{"role": "user", "content": "Hi"}]
        cerebras = Cerebras(
            api_key=exports["CEREBRAS_API_KEY"],
            base_url=exports["CEREBRAS_BASE_URL"],
            warm_tcp_connection=False,
            max_retries=0,
        )
        with pytest.raises(InternalServerError):
            cerebras.chat.completions.create(model="gpt-oss-120b", messages=messages)
        groq = Groq(api_key=exports["GROQ_API_KEY"], base_url=exports["GROQ_API_BASE"])
        reply: Any = groq.chat.completions.create(
            model="llama-3.3-70b-versatile", messages=messages
        )
        assert reply.choices[0].message.content
        process.terminate()
        rest, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "Emulator stopped after 2 chat request(s)." in rest
