"""HTTP plumbing: the shared TLS context, per-loop caches and pools that let loops go."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import warnings
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


def test_per_loop_cache_keeps_values_of_running_loops_only() -> None:
    cache: PerLoopCache[str] = PerLoopCache()
    running = [asyncio.new_event_loop() for _ in range(2)]
    threads = [threading.Thread(target=loop.run_forever, daemon=True) for loop in running]
    for thread in threads:
        thread.start()
    while not all(loop.is_running() for loop in running):
        time.sleep(0.001)
    idle, other_idle = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        cache.set(running[0], "a")
        cache.set(running[1], "b")
        cache.set(idle, "c")  # e.g. new_event_loop().run_until_complete(...), never closed
        assert [cache.get(loop) for loop in (*running, idle)] == ["a", "b", "c"]
        cache.set(other_idle, "d")  # the idle loop's entry goes; running loops keep theirs
        assert (cache.get(idle), cache.get(running[0]), len(cache)) == (None, "a", 3)
        assert cache.pop(other_idle) == "d"
        assert cache.pop(other_idle) is None
        cache.max_loops = 2
        cache.set(idle, "e")  # at the cap: the oldest entry goes
        assert (cache.get(running[0]), cache.get(running[1]), cache.get(idle)) == (None, "b", "e")
    finally:
        for loop, thread in zip(running, threads, strict=True):
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
        for loop in (*running, idle, other_idle):
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


def test_a_loop_per_call_never_closed_is_not_kept(emulator: Emulator) -> None:
    """``new_event_loop().run_until_complete(...)`` per request, loops never closed."""
    llm = ChatCerebras(api_key="k", base_url=emulator.base_url, model="llama3.1-8b")
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def call() -> Any:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        return await llm.ainvoke("hi")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # the unclosed loops' sockets
        for _ in range(5):
            asyncio.new_event_loop().run_until_complete(call())
        assert len(llm._async_clients) == 1
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
