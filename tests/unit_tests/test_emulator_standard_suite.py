"""LangChain's standard chat-model integration suite, run through ``ChatGroq`` on the emulator.

``ChatGroq`` is an independent client of the Groq wire format; the suite checks that the
emulator's answers are honest enough for it: tool calls that validate against the bound tool's
schema, structured output that validates against the requested schema, JSON mode, usage in
invoke and stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_groq import ChatGroq
from langchain_tests.integration_tests import ChatModelIntegrationTests

from langchain_cerebras_router.testing import Emulator

_SERVER: list[Emulator] = []


@pytest.fixture(scope="module", autouse=True)
def _emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        _SERVER.append(emu)
        yield emu
        _SERVER.clear()


class TestChatGroqOnEmulator(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[ChatGroq]:
        return ChatGroq

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "model": "llama-3.3-70b-versatile",
            "api_key": "emulator-test-key",
            "base_url": _SERVER[0].base_url,
            "max_retries": 0,
        }

    @property
    def supports_json_mode(self) -> bool:
        return True


class TestChatGroqReasoningOnEmulator(TestChatGroqOnEmulator):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            **super().chat_model_params,
            "model": "openai/gpt-oss-120b",
            "reasoning_format": "parsed",
        }

    @property
    def structured_output_kwargs(self) -> dict[str, Any]:
        return {"method": "json_schema"}
