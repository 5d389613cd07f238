"""Conversion between LangChain messages and the Cerebras chat-completions wire format.

One place for both directions, used by every call path (invoke, ainvoke, stream,
astream), so that the four paths cannot drift apart:

* :func:`convert_messages` turns a LangChain history into request ``messages`` and
  rejects histories the API would refuse (before any network call);
* :func:`chat_result_from_completion` turns a ``chat.completion`` body into a
  :class:`~langchain_core.outputs.ChatResult`;
* :class:`StreamChunkConverter` turns each ``chat.completion.chunk`` into a
  :class:`~langchain_core.outputs.ChatGenerationChunk`.

Reasoning text arrives as ``message.reasoning`` / ``delta.reasoning`` and is exposed as
``additional_kwargs["reasoning_content"]`` (which LangChain also surfaces as a
``reasoning`` content block). On later turns it is sent back under ``reasoning``, the
key Cerebras accepts; ``reasoning_content`` would be rejected with a 400.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages import content as content_types
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.block_translators import register_translator
from langchain_core.messages.content import is_data_content_block
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.output_parsers.openai_tools import make_invalid_tool_call, parse_tool_call
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from langchain_cerebras_router.errors import InvalidMessagesError
from langchain_cerebras_router.strict_schema import strip_optional_nulls

__all__ = [
    "StreamChunkConverter",
    "chat_result_from_completion",
    "check_history",
    "convert_message",
    "convert_messages",
    "server_tokens_per_second",
    "usage_metadata_from",
]

PROVIDER = "cerebras"

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------
# LangChain -> wire
# --------------------------------------------------------------------------------------


def _text_of(content: str | list[Any]) -> str:
    """Flatten LangChain content (a string or a list of blocks) to plain text."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)


def _user_content(content: str | list[Any]) -> str | list[Any]:
    if isinstance(content, str):
        return content
    if all(
        isinstance(b, str) or (isinstance(b, dict) and b.get("type") == "text") for b in content
    ):
        return _text_of(content)
    from langchain_core.messages.block_translators.openai import convert_to_openai_data_block

    return [
        convert_to_openai_data_block(b) if isinstance(b, dict) and is_data_content_block(b) else b
        for b in content
    ]


def _reasoning_of(message: AIMessage) -> str | None:
    reasoning = message.additional_kwargs.get("reasoning_content") or message.additional_kwargs.get(
        "reasoning"
    )
    if isinstance(reasoning, str) and reasoning:
        return reasoning
    if isinstance(message.content, list):
        texts = [
            str(b.get("reasoning", ""))
            for b in message.content
            if isinstance(b, dict) and b.get("type") == "reasoning"
        ]
        if any(texts):
            return "".join(texts)
    return None


def _wire_tool_calls(message: AIMessage) -> list[dict[str, Any]]:
    calls = [
        {
            "id": tc["id"],
            "type": "function",
            "function": {"name": tc["name"], "arguments": json.dumps(tc["args"])},
        }
        for tc in message.tool_calls
    ]
    calls.extend(
        {
            "id": itc["id"],
            "type": "function",
            "function": {"name": itc["name"] or "", "arguments": itc["args"] or ""},
        }
        for itc in message.invalid_tool_calls
    )
    if not calls and isinstance(message.additional_kwargs.get("tool_calls"), list):
        calls = list(message.additional_kwargs["tool_calls"])
    return calls


