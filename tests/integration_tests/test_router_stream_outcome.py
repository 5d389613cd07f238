"""How a routed stream ends after its commit point: answered, stopped by the caller, broken.

The router counts what it yielded in the loop that yields, records the attempt when the
member's stream ends, and sends the routing explanation as the stream's last chunk.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from langchain_core.language_models import LangSmithParams
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessageChunk
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_groq import ChatGroq

from langchain_cerebras_router import PartialStreamError, RoutedChatModel
from langchain_cerebras_router.testing import Emulator

ROLE = AIMessageChunk(content="")
FINAL = AIMessageChunk(content="", response_metadata={"finish_reason": "stop"})
TOOL = AIMessageChunk(
    content="", tool_call_chunks=[tool_call_chunk(name="f", args="{}", id="c1", index=0)]
)


class ScriptedMember(BaseChatModel):
    """Streams copies of ``script``'s chunks, then raises ``error`` if it is set."""

    script: list[BaseMessageChunk]
    error: str | None = None
    model_kwargs: dict[str, Any] = {}

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _get_ls_params(self, stop: Any = None, **kwargs: Any) -> LangSmithParams:
        return LangSmithParams(ls_provider="scripted", ls_model_name="scripted")

    def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
        raise NotImplementedError

    def _chunks(self) -> Iterator[ChatGenerationChunk]:
        for message in self.script:
            yield ChatGenerationChunk(message=message.model_copy(deep=True))
        if self.error is not None:
            raise ConnectionError(self.error)

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        return self._chunks()

    async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._chunks():
            yield chunk


def routed(*script: BaseMessageChunk, error: str | None = None) -> RoutedChatModel:
    return RoutedChatModel(routes={"only": ScriptedMember(script=list(script), error=error)})


def drain(model: RoutedChatModel, mode: str) -> list[AIMessageChunk]:
    if mode == "stream":
        return list(model.stream("hi"))

    async def collect() -> list[AIMessageChunk]:
        return [chunk async for chunk in model.astream("hi")]

    return asyncio.run(collect())


def read_until(model: RoutedChatModel, mode: str, stop_after: int) -> list[AIMessageChunk]:
    """Read ``stop_after`` chunks, then close the stream (the caller stops reading)."""
    if mode == "stream":
        stream = model.stream("hi")
        received = [next(stream) for _ in range(stop_after)]
        stream.close()
        return received

    async def read() -> list[AIMessageChunk]:
        astream = model.astream("hi")
        received = [await anext(astream) for _ in range(stop_after)]
        await astream.aclose()  # type: ignore[attr-defined]
        return received

    return asyncio.run(read())


MODES = pytest.mark.parametrize("mode", ["stream", "astream"])


@MODES
@pytest.mark.parametrize(
    ("script", "chunks", "characters", "tool_calls"),
    [
        ((ROLE, AIMessageChunk(content="Hel"), AIMessageChunk(content="lo")), 3, 5, False),
        ((ROLE, AIMessageChunk(content="Hi"), TOOL, AIMessageChunk(content="!")), 4, 3, True),
        ((TOOL,), 1, 0, True),
        ((AIMessageChunk(content="Hi", tool_call_chunks=TOOL.tool_call_chunks),), 1, 2, True),
    ],
)
def test_a_broken_stream_reports_what_it_had_yielded(
    mode: str, script: tuple[BaseMessageChunk, ...], chunks: int, characters: int, tool_calls: bool
) -> None:
    model = routed(*script, error="connection reset")
    with pytest.raises(PartialStreamError) as caught:
        drain(model, mode)
    error = caught.value
    assert (error.chunks_yielded, error.characters_yielded, error.tool_calls_yielded) == (
        chunks,
        characters,
        tool_calls,
    )
    health = model.health.snapshot("only")
    assert (health.successes, health.total_failures) == (0, 1)


class CerebrasLikeMember(ScriptedMember):
    """A scripted member that reports the Cerebras provider."""

    def _get_ls_params(self, stop: Any = None, **kwargs: Any) -> LangSmithParams:
        return LangSmithParams(ls_provider="cerebras", ls_model_name="scripted")


