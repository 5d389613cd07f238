"""The streaming half of routed calls: from the commit point to the end of a stream.

:mod:`~langchain_cerebras_router.route_execution` races attempts to their first event;
for a stream that event is an :class:`OpenedStream`: the member's chunk iterator, read
up to and including its first content, reasoning or tool-call chunk (the *commit
point*). From there the winner's chunks are passed through, each within
``stall_timeout``; a failure raises
:class:`~langchain_cerebras_router.failover.PartialStreamError`, never a second
provider's answer spliced onto the first. The routing explanation is the stream's
last chunk (``chunk_position="last"``), after the member's.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import queue
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk, ChatResult

from langchain_cerebras_router.attempt_tracing import AttemptTracer
from langchain_cerebras_router.failover import (
    Attempt,
    PartialStreamError,
    Route,
    is_committing_chunk,
)
from langchain_cerebras_router.failures import classify_failure
from langchain_cerebras_router.lean_streaming import as_streamed_message
from langchain_cerebras_router.redaction import redact_exception
from langchain_cerebras_router.route_execution import (
    TIMEOUT_AWARE_PROVIDERS,
    AttemptTicket,
    AttemptTimeoutError,
    CallContext,
    abandon_attempt,
    arace_to_first_event,
    async_timeout,
    attempt_executor,
    attempt_timeout_error,
    race_to_first_event,
)

__all__ = [
    "OpenedStream",
    "areporting_tokens",
    "arun_stream",
    "reporting_tokens",
    "result_as_chunk",
    "run_stream",
]

T = TypeVar("T")


@dataclass(slots=True)
class _Yielded:
    """What a stream had yielded after its commit point when it ended.

    Counted by the loops that yield, in local variables, and gathered here once at the
    end: a method call per chunk cost more than the rest of the router's per-chunk work
    (~0.2 us of ~0.3 us a chunk, measured with I/O; docs/benchmarks.md (c)).
    """

    chunks: int = 0
    characters: int = 0
    tool_calls: bool = False
    last: ChatGenerationChunk | None = None

    @property
    def ended_answer(self) -> bool:
        """Whether the last chunk yielded ended the answer (it has a ``finish_reason``)."""
        return self.last is not None and bool(
            self.last.message.response_metadata.get("finish_reason")
        )


class OpenedStream(Generic[T]):
    """An attempt's stream, from its opening to its end.

    Before the commit point it buffers what the member yields (:meth:`take`). After it,
    it records how the stream ended: answered (:meth:`closing_chunk`), stopped by the
    caller (:meth:`stopped`) or broken (:meth:`partial_error`). The attempt's success is
    recorded when the member's stream ends (or when the caller stops reading after the
    answer's final chunk), and the routing explanation is the stream's last chunk,
    ``chunk_position="last"``: the one LangChain's ``stream`` adds anyway, so a routed
    stream has as many chunks as its member's.

    One object for the whole stream: with I/O, each object a routed call builds costs
    ~0.3 us (docs/benchmarks.md (c)).
    """

    __slots__ = ("buffered", "chunks", "ctx", "ended", "ticket", "ttft")

    def __init__(self, chunks: T, ctx: CallContext, ticket: AttemptTicket) -> None:
        self.chunks = chunks
        self.ctx = ctx
        self.ticket = ticket
        self.buffered: list[ChatGenerationChunk] = []
        self.ttft: float | None = None
        self.ended = False

    def take(self, chunk: ChatGenerationChunk) -> bool:
        """Buffer a chunk read before the commit point; ``True`` if it commits the stream.

        A member read in the calling thread is bounded by its HTTP read timeout, which
        restarts with every byte: checking the clock at every chunk before the commit
        point stops a member that keeps sending empty chunks from holding the call past
        its attempt timeout.
        """
        self.buffered.append(chunk)
        ticket = self.ticket
        if is_committing_chunk(chunk.message):
            self.ttft = time.monotonic() - ticket.started
            return True
        timeout = ticket.timeout
        if timeout is not None and self.ctx.plan.clock() >= ticket.started + timeout:
            raise attempt_timeout_error(ticket, "first chunk")
        return False

    def closing_chunk(
        self, chunks: int, last: ChatGenerationChunk | None, message_id: str | None
    ) -> ChatGenerationChunk | AIMessageChunk:
        """Record the success; the routing explanation as the stream's last chunk.

        ``chunks`` were yielded after the commit point, ``last`` the last of them. With
        ``message_id`` (an unobserved stream, see :func:`run_stream`) the closing
        message itself, as ``BaseChatModel.stream`` would yield it; else its generation
        chunk, for ``BaseChatModel`` to report and yield.
        """
        attempt = self._record_success(chunks, last)
        content: str | list[Any] = (
            "" if last is None or isinstance(last.message.content, str) else []
        )
        routing = self.ctx.plan.explanation(attempt, self.ctx.priority)
        message = AIMessageChunk(
            content=content,
            chunk_position="last",
            id=message_id,
            response_metadata={"routing": routing},
        )
        return message if message_id is not None else ChatGenerationChunk(message=message)

    def stopped(self, yielded: _Yielded, why: str) -> None:
        """The caller stopped reading: a success after the final chunk, else abandoned."""
        if yielded.ended_answer:
            self._record_success(yielded.chunks, yielded.last)
        else:
            abandon_attempt(self.ctx, self.ticket, why)

    def partial_error(self, exc: BaseException, yielded: _Yielded) -> PartialStreamError:
        """The error for a failure after the commit point (health updated once).

        ``exc`` becomes its cause: its text is redacted first (a server may echo a key).
        A failure after the answer's final chunk is not the route's: the answer counts.
        """
        ctx, ticket = self.ctx, self.ticket
        redact_exception(exc)
        if yielded.ended_answer:
            self._record_success(yielded.chunks, yielded.last)
            failure = classify_failure(exc)
        else:
            failure = ctx.plan.failed(
                ticket.route, exc, started=ticket.started, hedge=ticket.hedge, streamed=True
            )
            AttemptTracer.failed(ticket.trace, exc)
        return PartialStreamError(
            route=ticket.route.name,
            chunks_yielded=yielded.chunks,
            characters_yielded=yielded.characters,
            tool_calls_yielded=yielded.tool_calls,
            failure=failure,
        )

    def _record_success(self, chunks: int, last: ChatGenerationChunk | None) -> Attempt:
        ticket = self.ticket
        message = None if last is None else last.message
        attempt = self.ctx.plan.succeeded(
            ticket.route,
            started=ticket.started,
            ttft=self.ttft,
            message=message,
            hedge=ticket.hedge,
            streamed=True,
            chunks=chunks,
        )
        AttemptTracer.succeeded(ticket.trace, message)
        return attempt


def result_as_chunk(result: ChatResult) -> ChatGenerationChunk:
    """A whole answer as one chunk (members that cannot stream)."""
    message = result.generations[0].message
    # AIMessageChunk derives tool_call_chunks from tool_calls / invalid_tool_calls itself.
    chunk = AIMessageChunk(
        content=message.content,
        additional_kwargs=message.additional_kwargs,
        response_metadata=message.response_metadata,
        usage_metadata=getattr(message, "usage_metadata", None),
        tool_calls=getattr(message, "tool_calls", []),
        invalid_tool_calls=getattr(message, "invalid_tool_calls", []),
        id=message.id,
    )
    return ChatGenerationChunk(message=chunk)


@overload
def run_stream(ctx: CallContext, message_id: None = None) -> Iterator[ChatGenerationChunk]: ...


@overload
def run_stream(ctx: CallContext, message_id: str) -> Iterator[AIMessageChunk]: ...


def run_stream(ctx: CallContext, message_id: str | None = None) -> Iterator[Any]:
    """A routed sync stream: generation chunks (``_stream``), or messages with ``message_id``.

    With ``message_id``, the messages ``BaseChatModel.stream`` would yield, for streams
    no callback handler observes (see
    :class:`~langchain_cerebras_router.lean_streaming.LeanStreamingChatModel`): each
    chunk is converted in the loop that routes it, and the closing message carries the
    routing explanation and ``message_id``, so no chunk is built only to be unwrapped.
    """

    def start(route: Route, ticket: AttemptTicket) -> OpenedStream[Iterator[ChatGenerationChunk]]:
        # The member's own chunk iterator: no wrapping layer on the per-chunk path.
        kwargs = ctx.kwargs_for_attempt(ticket)
        model: BaseChatModel = route.model
        chunks: Iterator[ChatGenerationChunk]
        if route.has_stream:
            chunks = model._stream(ctx.messages, ctx.stop, None, **kwargs)
        else:
            answer = model._generate(ctx.messages, ctx.stop, None, **kwargs)
            chunks = iter((result_as_chunk(answer),))
        opened = OpenedStream(chunks, ctx, ticket)
        try:
            for chunk in chunks:
                if opened.take(chunk):
                    break
            else:
                opened.ended = True
        except BaseException:
            _close(opened)
            raise
        if ticket.cancelled:
            _close(opened)
        return opened

    ticket, opened = race_to_first_event(ctx, start, what="first chunk", close=_close)
    # Counted here, not by a call per chunk (see _Yielded); chunks are tested for tool
    # calls only if the stream can hold some (a test per chunk is ~0.3 us after I/O).
    chunks = characters = 0
    tool_calls = False
    # (until the first tool call; see route_factory.tool_calls_unasked)
    watching = ctx.sends_tools or ticket.route.tool_calls_unasked
    chunk: ChatGenerationChunk | None = None
    try:
        for chunk in _rest_of_stream(opened, ctx, ticket):
            chunks += 1
            characters += len(chunk.text)
            if watching and getattr(chunk.message, "tool_call_chunks", None):
                watching, tool_calls = False, True
            yield chunk if message_id is None else as_streamed_message(chunk, message_id)
    except GeneratorExit:
        _close(opened)
        opened.stopped(
            _Yielded(chunks, characters, tool_calls, chunk), "the caller stopped reading"
        )
        raise
    except Exception as exc:
        _close(opened)
        raise opened.partial_error(exc, _Yielded(chunks, characters, tool_calls, chunk)) from exc
    yield opened.closing_chunk(chunks, chunk, message_id)


def _rest_of_stream(
    opened: OpenedStream[Iterator[ChatGenerationChunk]], ctx: CallContext, ticket: AttemptTicket
) -> Iterator[ChatGenerationChunk]:
    """The chunks read up to the commit point, then the rest of the member's stream.

    No generator layer of its own: the buffered chunks are handed over (and no longer
    kept by ``opened``), then the member's iterator itself when its HTTP read timeout is
    the stall timeout, else the member read by :func:`_watched_for_stalls`.
    """
    # An iterator, not the list: chain keeps its arguments, a list iterator lets go of
    # the list (and its chunks) once read to the end.
    buffered = iter(opened.buffered)
    opened.buffered = []
    chunks: Iterator[ChatGenerationChunk]
    if opened.ended:
        chunks = buffered
    elif _member_bounds_stalls(ctx, ticket):
        chunks = itertools.chain(buffered, opened.chunks)
    else:
        chunks = itertools.chain(buffered, _watched_for_stalls(opened.chunks, ctx, ticket))
    model_id = _requested_model_id(ctx, ticket)
    if model_id is None:
        return chunks
    return map(functools.partial(_reporting_model_id, model_id), chunks)


def _requested_model_id(ctx: CallContext, ticket: AttemptTicket) -> str | None:
    """The route's id of a per-call ``model=``, which its chunks must report (else None)."""
    return ticket.route.model_id if ctx.model_override else None


