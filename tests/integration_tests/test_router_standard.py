"""LangChain's standard integration tests for RoutedChatModel, offline on the emulator.

Two configurations run the whole suite: routes built from the environment exactly as a
drop-in ``RoutedChatModel(model=...)`` builds them (Groq answers under the default
``balanced`` priority), and explicit routes with ``ultimate_speed`` (Cerebras answers).
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests

from langchain_cerebras_router import RoutedChatModel
from langchain_cerebras_router.testing import Emulator


class TestRoutedDropInIntegration(ChatModelIntegrationTests):
    """``RoutedChatModel(model="llama-3.3-70b-versatile")`` with keys in the environment."""

    @pytest.fixture(autouse=True)
    def _point_at_emulator(self, emulator_env: Emulator) -> None:
        """Provider env vars point at the emulator for every test."""

    @property
    def chat_model_class(self) -> type[RoutedChatModel]:
        return RoutedChatModel

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "llama-3.3-70b-versatile", "timeout": 10}

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
        return "llama-3.1-8b-instant"


class TestRoutedUltimateSpeedIntegration(TestRoutedDropInIntegration):
    """The same suite with ``priority="ultimate_speed"``: Cerebras answers first."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "gpt-oss-120b", "priority": "ultimate_speed", "timeout": 10}

    @property
    def model_override_value(self) -> str:
        return "llama3.1-8b"