def convert_message(message: BaseMessage) -> dict[str, Any]:
    """Convert one LangChain message to a Cerebras request message.

    Args:
        message: A LangChain message.

    Returns:
        The wire dict (``role``, ``content`` and, where relevant, ``tool_calls``,
        ``tool_call_id``, ``reasoning``, ``name``).

    Raises:
        InvalidMessagesError: For message types the API cannot take.
    """
    wire: dict[str, Any]
    if isinstance(message, HumanMessage):
        wire = {"role": "user", "content": _user_content(message.content)}
    elif isinstance(message, AIMessage):
        wire = {"role": "assistant", "content": _text_of(message.content)}
        tool_calls = _wire_tool_calls(message)
        if tool_calls:
            wire["tool_calls"] = tool_calls
        if reasoning := _reasoning_of(message):
            wire["reasoning"] = reasoning
    elif isinstance(message, SystemMessage):
        wire = {"role": "system", "content": _text_of(message.content)}
    elif isinstance(message, ToolMessage):
        content = message.content
        text = (
            content
            if isinstance(content, str)
            else _text_of(content)
            if all(
                isinstance(b, str) or (isinstance(b, dict) and b.get("type") == "text")
                for b in content
            )
            else json.dumps(content)
        )
        wire = {"role": "tool", "content": text, "tool_call_id": message.tool_call_id}
    elif isinstance(message, ChatMessage):
        wire = {"role": message.role, "content": _text_of(message.content)}
    else:
        msg = (
            f"Cannot send a {type(message).__name__} to Cerebras: use HumanMessage, AIMessage, "
            "SystemMessage, ToolMessage or ChatMessage."
        )
        raise InvalidMessagesError(msg)
    name = message.name or message.additional_kwargs.get("name")
    if name and wire["role"] in ("user", "assistant", "system"):
        wire["name"] = name
    return wire


#: Message types that neither make nor answer tool calls.
_PLAIN_TYPES = frozenset({"human", "system"})


def check_history(messages: Sequence[BaseMessage]) -> None:
    """Reject, before any network call, a history every chat-completions API refuses.

    Used by ChatCerebras and by the router (before routing, so that a bad history is one
    clear error rather than a 400 from whichever provider answers first).

    Args:
        messages: The LangChain history, oldest first.

    Raises:
        InvalidMessagesError: For an empty history, or a tool message that answers no
            tool call of an earlier AI message (the APIs reject both with a 400).
    """
    if not messages:
        msg = "No messages to send: pass at least one message (e.g. a HumanMessage)."
        raise InvalidMessagesError(msg)
    known_tool_call_ids: set[str] = set()
    for position, message in enumerate(messages):
        if message.type in _PLAIN_TYPES:
            continue  # neither makes nor answers tool calls (cheaper than the ABC checks)
        if isinstance(message, AIMessage):
            known_tool_call_ids.update(str(tc["id"]) for tc in message.tool_calls if tc.get("id"))
            known_tool_call_ids.update(
                str(tc["id"]) for tc in message.invalid_tool_calls if tc.get("id")
            )
            raw_calls = message.additional_kwargs.get("tool_calls")
            if isinstance(raw_calls, list):
                known_tool_call_ids.update(
                    str(tc.get("id")) for tc in raw_calls if isinstance(tc, dict) and tc.get("id")
                )
        elif isinstance(message, ToolMessage) and message.tool_call_id not in known_tool_call_ids:
            msg = (
                f"Message {position} is a ToolMessage with tool_call_id="
                f"{message.tool_call_id!r}, but no earlier AIMessage has a tool call with that "
                "id. Put the AIMessage that made the tool call before it, or drop the "
                "ToolMessage."
            )
            raise InvalidMessagesError(msg)


def convert_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """Validate (:func:`check_history`) and convert a whole history.

    Args:
        messages: The LangChain history, oldest first.

    Returns:
        The request ``messages`` list.

    Raises:
        InvalidMessagesError: For a history the API would reject (see
            :func:`check_history`), or a message type it cannot take.
    """
    check_history(messages)
    return [convert_message(message) for message in messages]


# --------------------------------------------------------------------------------------
# wire -> LangChain
# --------------------------------------------------------------------------------------


def usage_metadata_from(usage: Mapping[str, Any]) -> UsageMetadata:
    """Build LangChain ``usage_metadata`` from an OpenAI-shaped ``usage`` object.

    Args:
        usage: ``{"prompt_tokens", "completion_tokens", "total_tokens",
            "prompt_tokens_details": {"cached_tokens"}, "completion_tokens_details":
            {"reasoning_tokens"}}``.

    Returns:
        ``UsageMetadata`` with ``input_token_details.cache_read`` and
        ``output_token_details.reasoning`` when reported.
    """
    input_tokens = int(usage.get("prompt_tokens") or 0)
    output_tokens = int(usage.get("completion_tokens") or 0)
    total = usage.get("total_tokens")
    metadata: UsageMetadata = {  # type: ignore[typeddict-item]
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": int(total) if total is not None else input_tokens + output_tokens,
    }
    prompt_details = usage.get("prompt_tokens_details") or {}
    cached = prompt_details.get("cached_tokens") if isinstance(prompt_details, Mapping) else None
    if cached is not None:
        metadata["input_token_details"] = InputTokenDetails(cache_read=int(cached))
    completion_details = usage.get("completion_tokens_details") or {}
    reasoning = (
        completion_details.get("reasoning_tokens")
        if isinstance(completion_details, Mapping)
        else None
    )
    if reasoning:
        metadata["output_token_details"] = OutputTokenDetails(reasoning=int(reasoning))
    return metadata


