"""HTTP plumbing for the clients this package builds.

* :func:`shared_ssl_context` — building an ``httpx`` client loads the CA bundle into a
  fresh ``ssl.SSLContext`` (~15 ms each). A router builds several clients (sync and
  async, per route, per event loop), so they share one context, created once and
  honouring ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` exactly as ``httpx`` does.
* :class:`PerLoopAsyncTransport` — an ``httpx`` async transport that keeps one
  connection pool per event loop. An ``httpx.AsyncClient`` built once (as ChatGroq
  builds its client at construction) breaks when used from a second event loop after
  the first has closed (``asyncio.run`` twice, per-test loops, sync code calling
  ``asyncio.run`` per request): pooled connections belong to the dead loop. With this
  transport each loop gets its own pool, dropped once the loop has closed.
* :class:`PerLoopCache` — what both of the above keep per event loop. A pool holds its
  loop (through its connections), so a ``WeakKeyDictionary`` keyed by the loop would
  never let go of it; this cache drops the entries of closed loops instead.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import threading
from typing import Any, Generic, TypeVar

import httpx

__all__ = ["PerLoopAsyncTransport", "PerLoopCache", "shared_ssl_context"]

V = TypeVar("V")


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """The TLS context every client built by this package uses (created on first use)."""
    return httpx.create_ssl_context()


class PerLoopCache(Generic[V]):
    """One value per event loop, kept while the loop runs.

    Values bound to a loop (clients, connection pools) reference it, so keying them
    weakly by the loop would keep every finished loop, its pool and its sockets alive
    for good. Here a new entry first drops the entries of every other loop that is
    closed or no longer running: code calling ``asyncio.run`` per request, or running a
    fresh loop per request and never closing it, keeps at most the last loop's entry,
    and the garbage collector closes the others' connections. A loop run again later
    gets a new value. At most :attr:`max_loops` running loops are kept (oldest dropped).

    Example:
        .. code-block:: python

            import asyncio

            from langchain_cerebras_router.http_clients import PerLoopCache

            cache: PerLoopCache[str] = PerLoopCache()


            async def remember() -> str:
                loop = asyncio.get_running_loop()
                return cache.get(loop) or cache.set(loop, "built once for this loop")


            asyncio.run(remember())
            asyncio.run(remember())
            print(len(cache))  # 1: the first loop's entry went when the second arrived
    """

    #: Entries kept for loops running at once (threads with a loop each); the oldest goes.
    max_loops = 64

    def __init__(self) -> None:
        self._values: dict[asyncio.AbstractEventLoop, V] = {}
        self._lock = threading.Lock()

    def get(self, loop: asyncio.AbstractEventLoop) -> V | None:
        """The value stored for ``loop``, if any."""
        return self._values.get(loop)

    def set(self, loop: asyncio.AbstractEventLoop, value: V) -> V:
        """Store ``value`` for ``loop`` (dropping finished loops' entries); returns it."""
        with self._lock:
            values = self._values
            for other in [o for o in values if o is not loop and not o.is_running()]:
                del values[other]
            while len(values) >= self.max_loops and loop not in values:
                del values[next(iter(values))]
            values[loop] = value
        return value

    def pop(self, loop: asyncio.AbstractEventLoop) -> V | None:
        """Remove and return the value stored for ``loop``."""
        with self._lock:
            return self._values.pop(loop, None)

    def __len__(self) -> int:
        return len(self._values)


class PerLoopAsyncTransport(httpx.AsyncBaseTransport):
    """One ``httpx.AsyncHTTPTransport`` (connection pool) per running event loop.

    Args:
        **transport_kwargs: Passed to each ``httpx.AsyncHTTPTransport`` (``verify``,
            ``limits``, ``http2``, ...); ``verify`` defaults to the shared TLS context.

    Example:
        .. code-block:: python

            import asyncio

            import httpx

            from langchain_cerebras_router.http_clients import PerLoopAsyncTransport

            client = httpx.AsyncClient(transport=PerLoopAsyncTransport())


            async def fetch() -> None:
                try:
                    await client.get("http://127.0.0.1:9/")
                except httpx.ConnectError:
                    pass


            asyncio.run(fetch())
            asyncio.run(fetch())  # a new loop, a new pool: no "Event loop is closed"
    """

    def __init__(self, **transport_kwargs: Any) -> None:
        transport_kwargs.setdefault("verify", shared_ssl_context())
        self._kwargs = transport_kwargs
        self._pools: PerLoopCache[httpx.AsyncHTTPTransport] = PerLoopCache()

    def _pool(self) -> httpx.AsyncHTTPTransport:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools.set(loop, httpx.AsyncHTTPTransport(**self._kwargs))
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the running loop's own pool."""
        return await self._pool().handle_async_request(request)

    async def aclose(self) -> None:
        """Close the running loop's pool (pools of closed loops are dropped as they go)."""
        loop = asyncio.get_running_loop()
        pool = self._pools.pop(loop)
        if pool is not None:
            await pool.aclose()
