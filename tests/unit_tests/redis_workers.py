"""Code run in worker processes by ``test_redis_health.py`` (imported by spawned children).

Each worker process builds its own `RedisHealthStore` (and router) on the same namespace,
as the replicas of an app would. Tasks meet at a `multiprocessing.Barrier` installed by
`init`, so that one task runs in each worker process and the phases line up.
"""

from __future__ import annotations

import functools
import os
import traceback
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from langchain_cerebras_router.redis_health import RedisHealthStore
from langchain_cerebras_router.router import RoutedChatModel

BARRIER_TIMEOUT = 60.0
_barrier: Any = None


def init(barrier: Any) -> None:
    """Pool initializer: keep the barrier shared by every worker."""
    global _barrier
    _barrier = barrier


def ready() -> int:
    """A no-op task (submitting it starts the pool's processes)."""
    return os.getpid()


def meet() -> None:
    _barrier.wait(timeout=BARRIER_TIMEOUT)


def _fail_fast(fn: Any) -> Any:
    """Break the barrier when a task fails, so the other workers stop waiting for it."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BaseException:
            _barrier.abort()
            # Some exceptions do not survive pickling back to the parent: send the traceback.
            raise RuntimeError(traceback.format_exc()) from None

    return wrapper


class Member(BaseChatModel):
    """A chat model that answers its name, or raises a connection error when ``fail``."""

    answer: str = "ok"
    fail: bool = False
    headers: dict[str, str] = {}
    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "test-member"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.calls += 1
        if self.fail:
            raise ConnectionError("connection reset by peer")
        message = AIMessage(content=self.answer, response_metadata={"rate_limits": self.headers})
        return ChatResult(generations=[ChatGeneration(message=message)])


def make_router(store: RedisHealthStore, primary: Member, secondary: Member) -> RoutedChatModel:
    return RoutedChatModel(routes={"primary": primary, "secondary": secondary}, health=store)


@_fail_fast
def claim_probes(url: str, namespace: str, routes: list[str], now: float) -> tuple[int, list[bool]]:
    """For each route (all half-open at ``now``), admit at the same moment as every worker."""
    store = RedisHealthStore(url, namespace=namespace, clock=lambda: now, timeout=5.0)
    probes = []
    for route in routes:
        meet()
        probes.append(store.admit(route).probe)
    assert not store.using_fallback
    return os.getpid(), probes


@_fail_fast
def fleet_phase(url: str, namespace: str, index: int, fault: str, calls: int) -> dict[str, Any]:
    """Worker 0 sees a fault on ``primary``; then every worker calls its router ``calls`` times.

    ``fault`` is ``"failures"`` (worker 0's primary raises connection errors) or
    ``"headers"`` (worker 0's primary answers with headers saying no request is left).
    """
    store = RedisHealthStore(url, namespace=namespace, timeout=5.0)
    primary = Member(answer="primary")
    secondary = Member(answer="secondary")
    router = make_router(store, primary, secondary)
    if index == 0:
        if fault == "failures":
            router.routes["primary"].fail = True  # type: ignore[attr-defined]
            for _ in range(store.config.failure_threshold):
                assert router.invoke("hi").content == "secondary"
        else:
            router.routes["primary"].headers = {  # type: ignore[attr-defined]
                "x-ratelimit-limit-requests": "1000",
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": "60s",
            }
            assert router.invoke("hi").content == "primary"
    meet()
    before = router.routes["primary"].calls  # type: ignore[attr-defined]
    answers: list[Any] = []
    skips: list[str] = []
    for _ in range(calls):
        message = router.invoke("hi")
        answers.append(message.content)
        routing = message.response_metadata["routing"]
        skips.extend(a["reason"] for a in routing["attempts"] if a["outcome"] == "skipped")
    return {
        "pid": os.getpid(),
        "index": index,
        "primary_calls": router.routes["primary"].calls - before,  # type: ignore[attr-defined]
        "answers": answers,
        "skips": skips,
        "fallback": store.using_fallback,
    }
