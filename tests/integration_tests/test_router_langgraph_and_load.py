"""RoutedChatModel in LangGraph, and under concurrent load with injected faults."""

from __future__ import annotations

import asyncio
import random
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langchain_core.tools import tool
from langchain_groq import ChatGroq
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import create_react_agent

from langchain_cerebras_router import ChatCerebras, RoutedChatModel
from langchain_cerebras_router.testing import Emulator, Fault


@tool
def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return f"It is sunny in {city}."


def _router(emulator: Emulator, **kwargs: Any) -> RoutedChatModel:
    return RoutedChatModel(
        routes={
            "cerebras": ChatCerebras(api_key="k", base_url=emulator.base_url),
            "groq": ChatGroq(
                model="llama-3.3-70b-versatile", api_key="k", base_url=emulator.base_url
            ),
        },
        priority="ultimate_speed",
        timeout=2.0,
        **kwargs,
    )


def test_prebuilt_react_agent_with_tools_and_failover(emulator: Emulator) -> None:
    agent = create_react_agent(_router(emulator), [get_weather])
    emulator.inject(Fault.status(503), provider="cerebras")  # first model call fails over
    state = agent.invoke({"messages": [HumanMessage("What is the weather in Paris?")]})
    messages = state["messages"]
    tool_messages = [m for m in messages if m.type == "tool"]
    assert len(tool_messages) == 1, "the tool ran exactly once"
    assert "sunny" in str(tool_messages[0].content)
    final = messages[-1]
    assert isinstance(final, AIMessage) and final.content and not final.tool_calls


class State(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def test_router_as_a_langgraph_node(emulator: Emulator) -> None:
    model = _router(emulator)

    def call_model(state: State) -> dict[str, list[AnyMessage]]:
        return {"messages": [model.invoke(state["messages"])]}

    graph = StateGraph(State)
    graph.add_node("model", call_model)
    graph.add_edge(START, "model")
    graph.add_edge("model", END)
    app = graph.compile()
    result = app.invoke({"messages": [HumanMessage("hello")]})
    assert result["messages"][-1].response_metadata["routing"]["route"] == "cerebras"


async def test_concurrent_calls_with_faults_lose_nothing_and_duplicate_nothing(
    emulator: Emulator,
) -> None:
    """200 concurrent calls (invoke and stream) while Cerebras fails a third of the time."""
    # A generous breaker threshold: this test is about answers, not about opening it.
    from langchain_cerebras_router import InMemoryHealthStore
    from langchain_cerebras_router.health import BreakerConfig

    model = _router(emulator, health=InMemoryHealthStore(BreakerConfig(failure_threshold=1000)))
    rng = random.Random(7)
    faults = ["status:503", "rate_limit:0", "reset", "stream_error:429:0", None, None, None]
    emulator.script("cerebras", [rng.choice(faults) for _ in range(400)])
    prompts = [f"Question number {i}: say something" for i in range(200)]

    async def one(i: int) -> tuple[int, str, str]:
        prompt = prompts[i]
        if i % 2:
            full = None
            async for chunk in model.astream(prompt):
                full = chunk if full is None else full + chunk
            assert full is not None
            return i, str(full.content), full.response_metadata["routing"]["route"]
        message = await model.ainvoke(prompt)
        return i, str(message.content), message.response_metadata["routing"]["route"]

    results = await asyncio.gather(*(one(i) for i in range(200)))
    assert sorted(i for i, _, _ in results) == list(range(200))  # none lost, none twice
    # Each answer is exactly the one its route gives for that prompt: nothing spliced.
    reference = {
        "cerebras": ChatCerebras(api_key="k", base_url=emulator.base_url),
        "groq": ChatGroq(model="llama-3.3-70b-versatile", api_key="k", base_url=emulator.base_url),
    }
    emulator.clear_faults()
    routes_used = {route for _, _, route in results}
    assert routes_used == {"cerebras", "groq"}, "faults were injected and failed over"
    for i, content, route in results[:60]:
        expected = await reference[route].ainvoke(prompts[i])
        assert content == expected.content, (i, route)
