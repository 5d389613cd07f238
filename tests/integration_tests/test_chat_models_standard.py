"""LangChain's standard integration tests for ChatCerebras, offline against the emulator.

Tool calling, structured output, JSON mode, usage metadata and streaming are all on; the
bundled emulator (``langchain_cerebras_router.testing``) answers as the real API does.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests

from langchain_cerebras_router import ChatCerebras
from langchain_cerebras_router.testing import Emulator


class TestChatCerebrasIntegration(ChatModelIntegrationTests):
    base_url: str = ""

    @pytest.fixture(autouse=True)
    def _point_at_emulator(self, emulator: Emulator) -> None:
        type(self).base_url = emulator.base_url

    @property
    def chat_model_class(self) -> type[ChatCerebras]:
        return ChatCerebras

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "model": "gpt-oss-120b",
            "api_key": "emulator-key",
            "base_url": self.base_url,
            "max_retries": 0,
        }

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_model_override(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "llama3.1-8b"

    @property
    def supported_usage_metadata_details(self) -> dict[str, list[str]]:
        return {"invoke": ["cache_read_input"], "stream": ["cache_read_input"]}

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> Any:
        """Send the same long prompt twice: the second reuses the cached prefix."""
        llm = ChatCerebras(**self.chat_model_params)
        prompt = "Summarise the following policy. " + " ".join(f"clause {i}." for i in range(400))
        llm.invoke(prompt)
        if stream:
            full = None
            for chunk in llm.stream(prompt):
                full = chunk if full is None else full + chunk
            return full
        return llm.invoke(prompt)