def _reporting_model_id(model_id: str, chunk: ChatGenerationChunk) -> ChatGenerationChunk:
    """``chunk``, reporting ``model_id`` as its ``model_name`` if it reports one.

    A member asked for another model by a per-call ``model=`` may report the model it
    was built with (ChatGroq does).
    """
    metadata = chunk.message.response_metadata
    if "model_name" in metadata:
        metadata["model_name"] = model_id
    return chunk


def _member_bounds_stalls(ctx: CallContext, ticket: AttemptTicket) -> bool:
    """Whether nothing but the member itself needs to bound the waits after the commit point.

    True without a stall timeout or deadline; or when the call has no deadline and the
    member's HTTP read timeout is the stall timeout: Cerebras, Groq and OpenAI members
    get ``max(attempt timeout, stall_timeout)`` (:meth:`CallContext.member_read_timeout`),
    and then the router needs no timer of its own per chunk. A deadline needs one: a
    read timeout restarts with every byte and cannot end a stream at a given instant.
    """
    if ctx.plan.deadline is not None:
        return False
    if ctx.stall_timeout is None:
        return True
    if ticket.route.provider not in TIMEOUT_AWARE_PROVIDERS:
        return False
    return ctx.member_read_timeout(ticket.timeout) == ctx.stall_timeout


