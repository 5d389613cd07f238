"""The demo (``python -m langchain_cerebras_router demo``) on the bundled emulator."""

from __future__ import annotations

import io
import json
import re
import sys

import pytest

from langchain_cerebras_router import __main__ as package_main
from langchain_cerebras_router.cli_output import make_writer, rich_available
from langchain_cerebras_router.demo import run_demo
from langchain_cerebras_router.testing import Emulator

PROVIDER_ENV = (
    "CEREBRAS_API_KEY",
    "CEREBRAS_BASE_URL",
    "GROQ_API_KEY",
    "GROQ_API_BASE",
    "GROQ_BASE_URL",
)


@pytest.fixture
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)


def _structured_block(output: str) -> dict[str, object]:
    match = re.search(r"^\s*\{\n.*?^\s*\}$", output, re.S | re.M)
    assert match, output
    return json.loads(match.group(0))  # type: ignore[no-any-return]


@pytest.mark.usefixtures("no_keys")
def test_demo_without_keys_runs_every_section_on_the_emulator() -> None:
    out = io.StringIO()
    assert run_demo(plain=True, file=out) == 0
    text = out.getvalue()
    assert "Emulator mode (CEREBRAS_API_KEY is not set)" in text
    assert "bundled Cerebras/Groq API emulator" in text
    for number, title in enumerate(
        ["invoke", "stream", "tool call", "structured output", "routing with failover"], start=1
    ):
        assert f"--- {number}. {title} " in text
    # 1: invoke shows the answer, the model and the server-side speed from time_info.
    assert re.search(r"model\s+: gpt-oss-120b", text)
    assert re.search(r"server speed\s+: 3,000 tokens/s \(from time_info\)", text)
    # 2: stream shows the text and measured numbers.
    assert re.search(r"    stream: \S+", text)
    assert re.search(r"time to first token : \d+ ms", text)
    assert re.search(r"client speed\s+: [\d,]+ tokens/s \(measured\)", text)
    # 3: the tool call round trip.
    assert "get_weather(city='Paris')" in text
    assert "Sunny and 22 °C in Paris" in text
    # 4: structured output validated into the Pydantic class.
    facts = _structured_block(text)
    assert facts["city"] == "Paris"
    assert set(facts) == {"city", "country", "population_millions", "landmarks"}
    # 5: failover from an injected 429, then the retry-after skip.
    assert "answered by 'groq'" in text
    assert re.search(r"cerebras\s+gpt-oss-120b\s+failed\s+rate_limited \(HTTP 429", text)
    assert re.search(r"cerebras\s+gpt-oss-120b\s+skipped\s+retry-after pending", text)
    assert "Demo finished: every section ran." in text


@pytest.mark.skipif(not rich_available(), reason="rich is not installed")
@pytest.mark.usefixtures("no_keys")
def test_demo_rich_output() -> None:
    out = io.StringIO()
    assert run_demo(file=out) == 0
    text = out.getvalue()
    assert "langchain-cerebras-router demo" in text
    assert "Emulator mode" in text
    for number, title in enumerate(["invoke", "stream", "tool call"], start=1):
        assert f"{number} · {title}" in text
    assert "failed" in text
    assert "answered" in text


def test_demo_with_keys_calls_the_configured_endpoints(emulator: Emulator) -> None:
    out = io.StringIO()
    code = run_demo(plain=True, file=out, environ=emulator.env("live-key"))
    text = out.getvalue()
    assert code == 0, text
    assert "Live mode: calling cerebras:gpt-oss-120b" in text
    assert "Emulator mode" not in text
    # Live routing simulates the outage with a closed port, never with the real provider.
    assert "Simulated outage" in text
    assert re.search(r"cerebras\s+gpt-oss-120b\s+failed\s+connection", text)
    assert emulator.request_count("cerebras") >= 5
    assert emulator.request_count("groq") == 2


def test_demo_skips_routing_without_a_groq_key(emulator: Emulator) -> None:
    env = {"CEREBRAS_API_KEY": "live-key", "CEREBRAS_BASE_URL": emulator.base_url}
    out = io.StringIO()
    assert run_demo(plain=True, file=out, environ=env) == 0
    text = out.getvalue()
    assert "Groq skipped: GROQ_API_KEY is missing." in text
    assert "Skipped: set GROQ_API_KEY as well" in text
    assert emulator.request_count("groq") == 0


def test_demo_reports_failing_sections_without_showing_the_key() -> None:
    canary = "csk-CANARY0123456789abcdef"
    with Emulator(api_keys={"the-right-key"}) as strict:
        env = {"CEREBRAS_API_KEY": canary, "CEREBRAS_BASE_URL": strict.base_url}
        out = io.StringIO()
        assert run_demo(plain=True, file=out, environ=env) == 1
    text = out.getvalue()
    assert text.count("ERROR: AuthenticationError") == 4
    assert "4 section(s) failed." in text
    assert canary not in text
    assert "CANARY" not in text


@pytest.mark.usefixtures("no_keys")
def test_module_entry_runs_the_demo_without_the_cli_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    monkeypatch.setitem(sys.modules, "typer", None)
    assert not rich_available()
    assert type(make_writer()).__name__ == "_PlainWriter"
    assert package_main.main(["demo"]) == 0
    captured = capsys.readouterr()
    assert "--- 5. routing with failover" in captured.out
    assert "Demo finished" in captured.out
    # Other commands need the extra and say which one.
    assert package_main.main(["models"]) == 1
    assert "pip install 'langchain-cerebras-router[cli]'" in capsys.readouterr().err
