"""What a LangChain chat-model run says about itself: provider, model, tokens, speeds.

Private helpers of `langchain_cerebras_router.metrics`. They read the payloads LangChain hands
to callback handlers (run metadata, stream chunks, ``LLMResult``) the way the integrations in
use fill them: ChatCerebras, ChatGroq, ChatOpenAI and routers.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, BaseMessage

if TYPE_CHECKING:
    from langchain_core.outputs import ChatGenerationChunk, GenerationChunk, LLMResult

UNKNOWN = "unknown"
"""Provider or model name used when a run does not say which it is."""

ROUTE_METADATA_KEY = "route"
"""``response_metadata`` key a router sets to the name of the route that answered."""

CANCELLATIONS = (GeneratorExit, asyncio.CancelledError, KeyboardInterrupt)
"""The caller walked away (stream closed early, task cancelled): not a provider failure."""

# `model_provider` names the wire format in LangChain: OpenAI-compatible classes (e.g.
# langchain_cerebras.ChatCerebras, ChatOpenAI pointed at another vendor) stamp "openai".
# Such a value replaces the run's own provider only on routed responses.
_WIRE_FORMAT_PROVIDERS = frozenset({"openai"})


def requested(metadata: Mapping[str, Any], invocation_params: Any) -> tuple[str, str]:
    """Provider and model a run asked for: ``ls_*`` metadata, else invocation params."""
    params: Mapping[str, Any] = invocation_params if isinstance(invocation_params, Mapping) else {}
    provider = _first_str(metadata.get("ls_provider"), params.get("_type"))
    model = _first_str(metadata.get("ls_model_name"), params.get("model"), params.get("model_name"))
    return provider or UNKNOWN, model or UNKNOWN


def chunk_has_content(
    token: str | list[str | dict[str, Any]], chunk: GenerationChunk | ChatGenerationChunk | None
) -> bool:
    """Whether a streamed chunk carries text, a tool call or reasoning (not just a role)."""
    if token:
        return True
    message = getattr(chunk, "message", None)
    if message is None:
        return bool(chunk is not None and chunk.text)
    return bool(
        message.content
        or getattr(message, "tool_call_chunks", None)
        or message.additional_kwargs.get("tool_calls")
        or message.additional_kwargs.get("function_call")
        or message.additional_kwargs.get("reasoning_content")
    )


def error_kind(error: BaseException) -> str:
    """The error's ``failure_kind`` (str or enum) if it has one, else its class name."""
    kind = getattr(error, "failure_kind", None)
    if isinstance(kind, Enum):
        kind = kind.value if isinstance(kind.value, str) else kind.name
    return kind if isinstance(kind, str) and kind else type(error).__name__


@dataclass(frozen=True)
class Answer:
    """What a finished run reports about the answer."""

    provider: str
    model: str
    route: str | None
    output_tokens: int | None
    input_tokens: int | None
    server_tokens_per_second: float | None


def read_answer(response: LLMResult, provider: str, model: str) -> Answer:
    """Read the answering provider and model, token counts and server-side speed.

    Args:
        response: The result passed to ``on_llm_end``.
        provider: The provider the run asked for.
        model: The model the run asked for.
    """
    generations = response.generations
    generation = generations[0][0] if generations and generations[0] else None
    message = getattr(generation, "message", None)
    meta: Mapping[str, Any] = {}
    if isinstance(message, BaseMessage):
        meta = message.response_metadata
    elif generation is not None:
        meta = generation.generation_info or {}
    llm_output: Mapping[str, Any] = response.llm_output or {}
    token_usage = _mapping(meta.get("token_usage")) or _mapping(llm_output.get("token_usage"))
    usage = message.usage_metadata if isinstance(message, AIMessage) else None
    output_tokens: int | None
    input_tokens: int | None
    if usage:
        output_tokens, input_tokens = usage.get("output_tokens"), usage.get("input_tokens")
    else:
        output_tokens = _int(token_usage.get("completion_tokens"))
        input_tokens = _int(token_usage.get("prompt_tokens"))
    route = _first_str(meta.get(ROUTE_METADATA_KEY))
    answering_provider = _first_str(meta.get("model_provider"))
    if answering_provider and (
        answering_provider not in _WIRE_FORMAT_PROVIDERS or route is not None or provider == UNKNOWN
    ):
        provider = answering_provider
    return Answer(
        provider=provider,
        model=_first_str(meta.get("model_name"), llm_output.get("model_name")) or model,
        route=route,
        output_tokens=output_tokens,
        input_tokens=input_tokens,
        server_tokens_per_second=_server_speed(meta, llm_output, token_usage, output_tokens),
    )


def _server_speed(
    meta: Mapping[str, Any],
    llm_output: Mapping[str, Any],
    token_usage: Mapping[str, Any],
    output_tokens: int | None,
) -> float | None:
    """Tokens/s measured by the provider: explicit, Cerebras ``time_info``, Groq usage."""
    if (explicit := _number(meta.get("tokens_per_second"))) is not None:
        return explicit
    time_info = _mapping(meta.get("time_info")) or _mapping(llm_output.get("time_info"))
    for timings in (time_info, token_usage):
        completion_time = _number(timings.get("completion_time"))
        tokens = _number(timings.get("completion_tokens")) or _number(output_tokens)
        if completion_time is not None and tokens is not None:
            return tokens / completion_time
    return None


def _first_str(*values: Any) -> str | None:
    return next((v for v in values if isinstance(v, str) and v), None)


def _number(value: Any) -> float | None:
    """A positive finite number, else None (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value > 0 else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
