"""Each routing attempt as a child run of the router's run (LangSmith, callbacks).

The router calls its members below LangChain's public API (so that a member's own
callbacks and retries do not run twice), so it reports each attempt itself: a child
run named ``route:<name>`` whose metadata carries the *member's* LangSmith params
(``ls_provider``, ``ls_model_name``), ending with the answer or the error. A trace
therefore shows which provider answered, and every attempt that failed or was
cancelled before it. The children are chain runs, not chat-model runs, so that a
routed call is still exactly one chat-model run for callbacks that count them (token
counters, cost trackers, LangChain's standard tests). Nothing is done when the call has
no callback handlers, so untraced calls pay nothing.

On async calls the child runs go through an ``AsyncCallbackManager``: their events are
queued where they happen and awaited, in order, at the call's next flush point (before
each attempt starts, and when the call or stream ends), so that async handlers run on the
caller's event loop rather than on a worker thread that blocks it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.callbacks import AsyncCallbackManager, CallbackManager
from langchain_core.callbacks.manager import (
    AsyncCallbackManagerForChainRun,
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForChainRun,
)
from langchain_core.messages import AIMessage, BaseMessage

from langchain_cerebras_router.failover import Route

__all__ = ["AttemptTracer"]

logger = logging.getLogger("langchain_cerebras_router.routing")


class AttemptTracer:
    """Opens and closes one child run per attempt of a routed call.

    Args:
        parent: The router's run manager (sync or async); only its handlers, tags,
            metadata and run id are used.
        messages: The call's messages.
    """

    def __init__(self, parent: Any, messages: list[BaseMessage]) -> None:
        self._handlers = list(parent.inheritable_handlers)
        self._parent_run_id = parent.run_id
        self._tags = list(parent.inheritable_tags)
        self._metadata = dict(parent.inheritable_metadata)
        self._messages = messages
        #: Async calls: child-run events waiting for :meth:`aflush`, in order.
        self._queue: list[Callable[[], Awaitable[None]]] | None = (
            [] if isinstance(parent, AsyncCallbackManagerForLLMRun) else None
        )

    @property
    def has_pending_events(self) -> bool:
        """Whether child-run events wait for :meth:`aflush` (async calls only)."""
        return bool(self._queue)

    async def aflush(self) -> None:
        """Emit the queued child-run events of an async call, in order."""
        queue = self._queue
        while queue:
            event = queue.pop(0)
            try:
                await event()
            except Exception as exc:  # tracing must never break a call
                logger.debug("could not report an attempt's run: %s", exc)

    @staticmethod
    def for_run(parent: Any, messages: list[BaseMessage]) -> AttemptTracer | None:
        """A tracer if the router's run has inheritable handlers, else ``None``."""
        if parent is None or not getattr(parent, "inheritable_handlers", None):
            return None
        return AttemptTracer(parent, messages)

    def start(
        self, route: Route, *, hedge: bool
    ) -> CallbackManagerForChainRun | QueuedChainRun | None:
        """Open the child run of an attempt on ``route`` (async calls: queue its start)."""
        try:
            ls_params = dict(route.model._get_ls_params())
        except Exception:
            ls_params = {"ls_provider": route.provider, "ls_model_name": route.model_id}
        settings: dict[str, Any] = {
            "handlers": self._handlers,
            "inheritable_handlers": self._handlers,
            "parent_run_id": self._parent_run_id,
            "tags": self._tags,
            "inheritable_tags": self._tags,
            "metadata": {**self._metadata, **ls_params, "route": route.name, "hedge": hedge},
            "inheritable_metadata": self._metadata,
        }
        serialized = {"name": route.name, "id": ["langchain_cerebras_router", "route", route.name]}
        inputs = {"messages": self._messages}
        name = f"route:{route.name}"
        if self._queue is not None:
            run = QueuedChainRun(self._queue)
            manager = AsyncCallbackManager(**settings)
            run.queue_start(lambda: manager.on_chain_start(serialized, inputs, name=name))
            return run
        try:
            return CallbackManager(**settings).on_chain_start(serialized, inputs, name=name)
        except Exception as exc:  # tracing must never break a call
            logger.debug("could not open the trace of route %r: %s", route.name, exc)
            return None

    @staticmethod
    def succeeded(
        run: CallbackManagerForChainRun | QueuedChainRun | None, message: BaseMessage | None
    ) -> None:
        """Close a child run with the answer (its message; a stream: its last chunk)."""
        if run is not None:
            run.on_chain_end({"output": message if message is not None else AIMessage("")})

    @staticmethod
    def failed(
        run: CallbackManagerForChainRun | QueuedChainRun | None, error: BaseException
    ) -> None:
        """Close a child run with the error (failure, timeout or cancellation)."""
        if run is not None:
            run.on_chain_error(error)


class QueuedChainRun:
    """The child run of an attempt on an async call: its events wait in the call's queue.

    Quacks like ``CallbackManagerForChainRun`` for ending the run; the start is awaited
    first (the queue keeps the order), so its run manager exists by the time the end is.
    """

    __slots__ = ("_queue", "_run")

    def __init__(self, queue: list[Callable[[], Awaitable[None]]]) -> None:
        self._queue = queue
        self._run: AsyncCallbackManagerForChainRun | None = None

    def queue_start(self, start: Callable[[], Awaitable[AsyncCallbackManagerForChainRun]]) -> None:
        """Queue the run's start."""

        async def started() -> None:
            self._run = await start()

        self._queue.append(started)

    def on_chain_end(self, outputs: dict[str, Any]) -> None:
        """Queue the run's end with ``outputs``."""

        async def ended() -> None:
            if self._run is not None:
                await self._run.on_chain_end(outputs)

        self._queue.append(ended)

    def on_chain_error(self, error: BaseException) -> None:
        """Queue the run's end with ``error``."""

        async def failed() -> None:
            if self._run is not None:
                await self._run.on_chain_error(error)

        self._queue.append(failed)