def server_tokens_per_second(
    usage: Mapping[str, Any] | None, time_info: Mapping[str, Any] | None
) -> float | None:
    """Server-side generation speed: completion tokens / ``time_info.completion_time``."""
    if not usage or not time_info:
        return None
    tokens = usage.get("completion_tokens")
    seconds = time_info.get("completion_time")
    if not tokens or not seconds or seconds <= 0:
        return None
    return round(float(tokens) * 10 / float(seconds)) / 10  # to 0.1; round(x, 1) is slow


def _final_metadata(
    body: Mapping[str, Any], finish_reason: str | None, requested_model: str
) -> dict[str, Any]:
    usage = body.get("usage")
    time_info = body.get("time_info")
    metadata: dict[str, Any] = {
        "model_name": body.get("model") or requested_model,
        "model_provider": PROVIDER,
        "finish_reason": finish_reason,
    }
    if fingerprint := body.get("system_fingerprint"):
        metadata["system_fingerprint"] = fingerprint
    if time_info:
        metadata["time_info"] = dict(time_info)
    if (speed := server_tokens_per_second(usage, time_info)) is not None:
        metadata["tokens_per_second"] = speed
    if service_tier := body.get("service_tier"):
        metadata["service_tier"] = service_tier
    return metadata


def _wire_arguments(arguments: Any) -> Any:
    """Tool-call arguments as LangChain expects them (JSON ``null`` means no arguments).

    Cerebras streams each tool call whole, so arguments that are not valid JSON here are
    broken for good. They are passed on unchanged (LangChain's chunk aggregation parses
    them as partial JSON, as for every provider) and a warning is logged.
    """
    if arguments in (None, "null"):
        return "{}"
    if isinstance(arguments, str):
        try:
            json.loads(arguments)
        except ValueError:
            logger.warning(
                "Cerebras streamed a tool call whose arguments are not valid JSON; LangChain's "
                "stream aggregation may parse them as partial JSON (invoke reports them in "
                "invalid_tool_calls)."
            )
    return arguments


def _without_strict_nulls(
    name: Any, arguments: Any, strict_tool_schemas: Mapping[str, Mapping[str, Any]]
) -> Any:
    """``arguments`` of a strict tool without the nulls strict mode allowed only for defaults.

    Strict mode needs every property, so optional ones are sent nullable; a ``null`` for
    ``x: int = 5`` means "use the default" and is dropped (against the tool's original
    schema), as for structured output. Other tools' arguments are returned unchanged.
    """
    schema = strict_tool_schemas.get(name) if isinstance(name, str) else None
    if schema is None or not isinstance(arguments, str):
        return arguments
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return arguments
    cleaned = strip_optional_nulls(parsed, schema)
    return arguments if cleaned == parsed else json.dumps(cleaned)


