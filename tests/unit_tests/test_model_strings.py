"""``init_chat_model`` with "cerebras:" and "routed:" strings, delegating the rest to LangChain."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from langchain_cerebras_router.chat_models import ChatCerebras
from langchain_cerebras_router.model_strings import init_chat_model
from langchain_cerebras_router.router import RoutedChatModel
from langchain_cerebras_router.testing import Emulator


@pytest.fixture
def without_langchain(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import langchain`` fail, whatever is installed."""
    monkeypatch.setitem(sys.modules, "langchain", None)
    monkeypatch.setitem(sys.modules, "langchain.chat_models", None)


@pytest.fixture
def fake_langchain(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Install a stand-in ``langchain.chat_models`` that records its calls."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def fake_init_chat_model(model: str, **kwargs: Any) -> FakeListChatModel:
        calls.append((model, kwargs))
        return FakeListChatModel(responses=["delegated"])

    package = types.ModuleType("langchain")
    chat_models = types.ModuleType("langchain.chat_models")
    chat_models.init_chat_model = fake_init_chat_model  # type: ignore[attr-defined]
    package.chat_models = chat_models  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "langchain", package)
    monkeypatch.setitem(sys.modules, "langchain.chat_models", chat_models)
    return calls


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("cerebras:gpt-oss-120b", None),
        ("Cerebras:gpt-oss-120b", None),
        ("gpt-oss-120b", "cerebras"),
        ("gpt-oss-120b", "Cerebras"),
    ],
)
def test_cerebras_strings_build_chat_cerebras(model: str, provider: str | None) -> None:
    llm = init_chat_model(model, model_provider=provider, temperature=0.2, max_tokens=64)
    assert type(llm) is ChatCerebras
    assert llm.model == "gpt-oss-120b"
    assert llm.temperature == 0.2
    assert llm.max_tokens == 64


def test_model_provider_wins_over_a_prefix() -> None:
    # As in LangChain: with model_provider given, the string is the model id as is.
    llm = init_chat_model("zai-glm-4.7", model_provider="cerebras")
    assert isinstance(llm, ChatCerebras)
    assert llm.model == "zai-glm-4.7"


def test_cerebras_string_model_answers(emulator: Emulator) -> None:
    llm = init_chat_model(
        "cerebras:llama3.1-8b", api_key="emulator-key", base_url=emulator.base_url
    )
    message = llm.invoke("Hello")
    assert message.content
    assert message.response_metadata["model_name"] == "llama3.1-8b"
    assert emulator.requests[-1].body["model"] == "llama3.1-8b"


@pytest.mark.parametrize(
    ("model", "provider"),
    [("routed:llama-3.3-70b-versatile", None), ("llama-3.3-70b-versatile", "routed")],
)
def test_routed_strings_build_a_router_from_the_environment(
    model: str, provider: str | None
) -> None:
    # conftest sets CEREBRAS_API_KEY and GROQ_API_KEY: both providers get routes.
    router = init_chat_model(model, model_provider=provider, priority="ultimate_speed")
    assert isinstance(router, RoutedChatModel)
    assert router.model == "llama-3.3-70b-versatile"
    assert router.priority == "ultimate_speed"
    assert {"cerebras", "groq"} <= set(router.routes)


@pytest.mark.parametrize("model", ["", "   ", "cerebras:", "routed:  "])
def test_empty_models_are_rejected(model: str) -> None:
    with pytest.raises(ValueError, match="cerebras:<model>"):
        init_chat_model(model)


def test_configurable_arguments_are_refused_for_own_providers() -> None:
    with pytest.raises(ValueError, match="configurable_fields"):
        init_chat_model("cerebras:gpt-oss-120b", configurable_fields=("temperature",))


@pytest.mark.usefixtures("without_langchain")
def test_other_providers_need_langchain() -> None:
    with pytest.raises(ImportError, match=r"pip install \"langchain>=1\.0\"") as info:
        init_chat_model("openai:gpt-4o")
    assert "'openai'" in str(info.value)
    with pytest.raises(ImportError, match="'anthropic'"):
        init_chat_model("claude-sonnet", model_provider="anthropic")


@pytest.mark.usefixtures("without_langchain")
def test_unknown_strings_list_the_accepted_forms() -> None:
    with pytest.raises(ValueError, match="Cannot tell which provider") as info:
        init_chat_model("gpt-4o")
    message = str(info.value)
    assert '"cerebras:<model>"' in message
    assert '"routed:<model>"' in message
    assert "model_provider" in message


def test_other_providers_are_delegated_to_langchain(
    fake_langchain: list[tuple[str, dict[str, Any]]],
) -> None:
    llm = init_chat_model("openai:gpt-4o", temperature=0)
    assert isinstance(llm, FakeListChatModel)
    llm2 = init_chat_model("gpt-4o", model_provider="openai", configurable_fields="any")
    assert isinstance(llm2, FakeListChatModel)
    assert fake_langchain == [
        ("openai:gpt-4o", {"model_provider": None, "temperature": 0}),
        ("gpt-4o", {"model_provider": "openai", "configurable_fields": "any"}),
    ]


def test_own_providers_are_never_delegated(
    fake_langchain: list[tuple[str, dict[str, Any]]],
) -> None:
    assert isinstance(init_chat_model("cerebras:gpt-oss-120b"), ChatCerebras)
    assert isinstance(init_chat_model("routed:gpt-oss-120b"), RoutedChatModel)
    assert fake_langchain == []
