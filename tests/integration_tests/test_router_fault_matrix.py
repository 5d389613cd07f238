"""Every emulator fault x every call path, with the expected outcome of each cell.

Cerebras is the first route (``ultimate_speed``), Groq the healthy second. A fault is
injected on exactly the next Cerebras request. Expected outcomes:

* ``"groq"`` — failed over: the Groq route answered, Cerebras was asked exactly once
  (no SDK retries) and the routing explanation records the failure.
* ``"cerebras"`` — no failover needed (the fault does not break the answer).
* ``PartialStreamError`` — the failure came after the stream's commit point: the router
  refuses to splice Groq's answer onto what Cerebras already yielded.
* ``BadRequestError`` — a 400 is the caller's problem: raised as is, Groq never asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from cerebras.cloud.sdk import BadRequestError
from langchain_core.messages import AIMessage, BaseMessageChunk
from langchain_core.runnables import Runnable
from langchain_groq import ChatGroq

from langchain_cerebras_router import ChatCerebras, PartialStreamError, RoutedChatModel
from langchain_cerebras_router.testing import Emulator, Fault

GROQ, CEREBRAS = "groq", "cerebras"
PARTIAL = PartialStreamError
BAD = BadRequestError

MODES = ("invoke", "ainvoke", "stream", "astream", "batch")

# fault -> outcome per mode (invoke, ainvoke, stream, astream, batch)
MATRIX: dict[str, tuple[Any, ...]] = {
    "rate_limit:5": (GROQ,) * 5,
    "status:500": (GROQ,) * 5,
    "status:502": (GROQ,) * 5,
    "status:503": (GROQ,) * 5,
    "capacity_exceeded": (GROQ,) * 5,
    "unauthorized": (GROQ,) * 5,
    "reset": (GROQ,) * 5,
    "reset_after:0": (GROQ,) * 5,
    "stall:0:30": (GROQ,) * 5,
    "slow_first_token:30": (GROQ,) * 5,
    "malformed_json:0": (GROQ,) * 5,
    "malformed_sse:0": (GROQ,) * 5,
    "stream_error:429:0": (GROQ,) * 5,
    "reset_after:3": (GROQ, GROQ, PARTIAL, PARTIAL, GROQ),
    "stall:2:30": (GROQ, GROQ, PARTIAL, PARTIAL, GROQ),
    "malformed_json:2": (GROQ, GROQ, PARTIAL, PARTIAL, GROQ),
    "malformed_sse:2": (GROQ, GROQ, PARTIAL, PARTIAL, GROQ),
    "stream_error:503:2": (GROQ, GROQ, PARTIAL, PARTIAL, GROQ),
    "invalid_tool_arguments": (CEREBRAS,) * 5,
    "status:400": (BAD,) * 5,
}


def _router(emulator: Emulator) -> RoutedChatModel:
    return RoutedChatModel(
        routes={
            "cerebras": ChatCerebras(model="gpt-oss-120b", api_key="k", base_url=emulator.base_url),
            "groq": ChatGroq(
                model="llama-3.3-70b-versatile", api_key="k", base_url=emulator.base_url
            ),
        },
        priority="ultimate_speed",
        timeout=0.3,
        stall_timeout=0.3,
    )


def _aggregate(chunks: list[BaseMessageChunk]) -> AIMessage:
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    return AIMessage(**full.model_dump(exclude={"type", "tool_call_chunks", "chunk_position"}))


def add_one(value: int) -> int:
    """Add one to a value."""
    return value + 1


def _run(router: Runnable[Any, Any], mode: str) -> AIMessage:
    if mode == "invoke":
        return router.invoke("hi")
    if mode == "ainvoke":
        return asyncio.run(router.ainvoke("hi"))
    if mode == "stream":
        return _aggregate(list(router.stream("hi")))
    if mode == "astream":

        async def collect() -> list[BaseMessageChunk]:
            return [chunk async for chunk in router.astream("hi")]

        return _aggregate(asyncio.run(collect()))
    (result,) = router.batch(["hi"])
    return result


CASES = [
    pytest.param(fault, mode, outcome, id=f"{fault}-{mode}")
    for fault, outcomes in MATRIX.items()
    for mode, outcome in zip(MODES, outcomes, strict=True)
]


@pytest.mark.parametrize(("fault", "mode", "expected"), CASES)
def test_fault_matrix(emulator: Emulator, fault: str, mode: str, expected: Any) -> None:
    router: Runnable[Any, Any] = _router(emulator)
    if fault == "invalid_tool_arguments":
        router = _router(emulator).bind_tools([add_one], tool_choice="any")
    emulator.inject(Fault.parse(fault), provider="cerebras", times=1)
    run: Callable[[], AIMessage] = lambda: _run(router, mode)  # noqa: E731

    if isinstance(expected, type):
        with pytest.raises(expected) as caught:
            run()
        if expected is PartialStreamError:
            error = caught.value
            assert isinstance(error, PartialStreamError)
            assert error.route == "cerebras"
            assert error.chunks_yielded > 0
        # Never a second provider after a partial answer, never on a bad request.
        assert emulator.request_count("groq") == 0
    else:
        message = run()
        routing = message.response_metadata["routing"]
        assert routing["route"] == expected
        answered = [a for a in routing["attempts"] if a["outcome"] == "answered"]
        assert len(answered) == 1, routing
        if expected == GROQ:
            failed = [a for a in routing["attempts"] if a["outcome"] == "failed"]
            assert [a["route"] for a in failed] == ["cerebras"]
            assert message.content
        if fault == "invalid_tool_arguments":
            # Arguments that are not JSON: no crash, no failover. invoke reports them as
            # invalid_tool_calls; in streams LangChain's chunk aggregation parses
            # arguments as partial JSON (for every provider), so a call whose JSON was
            # cut short may come back repaired.
            if mode in ("stream", "astream"):
                assert message.tool_calls or message.invalid_tool_calls
            else:
                assert message.invalid_tool_calls
                assert not message.tool_calls
    # SDK retries are off inside the router: the faulty route is asked exactly once.
    assert emulator.request_count("cerebras") == 1
