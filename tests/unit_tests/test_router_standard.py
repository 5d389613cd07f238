"""LangChain's standard unit tests for RoutedChatModel."""

from __future__ import annotations

from typing import Any

from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_cerebras_router import RoutedChatModel


class TestRoutedChatModelStandard(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[RoutedChatModel]:
        return RoutedChatModel

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "llama-3.3-70b-versatile"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {
                "CEREBRAS_API_KEY": "env-key",
                "CEREBRAS_BASE_URL": "http://127.0.0.1:9",
                "GROQ_API_KEY": "env-key",
                "GROQ_API_BASE": "http://127.0.0.1:9",
                "LANGCHAIN_ROUTER_PRIORITY": "ultimate_speed",
            },
            {"model": "llama-3.3-70b-versatile"},
            {"priority": "ultimate_speed"},
        )

    @property
    def has_tool_choice(self) -> bool:
        return True
