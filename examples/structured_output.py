"""Structured output with ChatCerebras and RoutedChatModel.

``ChatCerebras`` defaults to Cerebras' strict JSON-schema mode and rewrites Pydantic and
TypedDict schemas to its rules; the router converts the schema for whichever route answers.

    python examples/structured_output.py
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from langchain_cerebras_router import ChatCerebras, RoutedChatModel, StrictSchemaError
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


class Ticket(BaseModel):
    """A support ticket extracted from a customer's message."""

    customer: str = Field(description="The customer's name")
    product: str = Field(description="The product concerned")
    urgency: int = Field(ge=1, le=5, description="1 (low) to 5 (critical)")
    order_number: str | None = Field(default=None, description="If the message gives one")


class Sentiment(TypedDict):
    """The sentiment of a message."""

    label: str
    score: float


class Tags(BaseModel):
    tags: dict[str, int]  # free-form keys: no strict equivalent


MESSAGE = "Hi, this is Ada Lovelace. My Analytical Engine stopped working. Please help quickly!"


def main() -> None:
    llm = ChatCerebras(model="gpt-oss-120b", temperature=0)

    ticket = llm.with_structured_output(Ticket).invoke(f"Extract the ticket: {MESSAGE}")
    print("Pydantic, strict json_schema:", repr(ticket))

    sentiment = llm.with_structured_output(Sentiment).invoke(f"Sentiment of: {MESSAGE}")
    print("TypedDict:", sentiment)

    raw = llm.with_structured_output(Ticket, include_raw=True).invoke(f"Extract: {MESSAGE}")
    assert isinstance(raw, dict)
    print("include_raw: parsed =", type(raw["parsed"]).__name__, "error =", raw["parsing_error"])

    try:
        llm.with_structured_output(Tags)
    except StrictSchemaError as err:
        print("\nStrictSchemaError before any request:\n ", err)
    tags = llm.with_structured_output(Tags, method="function_calling").invoke("Tag it")
    print("function_calling instead:", repr(tags))

    router = RoutedChatModel(model="gpt-oss-120b")
    routed = router.with_structured_output(Ticket).invoke(f"Extract the ticket: {MESSAGE}")
    print("\nThrough the router:", repr(routed))


if __name__ == "__main__":
    with providers():
        main()