def _next_chunk_wait(ctx: CallContext, route: Route) -> tuple[float | None, str]:
    """How long to wait for the next chunk after the commit point, and the error's text.

    ``stall_timeout``, shortened to what the call's deadline leaves.
    """
    stall, remaining = ctx.stall_timeout, ctx.plan.remaining()
    if remaining is not None and (stall is None or remaining < stall):
        return (
            remaining,
            f"the call's deadline ({ctx.plan.deadline} s) passed in route {route.name!r}'s stream",
        )
    return stall, f"route {route.name!r} stalled: no chunk for {stall} s"


def _watched_for_stalls(
    chunks: Iterator[ChatGenerationChunk], ctx: CallContext, ticket: AttemptTicket
) -> Iterator[ChatGenerationChunk]:
    """Pass the chunks after the commit point through, each within :func:`_next_chunk_wait`.

    For members whose own read timeout is not the bound (any member outside Cerebras,
    Groq and OpenAI, a first-chunk bound longer than ``stall_timeout``, or a deadline):
    a worker thread reads the member, and the caller gives up when the wait runs out.
    """
    handoff: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
    stop = threading.Event()

    def pump() -> None:
        try:
            for chunk in chunks:
                if stop.is_set():
                    break
                handoff.put(("chunk", chunk))
            handoff.put(("end", None))
        except BaseException as exc:  # handed to the consumer, raised there
            handoff.put(("error", exc))
        finally:
            if stop.is_set():
                with contextlib.suppress(Exception):
                    getattr(chunks, "close", lambda: None)()

    attempt_executor().submit(pump)
    try:
        while True:
            wait, why = _next_chunk_wait(ctx, ticket.route)
            try:
                kind, item = handoff.get(timeout=wait)
            except queue.Empty:
                raise AttemptTimeoutError(why) from None
            if kind == "chunk":
                yield item
            elif kind == "end":
                return
            else:
                raise item
    finally:
        stop.set()


