"""Streams that keep no chunks when no callback handler observes them.

``BaseChatModel.stream`` keeps every chunk of a stream until its end, to merge them
into the generation it reports to ``on_llm_end``. When no handler is attached (no
LangSmith tracing, no ``astream_events``, no LangGraph ``stream_mode="messages"``, no
user callbacks) nothing reads that merge, yet the kept chunks still cost: a
4,000-token stream holds some 40,000 objects, which the garbage collector promotes and
then rescans in full collections of the whole heap. Measured against the bundled
emulator, that bookkeeping costs more per chunk than decoding and converting the
chunk (docs/benchmarks.md, "(b) stream throughput").

:class:`LeanStreamingChatModel` takes a shorter path exactly when that merge has no
reader, and yields the same chunks ``BaseChatModel.stream`` would: the run id as the
message id, ``generation_info`` folded into ``response_metadata``, a closing
``chunk_position="last"`` chunk, the same error when nothing was generated. Whenever a
handler is attached, a rate limiter is set and must be honoured, or
``output_version="v1"`` asks for content blocks, it defers to ``BaseChatModel``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import CallbackManager
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models._utils import _normalize_messages
from langchain_core.language_models.chat_models import (
    BaseChatModel,
    _gen_info_and_msg_metadata,
)
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import ensure_config
from langchain_core.utils.utils import LC_ID_PREFIX

try:
    from langchain_core.utils.uuid import uuid7 as _new_run_id
except ImportError:  # pragma: no cover - langchain-core before uuid7 run ids
    from uuid import uuid4 as _new_run_id  # type: ignore[assignment]

__all__ = ["LeanStreamingChatModel", "UnobservedCall", "as_streamed_message"]

_NOTHING_GENERATED = "No generation chunks were returned"
"""``BaseChatModel.stream``'s error for a stream that yields no chunk at all."""


@dataclass(frozen=True, slots=True)
class UnobservedCall:
    """What an unobserved stream needs: normalised messages, kwargs and its run id."""

    messages: list[BaseMessage]
    kwargs: dict[str, Any]
    message_id: str


class LeanStreamingChatModel(BaseChatModel):
    """A ``BaseChatModel`` whose ``stream``/``astream`` keep no chunks when unobserved.

    Subclasses implement ``_stream``/``_astream`` as for any LangChain chat model; the
    public ``stream``/``astream`` choose per call between ``BaseChatModel``'s path
    (callbacks, tracing, rate limiter, ``output_version="v1"``) and a path that yields
    each chunk as it is converted and keeps none.

    Example:
        .. code-block:: python

            from langchain_core.callbacks import BaseCallbackHandler

            from langchain_cerebras_router import ChatCerebras
            from langchain_cerebras_router.testing import Emulator

            with Emulator() as emulator:
                llm = ChatCerebras(model="llama3.1-8b", api_key="test", base_url=emulator.base_url)
                # No handler: chunks are yielded as they are converted, none kept.
                text = "".join(chunk.text for chunk in llm.stream("Hello"))
                # A handler (tracing, astream_events, LangGraph) gets BaseChatModel's path.
                traced = "".join(
                    chunk.text
                    for chunk in llm.stream("Hello", {"callbacks": [BaseCallbackHandler()]})
                )
                assert text == traced
    """

    def _unobserved_call(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None,
        kwargs: dict[str, Any],
        *,
        async_api: bool,
    ) -> UnobservedCall | None:
        """The call's plan if no one observes it, else ``None`` (use the full path).

        Mirrors the set-up of ``BaseChatModel.stream`` minus what only callbacks read.
        """
        if self.rate_limiter is not None or self.output_version == "v1":
            return None
        if not self._should_stream(async_api=async_api, **{**kwargs, "stream": True}):
            return None
        config = ensure_config(config)
        callback_manager = CallbackManager.configure(
            config.get("callbacks"),
            self.callbacks,
            self.verbose,
            config.get("tags"),
            self.tags,
            config.get("metadata"),
            self.metadata,
        )
        if callback_manager.handlers:
            return None
        messages = _normalize_messages(self._convert_input(input).to_messages())
        call_kwargs = dict(kwargs)
        # Only tracing reads the structured-output format; pop it as BaseChatModel does.
        call_kwargs.pop("ls_structured_output_format", None) or call_kwargs.pop(
            "structured_output_format", None
        )
        run_id = config.get("run_id") or _new_run_id()
        # The same message id as BaseChatModel.stream gives, separator included.
        return UnobservedCall(messages, call_kwargs, "-".join((LC_ID_PREFIX, str(run_id))))

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        """Stream the answer; see :class:`LeanStreamingChatModel` for the two paths."""
        call = self._unobserved_call(input, config, kwargs, async_api=False)
        if call is None:
            yield from super().stream(input, config, stop=stop, **kwargs)
            return
        last: AIMessageChunk | None = None
        for chunk in self._stream(call.messages, stop=stop, **call.kwargs):
            last = as_streamed_message(chunk, call.message_id)
            yield last
        if last is None:
            raise ValueError(_NOTHING_GENERATED)
        if closing := _closing_chunk(last, call.message_id):
            yield closing

    async def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        """Async stream; see :class:`LeanStreamingChatModel` for the two paths."""
        call = self._unobserved_call(input, config, kwargs, async_api=True)
        if call is None:
            async for message in super().astream(input, config, stop=stop, **kwargs):
                yield message
            return
        last: AIMessageChunk | None = None
        async for chunk in self._astream(call.messages, stop=stop, **call.kwargs):
            last = as_streamed_message(chunk, call.message_id)
            yield last
        if last is None:
            raise ValueError(_NOTHING_GENERATED)
        if closing := _closing_chunk(last, call.message_id):
            yield closing


def as_streamed_message(chunk: ChatGenerationChunk, message_id: str) -> AIMessageChunk:
    """The message ``BaseChatModel.stream`` yields for ``chunk``."""
    message = chunk.message
    if message.id is None:
        message.id = message_id
    message.response_metadata = _gen_info_and_msg_metadata(chunk)
    return message  # type: ignore[return-value]


def _closing_chunk(last: AIMessageChunk, message_id: str) -> AIMessageChunk | None:
    """The empty ``chunk_position="last"`` chunk, unless the stream already ended so."""
    if not isinstance(last, AIMessageChunk) or last.chunk_position:
        return None
    return AIMessageChunk(
        content="" if isinstance(last.content, str) else [],
        chunk_position="last",
        id=message_id,
    )
