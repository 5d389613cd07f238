"""Shared fixtures for the unit tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give drop-in constructions keys and unreachable URLs unless a test sets its own.

    Live keys from the developer's shell must never reach a unit test.
    """
    for name in (
        "CEREBRAS_API_KEY",
        "GROQ_API_KEY",
        "OPENAI_API_KEY",
        "LANGCHAIN_ROUTER_PRIORITY",
        "LANGCHAIN_ROUTER_STATE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CEREBRAS_API_KEY", "unit-test-key")
    monkeypatch.setenv("GROQ_API_KEY", "unit-test-key")
    monkeypatch.setenv("CEREBRAS_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("GROQ_API_BASE", "http://127.0.0.1:9")
