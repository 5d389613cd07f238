"""HTTP plumbing: the shared TLS context, per-loop caches and pools that let loops go."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import httpx

from langchain_cerebras_router import ChatCerebras
from langchain_cerebras_router.http_clients import (
    PerLoopAsyncTransport,
    PerLoopCache,
    shared_ssl_context,
)
from langchain_cerebras_router.testing import Emulator


def test_shared_ssl_context_is_built_once() -> None:
    assert shared_ssl_context() is shared_ssl_context()


def test_per_loop_cache_keeps_one_value_per_open_loop() -> None:
    cache: PerLoopCache[str] = PerLoopCache()
    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        assert cache.set(first, "a") == "a"
        assert cache.set(second, "b") == "b"
        assert (cache.get(first), cache.get(second), len(cache)) == ("a", "b", 2)
        first.close()
        assert cache.get(first) == "a"  # dropped when the next loop stores a value
        third = asyncio.new_event_loop()
        cache.set(third, "c")
        assert (cache.get(first), len(cache)) == (None, 2)
        assert cache.pop(third) == "c"
        assert cache.pop(third) is None
        third.close()
    finally:
        for loop in (first, second):
            loop.close()


def _loops_alive(loops: list[weakref.ref[asyncio.AbstractEventLoop]]) -> int:
    gc.collect()
    return sum(ref() is not None for ref in loops)


def test_asyncio_run_per_call_does_not_keep_finished_loops(emulator: Emulator) -> None:
    """Sync code calling ``asyncio.run`` per request: no loop, client or socket piles up."""
    llm = ChatCerebras(api_key="k", base_url=emulator.base_url, model="llama3.1-8b")
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def call() -> Any:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        return await llm.ainvoke("hi")

    for _ in range(5):
        asyncio.run(call())
    assert len(llm._async_clients) == 1  # the last loop's, until another loop arrives
    assert _loops_alive(loops) <= 1


def test_per_loop_transport_serves_each_loop_and_lets_closed_ones_go(
    emulator: Emulator,
) -> None:
    transport = PerLoopAsyncTransport()
    client = httpx.AsyncClient(transport=transport)
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def fetch() -> int:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        response = await client.get(
            emulator.base_url + "/v1/models", headers={"Authorization": "Bearer k"}
        )
        return response.status_code

    statuses = [asyncio.run(fetch()) for _ in range(5)]
    assert statuses == [200] * 5  # from five different loops
    assert len(transport._pools) == 1
    assert _loops_alive(loops) <= 1

    async def close() -> None:
        await fetch()
        await client.aclose()

    asyncio.run(close())
    assert len(transport._pools) == 0
