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
"""

from __future__ import annotations

import logging
from typing import Any

from langchain_core.callbacks import CallbackManager
from langchain_core.callbacks.manager import CallbackManagerForChainRun
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

    @staticmethod
    def for_run(parent: Any, messages: list[BaseMessage]) -> AttemptTracer | None:
        """A tracer if the router's run has inheritable handlers, else ``None``."""
        if parent is None or not getattr(parent, "inheritable_handlers", None):
            return None
        return AttemptTracer(parent, messages)

    def start(self, route: Route, *, hedge: bool) -> CallbackManagerForChainRun | None:
        """Open the child run of an attempt on ``route``."""
        try:
            ls_params = dict(route.model._get_ls_params())
        except Exception:
            ls_params = {"ls_provider": route.provider, "ls_model_name": route.model_id}
        try:
            manager = CallbackManager(
                handlers=self._handlers,
                inheritable_handlers=self._handlers,
                parent_run_id=self._parent_run_id,
                tags=self._tags,
                inheritable_tags=self._tags,
                metadata={**self._metadata, **ls_params, "route": route.name, "hedge": hedge},
                inheritable_metadata=self._metadata,
            )
            run = manager.on_chain_start(
                {"name": route.name, "id": ["langchain_cerebras_router", "route", route.name]},
                {"messages": self._messages},
                name=f"route:{route.name}",
            )
        except Exception as exc:  # tracing must never break a call
            logger.debug("could not open the trace of route %r: %s", route.name, exc)
            return None
        return run

    @staticmethod
    def succeeded(run: CallbackManagerForChainRun | None, message: BaseMessage | None) -> None:
        """Close a child run with the answer (its message; a stream: its final chunk)."""
        if run is not None:
            run.on_chain_end({"output": message if message is not None else AIMessage("")})

    @staticmethod
    def failed(run: CallbackManagerForChainRun | None, error: BaseException) -> None:
        """Close a child run with the error (failure, timeout or cancellation)."""
        if run is not None:
            run.on_chain_error(error)
