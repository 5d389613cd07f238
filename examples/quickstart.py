"""Quickstart: ChatCerebras and RoutedChatModel in a few calls.

Run with ``CEREBRAS_API_KEY`` (and optionally ``GROQ_API_KEY``) set to call the real APIs;
without a key it starts the bundled emulator and runs offline.

    python examples/quickstart.py
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from langchain_cerebras_router import ChatCerebras, RoutedChatModel
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


def main() -> None:
    llm = ChatCerebras(model="gpt-oss-120b", temperature=0)

    message = llm.invoke("In one sentence: why does time to first token matter?")
    print("ChatCerebras:", message.content)
    usage = message.usage_metadata or {"output_tokens": 0}
    speed = message.response_metadata.get("tokens_per_second")
    print(f"  {usage['output_tokens']} tokens at {speed} tokens/s (server-side)\n")

    print("Streaming: ", end="")
    for chunk in llm.stream("Write a haiku about wafer-scale chips."):
        print(chunk.content, end="", flush=True)
    print("\n")

    # Drop-in: routes from CEREBRAS_API_KEY / GROQ_API_KEY, like ChatGroq(model=...).
    router = RoutedChatModel(model="llama-3.3-70b-versatile")
    for priority in ("ultimate_speed", "balanced"):
        reply = router.invoke("Hello!", priority=priority)
        routing = reply.response_metadata["routing"]
        print(f"RoutedChatModel, priority={priority}: answered by {routing['route']!r}")
        print("  ", reply.content)


if __name__ == "__main__":
    with providers():
        main()
