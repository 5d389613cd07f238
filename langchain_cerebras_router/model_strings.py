"""``init_chat_model`` with ``"cerebras:<model>"`` and ``"routed:<model>"`` strings.

``langchain.chat_models.init_chat_model`` picks chat-model classes from a closed provider
table. This drop-in accepts the same arguments, builds this package's
:class:`~langchain_cerebras_router.chat_models.ChatCerebras` and
:class:`~langchain_cerebras_router.router.RoutedChatModel` itself, and hands every other
provider to LangChain's ``init_chat_model`` when the ``langchain`` package is installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel

__all__ = ["OWN_PROVIDERS", "init_chat_model"]

OWN_PROVIDERS: tuple[str, ...] = ("cerebras", "routed")
"""Providers this helper builds itself; anything else goes to ``langchain``."""

_ACCEPTED_FORMS = (
    'accepted forms: "cerebras:<model>" (ChatCerebras), "routed:<model>" (RoutedChatModel), '
    'a model with model_provider="cerebras" or "routed", or, with the langchain package '
    'installed, anything langchain.chat_models.init_chat_model accepts (e.g. "openai:gpt-4o")'
)
_CONFIGURABLE_KWARGS = ("configurable_fields", "config_prefix")


def _normalize(provider: str) -> str:
    return provider.replace("-", "_").strip().lower()


def _split(model: str, model_provider: str | None) -> tuple[str, str | None]:
    """``(model, provider)``: a ``"provider:"`` prefix counts only for our own providers.

    As in LangChain, the prefix is read only when ``model_provider`` is not given; other
    prefixes are left in the string for LangChain to interpret.
    """
    if model_provider is not None:
        return model, _normalize(model_provider)
    prefix, sep, rest = model.partition(":")
    if sep and _normalize(prefix) in OWN_PROVIDERS:
        return rest, _normalize(prefix)
    return model, None


def _langchain_init_chat_model() -> Any | None:
    """LangChain's ``init_chat_model``, or ``None`` when ``langchain`` is not installed."""
    try:
        module = importlib.import_module("langchain.chat_models")
    except ImportError:
        return None
    return getattr(module, "init_chat_model", None)


def init_chat_model(
    model: str, *, model_provider: str | None = None, **kwargs: Any
) -> BaseChatModel:
    """Build a chat model from a ``"provider:model"`` string, like LangChain's helper.

    Args:
        model: ``"cerebras:<model>"``, ``"routed:<model>"``, a bare model name with
            ``model_provider``, or any string LangChain's ``init_chat_model`` accepts.
        model_provider: ``"cerebras"``, ``"routed"``, or another LangChain provider name
            (``"openai"``, ``"groq"``...). Overrides any prefix in ``model``.
        **kwargs: Constructor arguments of the chat model (``temperature``,
            ``max_tokens``, ``timeout``, ``priority``...).

    Returns:
        A ``ChatCerebras`` for ``cerebras``, a ``RoutedChatModel`` for ``routed`` (routes
        built from the provider keys in the environment), else what LangChain's
        ``init_chat_model`` returns.

    Raises:
        ValueError: An empty model, a string that names no provider (without
            ``langchain`` installed), or configurable-model arguments with our providers.
        ImportError: Another provider was asked for and ``langchain`` is not installed.

    Example:
        .. code-block:: python

            from langchain_cerebras_router import init_chat_model

            llm = init_chat_model("cerebras:gpt-oss-120b", temperature=0)
            router = init_chat_model("routed:llama-3.3-70b-versatile", priority="ultimate_speed")
    """
    if not isinstance(model, str) or not model.strip():
        msg = f"init_chat_model needs a model name; {_ACCEPTED_FORMS}."
        raise ValueError(msg)
    name, provider = _split(model.strip(), model_provider)
    if provider in OWN_PROVIDERS:
        if not name.strip():
            msg = f"{model!r} names no model; {_ACCEPTED_FORMS}."
            raise ValueError(msg)
        configurable = [k for k in _CONFIGURABLE_KWARGS if k in kwargs]
        if configurable:
            msg = (
                f"{', '.join(configurable)} are not supported for provider {provider!r}: "
                "build the model directly and use .configurable_fields(...) instead."
            )
            raise ValueError(msg)
        if provider == "cerebras":
            from langchain_cerebras_router.chat_models import ChatCerebras

            return ChatCerebras(model=name, **kwargs)
        from langchain_cerebras_router.router import RoutedChatModel

        return RoutedChatModel(model=name, **kwargs)
    delegate = _langchain_init_chat_model()
    if delegate is None:
        if provider is None and ":" not in model:
            msg = (
                f"Cannot tell which provider serves {model!r}; {_ACCEPTED_FORMS}. "
                'Install langchain (pip install "langchain>=1.0") for provider inference.'
            )
            raise ValueError(msg)
        wanted = provider or model.partition(":")[0]
        msg = (
            f"Provider {wanted!r} is handled by langchain.chat_models.init_chat_model, and the "
            'langchain package is not installed: pip install "langchain>=1.0" (plus the '
            "provider's integration package). This helper builds only 'cerebras' and 'routed' "
            "itself."
        )
        raise ImportError(msg)
    result: BaseChatModel = delegate(name, model_provider=model_provider, **kwargs)
    return result