@MODES
@pytest.mark.parametrize(
    ("call_kwargs", "member_kwargs", "tool_calls"),
    [
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, {}, True),
        ({}, {"tools": [{"type": "function", "function": {"name": "f"}}]}, True),
        # A Cerebras, Groq or OpenAI API answers with tool calls only to a request that
        # sends tools: without any, the loop does not test chunks for them.
        ({}, {}, False),
    ],
)
def test_a_known_providers_chunks_are_tested_for_tool_calls_when_tools_are_sent(
    mode: str, call_kwargs: dict[str, Any], member_kwargs: dict[str, Any], tool_calls: bool
) -> None:
    member = CerebrasLikeMember(
        script=[AIMessageChunk(content="Hi"), TOOL], error="reset", model_kwargs=member_kwargs
    )
    model = RoutedChatModel(routes={"only": member})
    with pytest.raises(PartialStreamError) as caught:
        if mode == "stream":
            list(model.stream("hi", **call_kwargs))
        else:

            async def collect() -> None:
                async for _ in model.astream("hi", **call_kwargs):
                    pass

            asyncio.run(collect())
    assert caught.value.tool_calls_yielded is tool_calls


@MODES
def test_a_failure_after_the_answers_final_chunk_is_not_the_routes(mode: str) -> None:
    model = routed(AIMessageChunk(content="Hi"), FINAL, error="reset after the answer")
    with pytest.raises(PartialStreamError) as caught:
        drain(model, mode)
    assert caught.value.chunks_yielded == 2
    health = model.health.snapshot("only")
    assert (health.successes, health.total_failures) == (1, 0)


@MODES
def test_the_routing_explanation_comes_last_after_the_members_chunks(mode: str) -> None:
    model = routed(ROLE, AIMessageChunk(content="Hi"), FINAL)
    *answer, last = drain(model, mode)
    assert [c.content for c in answer] == ["", "Hi", ""]
    assert answer[-1].response_metadata["finish_reason"] == "stop"
    assert last.chunk_position == "last"
    [attempt] = last.response_metadata["routing"]["attempts"]
    assert (attempt["route"], attempt["model"], attempt["outcome"]) == (
        "only",
        "scripted",
        "answered",
    )
    assert attempt["elapsed_ms"] >= attempt["ttft_ms"] >= 0
    health = model.health.snapshot("only")
    assert (health.successes, health.total_failures, health.probes_in_flight) == (1, 0, 0)


@MODES
@pytest.mark.parametrize(("stop_after", "answered"), [(2, False), (3, True)])
def test_a_caller_that_stops_reading_after_the_final_chunk_got_its_answer(
    mode: str, stop_after: int, answered: bool
) -> None:
    """Stopping at the final chunk (before the explanation) counts as answered; stopping
    earlier abandons the attempt: neither a success nor the route's failure."""
    model = routed(ROLE, AIMessageChunk(content="Hi"), FINAL, AIMessageChunk(content=""))
    received = read_until(model, mode, stop_after)
    assert [c.content for c in received] == ["", "Hi", ""][:stop_after]
    health = model.health.snapshot("only")
    assert (health.successes, health.total_failures) == (int(answered), 0)


@MODES
def test_a_per_call_model_is_the_one_a_stream_reports(emulator: Emulator, mode: str) -> None:
    """ChatGroq reports the model it was built with; a routed stream reports the route's
    id of the model the call asked for."""
    member = ChatGroq(model="llama-3.3-70b-versatile", api_key="k", base_url=emulator.base_url)
    model = RoutedChatModel(routes={"groq": member})
    if mode == "stream":
        chunks = list(model.stream("hi", model="llama3.1-8b"))
    else:

        async def collect() -> list[AIMessageChunk]:
            return [c async for c in model.astream("hi", model="llama3.1-8b")]

        chunks = asyncio.run(collect())
    reported = [
        c.response_metadata["model_name"] for c in chunks if "model_name" in c.response_metadata
    ]
    assert reported and set(reported) == {"llama-3.1-8b-instant"}
    assert chunks[-1].response_metadata["routing"]["attempts"][0]["model"] == "llama-3.1-8b-instant"