def reporting_tokens(
    chunks: Iterator[ChatGenerationChunk], run_manager: CallbackManagerForLLMRun
) -> Iterator[ChatGenerationChunk]:
    """``chunks``, each reported to ``run_manager`` as a new token (streams under ``_generate``)."""
    for chunk in chunks:
        run_manager.on_llm_new_token(chunk.text, chunk=chunk)
        yield chunk


async def areporting_tokens(
    chunks: AsyncIterator[ChatGenerationChunk], run_manager: AsyncCallbackManagerForLLMRun
) -> AsyncIterator[ChatGenerationChunk]:
    """:func:`reporting_tokens` for async streams."""
    async for chunk in chunks:
        await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
        yield chunk


def _close(opened: OpenedStream[Any]) -> None:
    close = getattr(opened.chunks, "close", None)
    if close is not None:
        # Closing a broken stream must not hide the real error.
        with contextlib.suppress(Exception):
            close()


async def _agenerate_as_chunks(
    model: BaseChatModel, ctx: CallContext, kwargs: dict[str, Any]
) -> AsyncIterator[ChatGenerationChunk]:
    yield result_as_chunk(await model._agenerate(ctx.messages, ctx.stop, None, **kwargs))


async def _aclose(opened: OpenedStream[Any]) -> None:
    aclose = getattr(opened.chunks, "aclose", None)
    if aclose is not None:
        # Closing a broken stream must not hide the real error.
        with contextlib.suppress(Exception):
            await aclose()


def _arest_of_stream(
    opened: OpenedStream[AsyncIterator[ChatGenerationChunk]],
    ctx: CallContext,
    ticket: AttemptTicket,
    model_id: str | None,
) -> AsyncIterator[ChatGenerationChunk]:
    """The member's stream after its commit point.

    The member's iterator itself when its HTTP read timeout is the stall timeout (no
    timer per chunk), else each chunk within :func:`_next_chunk_wait`; reporting
    ``model_id`` (:func:`_reporting_model_id`) if the call asked for its own model.
    """
    chunks = opened.chunks
    if not _member_bounds_stalls(ctx, ticket):
        chunks = _awatched_for_stalls(chunks, ctx, ticket)
    if model_id is None:
        return chunks
    return _areporting_model_id(model_id, chunks)


