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
  transport each loop gets its own pool, dropped with the loop.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import weakref
from typing import Any

import httpx

__all__ = ["PerLoopAsyncTransport", "shared_ssl_context"]


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """The TLS context every client built by this package uses (created on first use)."""
    return httpx.create_ssl_context()


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
        self._pools: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, httpx.AsyncHTTPTransport
        ] = weakref.WeakKeyDictionary()

    def _pool(self) -> httpx.AsyncHTTPTransport:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = httpx.AsyncHTTPTransport(**self._kwargs)
            self._pools[loop] = pool
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the running loop's own pool."""
        return await self._pool().handle_async_request(request)

    async def aclose(self) -> None:
        """Close the running loop's pool (pools of finished loops go with their loop)."""
        loop = asyncio.get_running_loop()
        pool = self._pools.pop(loop, None)
        if pool is not None:
            await pool.aclose()
