"""A LangGraph tool-calling agent on RoutedChatModel.

The router is bound to the tools once; each route converts them itself, and a route that
fails over hands the conversation to the next without the graph noticing.

    pip install langgraph
    python examples/langgraph_agent.py
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from langchain_core.messages import AnyMessage, SystemMessage
from langchain_core.tools import tool
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode, tools_condition
from typing_extensions import TypedDict

from langchain_cerebras_router import RoutedChatModel
from langchain_cerebras_router.testing import Emulator


@contextmanager
def providers() -> Iterator[None]:
    """The real APIs when CEREBRAS_API_KEY is set, else a local emulator of both."""
    if os.environ.get("CEREBRAS_API_KEY"):
        yield
        return
    with Emulator() as emulator:
        os.environ.update(emulator.env())
        print(f"No CEREBRAS_API_KEY: using the local emulator at {emulator.base_url}.\n")
        yield


CUSTOMERS = {42: {"name": "Ada Lovelace", "city": "London", "open_tickets": 3}}


@tool
def lookup_customer(customer_id: int) -> str:
    """Look a customer up by id and return the record."""
    return str(CUSTOMERS.get(customer_id, {"error": f"no customer {customer_id}"}))


TOOLS = [lookup_customer]


class State(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def build_graph(router: RoutedChatModel) -> Any:
    model = router.bind_tools(TOOLS)

    def agent(state: State) -> dict[str, list[AnyMessage]]:
        system = SystemMessage("You are a support agent. Use the tools to answer.")
        return {"messages": [model.invoke([system, *state["messages"]])]}

    builder = StateGraph(State)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode(TOOLS))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    return builder.compile()


def main() -> None:
    router = RoutedChatModel(model="gpt-oss-120b", priority="ultimate_speed", timeout=20)
    graph = build_graph(router)
    question = "Which city is customer 42 in? Use lookup_customer."
    result = graph.invoke({"messages": [("user", question)]})
    for message in result["messages"]:
        message.pretty_print()
    routes = [m.response_metadata["routing"]["route"] for m in result["messages"] if m.type == "ai"]
    print("\nModel calls answered by:", routes)


if __name__ == "__main__":
    with providers():
        main()