async def _areporting_model_id(
    model_id: str, chunks: AsyncIterator[ChatGenerationChunk]
) -> AsyncIterator[ChatGenerationChunk]:
    async for chunk in chunks:
        yield _reporting_model_id(model_id, chunk)


async def _awatched_for_stalls(
    chunks: AsyncIterator[ChatGenerationChunk], ctx: CallContext, ticket: AttemptTicket
) -> AsyncIterator[ChatGenerationChunk]:
    """:func:`_watched_for_stalls` for async members: a timer per chunk, no thread."""
    iterator = chunks.__aiter__()
    while True:
        wait, why = _next_chunk_wait(ctx, ticket.route)
        try:
            async with async_timeout(wait):
                chunk = await iterator.__anext__()
        except StopAsyncIteration:
            return
        except TimeoutError as exc:
            raise AttemptTimeoutError(why) from exc
        yield chunk


@overload
def arun_stream(
    ctx: CallContext, message_id: None = None
) -> AsyncIterator[ChatGenerationChunk]: ...


@overload
def arun_stream(ctx: CallContext, message_id: str) -> AsyncIterator[AIMessageChunk]: ...


async def arun_stream(ctx: CallContext, message_id: str | None = None) -> AsyncIterator[Any]:
    """:func:`run_stream` for ``astream``, with a stall timeout between chunks."""

    async def start(
        route: Route, ticket: AttemptTicket
    ) -> OpenedStream[AsyncIterator[ChatGenerationChunk]]:
        # The member's own chunk iterator: no wrapping layer on the per-chunk path.
        kwargs = ctx.kwargs_for_attempt(ticket)
        model: BaseChatModel = route.model
        chunks: AsyncIterator[ChatGenerationChunk]
        if route.has_astream or route.has_stream:
            chunks = model._astream(ctx.messages, ctx.stop, None, **kwargs)
        else:
            chunks = _agenerate_as_chunks(model, ctx, kwargs)
        opened = OpenedStream(chunks, ctx, ticket)
        try:
            async for chunk in chunks:
                if opened.take(chunk):
                    break
            else:
                opened.ended = True
        except BaseException:
            await _aclose(opened)
            raise
        return opened

    ticket, opened = await arace_to_first_event(ctx, start, what="first chunk", close=_aclose)
    model_id = _requested_model_id(ctx, ticket)
    buffered = opened.buffered
    opened.buffered = []  # keep no yielded chunk for the rest of the stream
    # Counted here, not by a call per chunk (see _Yielded); the buffered chunks have a
    # loop of their own because chaining two async iterators costs a generator layer.
    # Chunks are tested for tool calls only if the stream can hold some.
    chunks = characters = 0
    tool_calls = False
    # (until the first tool call; see route_factory.tool_calls_unasked)
    watching = ctx.sends_tools or ticket.route.tool_calls_unasked
    chunk: ChatGenerationChunk | None = None
    try:
        for chunk in buffered:
            if model_id is not None:
                _reporting_model_id(model_id, chunk)
            chunks += 1
            characters += len(chunk.text)
            if watching and getattr(chunk.message, "tool_call_chunks", None):
                watching, tool_calls = False, True
            yield chunk if message_id is None else as_streamed_message(chunk, message_id)
        buffered.clear()
        if not opened.ended:
            async for chunk in _arest_of_stream(opened, ctx, ticket, model_id):
                chunks += 1
                characters += len(chunk.text)
                if watching and getattr(chunk.message, "tool_call_chunks", None):
                    watching, tool_calls = False, True
                yield chunk if message_id is None else as_streamed_message(chunk, message_id)
    except GeneratorExit:
        await _aclose(opened)
        opened.stopped(
            _Yielded(chunks, characters, tool_calls, chunk), "the caller stopped reading"
        )
        await ctx.aflush()
        raise
    except asyncio.CancelledError:
        await _aclose(opened)
        opened.stopped(_Yielded(chunks, characters, tool_calls, chunk), "the call was cancelled")
        await ctx.aflush()
        raise
    except Exception as exc:
        await _aclose(opened)
        error = opened.partial_error(exc, _Yielded(chunks, characters, tool_calls, chunk))
        await ctx.aflush()
        raise error from exc
    closing = opened.closing_chunk(chunks, chunk, message_id)
    await ctx.aflush()
    yield closing
