"""HTTP clients built by this package, sharing one TLS context.

Building an ``httpx`` client loads the CA bundle into a fresh ``ssl.SSLContext``
(~15 ms each). A router builds several clients (sync and async, per route, per event
loop), so they share one context, created once and honouring ``SSL_CERT_FILE`` /
``SSL_CERT_DIR`` exactly as ``httpx`` does.
"""

from __future__ import annotations

import functools
import ssl

import httpx

__all__ = ["shared_ssl_context"]


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """The TLS context every client built by this package uses (created on first use)."""
    return httpx.create_ssl_context()
