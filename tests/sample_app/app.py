"""A small Tilores_X-style chat app, written against ChatGroq, used to prove the drop-in path.

The app does what such apps do, and nothing package-specific:

* a model-name table maps each model id to a provider and a chat-model class, and models
  are built with ``cls(model=name)`` alone (keys and base URLs come from the environment);
* the class of every entry can be swapped by configuration: the ``SAMPLE_APP_CHAT_CLASS``
  environment variable (``ChatGroq``, ``ChatCerebras`` or ``RoutedChatModel``) or a
  ``class_override`` argument (a table override in code);
* requests carry OpenAI-style message dicts and are answered with the sync API
  (``invoke`` / ``stream``), also from ``async def`` handlers;
* tools are LangChain ``@tool`` functions bound with ``bind_tools``, and the app runs its
  own tool loop on ``.tool_calls``, keeping the history as OpenAI-style dicts;
* streamed answers are forwarded as an OpenAI-compatible server-sent-event body.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypedDict

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, tool
from langchain_groq import ChatGroq

from langchain_cerebras_router import ChatCerebras, RoutedChatModel

__all__ = [
    "CHAT_CLASSES",
    "CLASS_ENV_VAR",
    "MODEL_TABLE",
    "TOOLS",
    "ToolLoopResult",
    "chat_completion",
    "get_llm",
    "handle_chat_request",
    "model_table",
    "run_tool_loop",
    "sse_events",
]

CLASS_ENV_VAR = "SAMPLE_APP_CHAT_CLASS"
"""Names the class that replaces every entry's class (unset: the table's own classes)."""


CHAT_CLASSES: Mapping[str, type[BaseChatModel]] = {
    "ChatGroq": ChatGroq,
    "ChatCerebras": ChatCerebras,
    "RoutedChatModel": RoutedChatModel,
}

# The app's own table, as written for Groq.
MODEL_TABLE: dict[str, dict[str, Any]] = {
    "llama-3.3-70b-versatile": {"provider": "groq", "class": ChatGroq},
    "deepseek-r1-distill-llama-70b": {"provider": "groq", "class": ChatGroq},
    "llama-3.1-8b-instant": {"provider": "groq", "class": ChatGroq},
}


def model_table(class_override: type[BaseChatModel] | None = None) -> dict[str, dict[str, Any]]:
    """The model table with every class replaced by configuration, if configured.

    Args:
        class_override: Replaces every entry's class; wins over ``SAMPLE_APP_CHAT_CLASS``.

    Returns:
        A new table (the module-level one is never changed).

    Raises:
        ValueError: ``SAMPLE_APP_CHAT_CLASS`` names no known class.
    """
    override = class_override
    configured = os.environ.get(CLASS_ENV_VAR, "").strip()
    if override is None and configured:
        override = CHAT_CLASSES.get(configured)
        if override is None:
            msg = f"{CLASS_ENV_VAR}={configured!r}: expected one of {', '.join(CHAT_CLASSES)}."
            raise ValueError(msg)
    if override is None:
        return {name: dict(entry) for name, entry in MODEL_TABLE.items()}
    return {name: {**entry, "class": override} for name, entry in MODEL_TABLE.items()}


def get_llm(name: str, *, class_override: type[BaseChatModel] | None = None) -> BaseChatModel:
    """Build the chat model for ``name`` exactly as the app always has: ``cls(model=name)``."""
    entry = model_table(class_override)[name]
    cls: type[BaseChatModel] = entry["class"]
    return cls(model=name)


# --------------------------------------------------------------------------------------
# Tools
# --------------------------------------------------------------------------------------

CUSTOMERS: dict[str, dict[str, str]] = {
    "42": {"id": "42", "name": "Ada Lovelace", "city": "London"},
}


@tool
def lookup_customer(customer_id: str) -> str:
    """Look a customer up by id and return the record as JSON."""
    record = CUSTOMERS.get(customer_id, {"id": customer_id, "name": "unknown"})
    return json.dumps(record)


@tool
def count_records(query: str) -> int:
    """Count the records that match a search query."""
    return len(query.split())


TOOLS: list[BaseTool] = [lookup_customer, count_records]


# --------------------------------------------------------------------------------------
# Calls
# --------------------------------------------------------------------------------------


def chat_completion(
    llm: BaseChatModel,
    messages: Sequence[Mapping[str, Any]],
    config: RunnableConfig | None = None,
) -> AIMessage:
    """Answer OpenAI-style messages with the sync API."""
    return llm.invoke([dict(m) for m in messages], config=config)


class ToolLoopResult(TypedDict):
    """What :func:`run_tool_loop` returns."""

    answer: str
    history: list[dict[str, Any]]
    tool_runs: list[str]
    model_calls: int


def _assistant_dict(message: AIMessage) -> dict[str, Any]:
    """An AI message with tool calls, as the OpenAI-style dict the app keeps in history."""
    return {
        "role": "assistant",
        "content": message.text,
        "tool_calls": [
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": json.dumps(call["args"])},
            }
            for call in message.tool_calls
        ],
    }


def run_tool_loop(
    llm: BaseChatModel,
    messages: Sequence[Mapping[str, Any]],
    *,
    tools: Sequence[BaseTool] = TOOLS,
    max_rounds: int = 5,
    config: RunnableConfig | None = None,
) -> ToolLoopResult:
    """The app's own agent loop: call the model, run the tools it asks for, repeat.

    Raises:
        RuntimeError: The model still asks for tools after ``max_rounds`` calls.
    """
    by_name = {t.name: t for t in tools}
    bound = llm.bind_tools(list(tools))
    history = [dict(m) for m in messages]
    tool_runs: list[str] = []
    for calls in range(1, max_rounds + 1):
        reply = bound.invoke(history, config=config)
        if not reply.tool_calls:
            return {
                "answer": reply.text,
                "history": [*history, {"role": "assistant", "content": reply.text}],
                "tool_runs": tool_runs,
                "model_calls": calls,
            }
        history.append(_assistant_dict(reply))
        for call in reply.tool_calls:
            result = by_name[call["name"]].invoke(call["args"])
            tool_runs.append(call["name"])
            history.append({"role": "tool", "tool_call_id": call["id"], "content": str(result)})
    msg = f"The model still asked for tools after {max_rounds} calls."
    raise RuntimeError(msg)


# --------------------------------------------------------------------------------------
# OpenAI-compatible streaming endpoint
# --------------------------------------------------------------------------------------


def _sse(payload: Mapping[str, Any] | str) -> str:
    data = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return f"data: {data}\n\n"


def sse_events(
    llm: BaseChatModel,
    messages: Sequence[Mapping[str, Any]],
    *,
    model: str,
    config: RunnableConfig | None = None,
) -> Iterator[str]:
    """Forward ``llm.stream(...)`` as an OpenAI ``chat.completion.chunk`` SSE body.

    Yields a role chunk, one chunk per piece of text, a final chunk with
    ``finish_reason`` and ``usage``, then ``data: [DONE]``.
    """
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }

    yield _sse(chunk({"role": "assistant", "content": ""}))
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    for piece in llm.stream([dict(m) for m in messages], config=config):
        if not isinstance(piece, AIMessageChunk):
            continue
        finish_reason = piece.response_metadata.get("finish_reason") or finish_reason
        if piece.usage_metadata:
            usage = {
                "prompt_tokens": piece.usage_metadata["input_tokens"],
                "completion_tokens": piece.usage_metadata["output_tokens"],
                "total_tokens": piece.usage_metadata["total_tokens"],
            }
        if piece.text:
            yield _sse(chunk({"content": piece.text}))
    final = chunk({}, finish_reason or "stop")
    if usage is not None:
        final["usage"] = usage
    yield _sse(final)
    yield _sse("[DONE]")


async def handle_chat_request(body: Mapping[str, Any]) -> dict[str, Any] | Iterator[str]:
    """An ``async def`` web handler that calls the SYNC API inside the running event loop.

    ``body`` is an OpenAI chat-completions request: ``model``, ``messages`` and optionally
    ``stream``. Non-streaming requests get an OpenAI ``chat.completion`` dict; streaming
    ones get the SSE body, fully produced here (inside the loop) and returned as an
    iterator of lines.
    """
    name = str(body["model"])
    llm = get_llm(name)
    messages: list[Mapping[str, Any]] = list(body["messages"])
    if body.get("stream"):
        return iter(list(sse_events(llm, messages, model=name)))
    reply = chat_completion(llm, messages)
    return {
        "object": "chat.completion",
        "model": name,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.text},
                "finish_reason": reply.response_metadata.get("finish_reason", "stop"),
            }
        ],
    }