def _tool_calls_from_wire(
    raw_tool_calls: Sequence[Mapping[str, Any]],
    strict_tool_schemas: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[list[Any], list[Any]]:
    tool_calls: list[Any] = []
    invalid: list[Any] = []
    for raw in raw_tool_calls:
        raw_dict = dict(raw)
        function = dict(raw_dict.get("function") or {})
        if function.get("arguments") in (None, "null"):
            function["arguments"] = "{}"
        if strict_tool_schemas:
            function["arguments"] = _without_strict_nulls(
                function.get("name"), function.get("arguments"), strict_tool_schemas
            )
        raw_dict["function"] = function
        try:
            tool_calls.append(parse_tool_call(raw_dict, return_id=True))
        except Exception as exc:  # malformed JSON arguments must never crash a call
            invalid.append(make_invalid_tool_call(raw_dict, str(exc)))
    return tool_calls, invalid


def chat_result_from_completion(
    body: Mapping[str, Any],
    *,
    requested_model: str,
    extra_metadata: Mapping[str, Any] | None = None,
    strict_tool_schemas: Mapping[str, Mapping[str, Any]] | None = None,
) -> ChatResult:
    """Convert a non-streaming ``chat.completion`` body to a ``ChatResult``.

    Args:
        body: The parsed JSON body.
        requested_model: The model id sent, used when the body lacks ``model``.
        extra_metadata: Extra ``response_metadata`` entries (e.g. ``rate_limits``).
        strict_tool_schemas: Original parameter schemas of tools bound with
            ``strict=True``, by name: their calls' defaulted fields sent as ``null`` are
            dropped so that the defaults apply.

    Returns:
        A ``ChatResult`` whose ``AIMessage`` carries ``usage_metadata`` and
        ``response_metadata`` (``model_name``, ``model_provider``, ``finish_reason``,
        ``system_fingerprint``, ``time_info``, ``tokens_per_second``).
    """
    usage = body.get("usage")
    generations: list[ChatGeneration] = []
    for choice in body.get("choices") or ():
        wire = choice.get("message") or {}
        additional_kwargs: dict[str, Any] = {}
        if reasoning := wire.get("reasoning"):
            additional_kwargs["reasoning_content"] = reasoning
        tool_calls, invalid_tool_calls = _tool_calls_from_wire(
            wire.get("tool_calls") or (), strict_tool_schemas
        )
        metadata = _final_metadata(body, choice.get("finish_reason"), requested_model)
        if choice.get("logprobs"):
            metadata["logprobs"] = choice["logprobs"]
        if extra_metadata:
            metadata.update(extra_metadata)
        message = AIMessage(
            content=wire.get("content") or "",
            id=body.get("id"),
            additional_kwargs=additional_kwargs,
            tool_calls=tool_calls,
            invalid_tool_calls=invalid_tool_calls,
            usage_metadata=usage_metadata_from(usage) if usage else None,
            response_metadata=metadata,
        )
        generations.append(
            ChatGeneration(
                message=message, generation_info={"finish_reason": metadata["finish_reason"]}
            )
        )
    llm_output = {
        "token_usage": dict(usage) if usage else {},
        "model_name": body.get("model") or requested_model,
        "model_provider": PROVIDER,
        "system_fingerprint": body.get("system_fingerprint"),
    }
    return ChatResult(generations=generations, llm_output=llm_output)


class StreamChunkConverter:
    """Turn Cerebras ``chat.completion.chunk`` bodies into LangChain generation chunks.

    Stateful per stream: counts chunks (for error messages) and knows whether any
    content or tool call has been produced yet.

    Args:
        requested_model: The model id sent, used when a chunk lacks ``model``.
        include_usage: Whether to attach ``usage_metadata`` from the final chunk.
        extra_metadata: Extra ``response_metadata`` for the final chunk.
        strict_tool_schemas: As for :func:`chat_result_from_completion` (Cerebras streams
            each tool call whole, so its arguments are complete JSON).
    """

    __slots__ = (
        "_extra_metadata",
        "_include_usage",
        "_requested_model",
        "_sent_keys",
        "_strict_tool_schemas",
        "chunks",
        "finished",
    )

    def __init__(
        self,
        *,
        requested_model: str,
        include_usage: bool = True,
        extra_metadata: Mapping[str, Any] | None = None,
        strict_tool_schemas: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self._strict_tool_schemas = strict_tool_schemas or {}
        self._requested_model = requested_model
        self._include_usage = include_usage
        self._extra_metadata = dict(extra_metadata) if extra_metadata else None
        self.chunks = 0
        self._sent_keys: set[str] = {"model_provider"}
        self.finished = False
        """Whether the final chunk (the one with ``finish_reason``) has arrived."""

    def convert(self, body: Mapping[str, Any]) -> ChatGenerationChunk | None:
        """Convert one chunk; returns ``None`` for chunks that carry nothing."""
        self.chunks += 1
        choices = body.get("choices") or ()
        choice = choices[0] if choices else None
        delta = (choice.get("delta") if choice else None) or {}
        content = delta.get("content") or ""
        additional_kwargs: dict[str, Any] = {}
        if reasoning := delta.get("reasoning"):
            additional_kwargs["reasoning_content"] = reasoning
        chunks_of_tool_calls = [
            tool_call_chunk(
                name=(tc.get("function") or {}).get("name"),
                args=_without_strict_nulls(
                    (tc.get("function") or {}).get("name"),
                    _wire_arguments((tc.get("function") or {}).get("arguments")),
                    self._strict_tool_schemas,
                ),
                id=tc.get("id"),
                index=tc.get("index", position),
            )
            for position, tc in enumerate(delta.get("tool_calls") or ())
        ]
        finish_reason = choice.get("finish_reason") if choice else None
        if finish_reason:
            self.finished = True
        usage = body.get("usage") or (body.get("x_groq") or {}).get("usage")
        is_final = bool(finish_reason) or usage is not None or body.get("time_info") is not None
        logprobs = choice.get("logprobs") if choice else None
        if not (
            content
            or additional_kwargs
            or chunks_of_tool_calls
            or is_final
            or delta.get("role")
            or logprobs
        ):
            return None
        response_metadata: dict[str, Any] = {"model_provider": PROVIDER}
        if logprobs:
            # Lists inside merge by concatenation when chunks are added: the merged
            # message carries every token's logprobs, as invoke's does.
            response_metadata["logprobs"] = logprobs
        generation_info: dict[str, Any] | None = None
        if is_final:
            final = _final_metadata(body, finish_reason, self._requested_model)
            if self._extra_metadata:
                final.update(self._extra_metadata)
            # String values are concatenated when chunks are added: send each key once,
            # even if usage arrives in a chunk after the one with finish_reason.
            response_metadata.update(
                {k: v for k, v in final.items() if k not in self._sent_keys and v is not None}
            )
            self._sent_keys.update(response_metadata)
            generation_info = {"finish_reason": finish_reason} if finish_reason else None
        # Only fields that differ from their defaults: each one passed costs validation on
        # the per-token path (~0.8 us for the three empty ones of a text chunk).
        fields: dict[str, Any] = {"content": content, "id": body.get("id")}
        if additional_kwargs:
            fields["additional_kwargs"] = additional_kwargs
        if chunks_of_tool_calls:
            fields["tool_call_chunks"] = chunks_of_tool_calls
        if usage and self._include_usage:
            fields["usage_metadata"] = usage_metadata_from(usage)
        message = AIMessageChunk(response_metadata=response_metadata, **fields)
        return ChatGenerationChunk(message=message, generation_info=generation_info)


# --------------------------------------------------------------------------------------
# Standard content blocks (``message.content_blocks`` and ``output_version="v1"``)
# --------------------------------------------------------------------------------------


def _blocks(message: AIMessage, *, chunk: bool) -> list[content_types.ContentBlock]:
    """Reasoning, text and tool-call blocks of a Cerebras message, in that order.

    Stream chunks get stable, distinct ``index`` values so that merging chunks merges
    reasoning with reasoning and text with text, never a tool call into reasoning.
    """
    blocks: list[content_types.ContentBlock] = []
    reasoning = message.additional_kwargs.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        block: dict[str, Any] = {"type": "reasoning", "reasoning": reasoning}
        if chunk:
            block["index"] = "lc_reasoning"
        blocks.append(block)  # type: ignore[arg-type]
    text = message.content if isinstance(message.content, str) else _text_of(message.content)
    if text:
        text_block: dict[str, Any] = {"type": "text", "text": text}
        if chunk:
            text_block["index"] = "lc_text"
        blocks.append(text_block)  # type: ignore[arg-type]
    tool_blocks: list[Any]
    if chunk and isinstance(message, AIMessageChunk) and message.chunk_position != "last":
        tool_blocks = [
            {
                "type": "tool_call_chunk",
                "id": tc.get("id"),
                "name": tc.get("name"),
                "args": tc.get("args"),
                "index": f"lc_tool_call_{tc.get('index') or 0}",
            }
            for tc in message.tool_call_chunks
        ]
    else:
        tool_blocks = [
            {"type": "tool_call", "id": tc.get("id"), "name": tc["name"], "args": tc["args"]}
            for tc in message.tool_calls
        ]
    blocks.extend(tool_blocks)
    return blocks


def _translate_content(message: AIMessage) -> list[content_types.ContentBlock]:
    return _blocks(message, chunk=False)


def _translate_content_chunk(message: AIMessageChunk) -> list[content_types.ContentBlock]:
    return _blocks(message, chunk=True)


register_translator(PROVIDER, _translate_content, _translate_content_chunk)
