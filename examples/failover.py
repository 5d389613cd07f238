"""Failover in milliseconds, what the router does after a failure, and the commit point.

Part 1 works with real keys or the emulator: the first route points at an address where
nothing listens, and the call moves to the next route at once. Part 2 injects faults that
only the emulator can produce (a 429 with ``retry-after``, a reset in the middle of a
stream), so it always runs on a private emulator.

    python examples/failover.py
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langchain_groq import ChatGroq

from langchain_cerebras_router import ChatCerebras, PartialStreamError, RoutedChatModel
from langchain_cerebras_router.testing import Emulator, Fault


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


def show(title: str, routing: dict[str, Any]) -> None:
    print(title)
    for attempt in routing["attempts"]:
        reason = f" ({attempt['reason'][:70]})" if attempt.get("reason") else ""
        elapsed = f" in {attempt['elapsed_ms']:.1f} ms" if "elapsed_ms" in attempt else ""
        print(f"  {attempt['route']:>9}: {attempt['outcome']}{elapsed}{reason}")
    print()


def part_1_dead_route() -> None:
    """A route that refuses connections, then the real (or emulated) Cerebras."""
    with Emulator() as spare:  # only used for an address where nothing listens
        dead = ChatCerebras(model="gpt-oss-120b", base_url=spare.refused_url)
        router = RoutedChatModel(
            routes={"dead": dead, "cerebras": ChatCerebras(model="gpt-oss-120b")},
            priority="ultimate_speed",
        )
        print("1. The first route refuses connections (the first call also builds the clients):")
        for call in range(1, 5):
            started = time.perf_counter()
            reply = router.invoke("Hello!")
            elapsed = (time.perf_counter() - started) * 1000
            attempts = reply.response_metadata["routing"]["attempts"]
            steps = ", ".join(f"{a['route']} {a['outcome']}" for a in attempts)
            print(f"  call {call}: {elapsed:6.1f} ms  ({steps})")
        print("  After 3 failures the circuit breaker opens: the dead route is skipped.\n")


def part_2_simulated_faults() -> None:
    with Emulator() as emulator:
        router = RoutedChatModel(
            routes={
                "cerebras": ChatCerebras(
                    model="gpt-oss-120b", api_key="emulator-key", base_url=emulator.base_url
                ),
                "groq": ChatGroq(
                    model_name="openai/gpt-oss-120b",
                    api_key="emulator-key",
                    base_url=emulator.base_url,
                ),
            },
            priority="ultimate_speed",
        )

        emulator.inject(Fault.rate_limit(retry_after=30), provider="cerebras")
        first = router.invoke("Hi").response_metadata["routing"]
        show("2. Cerebras answers 429 with retry-after: 30:", first)
        second = router.invoke("Hi").response_metadata["routing"]
        show("3. The next call skips Cerebras without sending a request:", second)

        router.health.reset()
        emulator.inject(Fault.reset_after(3), provider="cerebras")
        print("4. Cerebras resets in the middle of a stream (after the commit point):")
        try:
            for chunk in router.stream("Tell me a story."):
                if chunk.content:
                    print(f"  text chunk: {chunk.content!r}")
        except PartialStreamError as err:
            print(f"  PartialStreamError: {err.chunks_yielded} chunks yielded, not spliced.")
            print(f"  cause: {err.failure.kind}")


def main() -> None:
    logging.getLogger("langchain_cerebras_router").setLevel(logging.ERROR)
    part_1_dead_route()
    part_2_simulated_faults()


if __name__ == "__main__":
    with providers():
        main()
