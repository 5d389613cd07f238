"""LangChain chat models for Cerebras, and a router over Cerebras, Groq and OpenAI.

* :class:`ChatCerebras` — a complete ``BaseChatModel`` on the official ``cerebras-cloud-sdk``.
* :class:`RoutedChatModel` — priority routing with millisecond failover that is still a
  chat model (``bind_tools``, ``with_structured_output``, LangGraph nodes).
* :mod:`langchain_cerebras_router.testing` — a local emulator of the Cerebras and Groq APIs.

Public names are imported lazily, so ``import langchain_cerebras_router.testing`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from langchain_cerebras_router._version import __version__

if TYPE_CHECKING:
    from langchain_cerebras_router.catalogue import ModelCatalogue
    from langchain_cerebras_router.chat_models import ChatCerebras
    from langchain_cerebras_router.errors import (
        InvalidMessagesError,
        InvalidToolChoiceError,
        MalformedResponseError,
        MalformedStreamError,
        StreamInterruptedError,
        StreamTimeoutError,
    )
    from langchain_cerebras_router.failover import AllRoutesFailedError, PartialStreamError
    from langchain_cerebras_router.health import HealthStore, InMemoryHealthStore
    from langchain_cerebras_router.metrics import SpeedMonitor
    from langchain_cerebras_router.model_strings import init_chat_model
    from langchain_cerebras_router.policy import PriorityPolicy, RoutingPolicy
    from langchain_cerebras_router.router import RoutedChatModel
    from langchain_cerebras_router.strict_schema import StrictSchemaError

_EXPORTS: dict[str, str] = {
    "ChatCerebras": "langchain_cerebras_router.chat_models",
    "InvalidMessagesError": "langchain_cerebras_router.errors",
    "InvalidToolChoiceError": "langchain_cerebras_router.errors",
    "MalformedResponseError": "langchain_cerebras_router.errors",
    "MalformedStreamError": "langchain_cerebras_router.errors",
    "StreamInterruptedError": "langchain_cerebras_router.errors",
    "StreamTimeoutError": "langchain_cerebras_router.errors",
    "StrictSchemaError": "langchain_cerebras_router.strict_schema",
    "AllRoutesFailedError": "langchain_cerebras_router.failover",
    "PartialStreamError": "langchain_cerebras_router.failover",
    "RoutedChatModel": "langchain_cerebras_router.router",
    "SpeedMonitor": "langchain_cerebras_router.metrics",
    "ModelCatalogue": "langchain_cerebras_router.catalogue",
    "HealthStore": "langchain_cerebras_router.health",
    "InMemoryHealthStore": "langchain_cerebras_router.health",
    "PriorityPolicy": "langchain_cerebras_router.policy",
    "RoutingPolicy": "langchain_cerebras_router.policy",
    "init_chat_model": "langchain_cerebras_router.model_strings",
}

__all__ = [
    "AllRoutesFailedError",
    "ChatCerebras",
    "HealthStore",
    "InMemoryHealthStore",
    "InvalidMessagesError",
    "InvalidToolChoiceError",
    "MalformedResponseError",
    "MalformedStreamError",
    "ModelCatalogue",
    "PartialStreamError",
    "PriorityPolicy",
    "RoutedChatModel",
    "RoutingPolicy",
    "SpeedMonitor",
    "StreamInterruptedError",
    "StreamTimeoutError",
    "StrictSchemaError",
    "__version__",
    "init_chat_model",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        msg = f"module 'langchain_cerebras_router' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
