"""A minimal HTTP/1.1 server over asyncio streams, just enough for the emulator.

It supports keep-alive, ``Content-Length`` and chunked request bodies, ``Content-Length``
responses, chunked streaming responses, and the two ways a real server fails on the wire: a
reset (RST, via ``SO_LINGER`` 0) and a plain close in the middle of a body. No third-party
dependency; one task per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Final

logger = logging.getLogger(__name__)

MAX_HEADER_BYTES: Final = 256 * 1024
MAX_BODY_BYTES: Final = 64 * 1024 * 1024
_LINGER_RESET: Final = struct.pack("ii", 1, 0)


class HttpProtocolError(Exception):
    """The client sent something that is not HTTP/1.1 we can serve."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class HttpRequest:
    """One parsed request."""

    method: str
    target: str
    path: str
    query: str
    version: str
    headers: dict[str, str]
    body: bytes = b""
    keep_alive: bool = True
    peer: str = field(default="")

    def header(self, name: str, default: str | None = None) -> str | None:
        """Header value by case-insensitive name."""
        return self.headers.get(name.lower(), default)


def reason_phrase(status: int) -> str:
    """Standard reason phrase, with the non-standard 498 named like Groq's."""
    if status == 498:
        return "Capacity Exceeded"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


async def read_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    """Read one request; ``None`` on a clean end of connection between requests.

    Raises:
        HttpProtocolError: The request is malformed or too large.
        ConnectionError: The peer went away in the middle of a request.
    """
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise ConnectionResetError("connection closed mid-request") from exc
    except asyncio.LimitOverrunError as exc:
        raise HttpProtocolError(431, "request header too large") from exc
    text = head.decode("latin-1").lstrip("\r\n")
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpProtocolError(400, "malformed request line")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HttpProtocolError(400, "malformed header line")
        key = name.lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    path, _, query = target.partition("?")
    connection = headers.get("connection", "").lower()
    keep_alive = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
    body = await _read_body(reader, headers)
    return HttpRequest(method, target, path, query, version, headers, body, keep_alive)


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return await _read_chunked(reader)
    length_text = headers.get("content-length")
    if not length_text:
        return b""
    try:
        length = int(length_text)
    except ValueError:
        raise HttpProtocolError(400, "invalid content-length") from None
    if length < 0:
        raise HttpProtocolError(400, "invalid content-length")
    if length > MAX_BODY_BYTES:
        raise HttpProtocolError(413, "request body too large")
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError as exc:
        raise ConnectionResetError("connection closed mid-body") from exc


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    total = 0
    try:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise HttpProtocolError(400, "invalid chunk size") from None
            if size == 0:
                # Trailers (ignored) end with an empty line.
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                return b"".join(parts)
            total += size
            if total > MAX_BODY_BYTES:
                raise HttpProtocolError(413, "request body too large")
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
    except asyncio.IncompleteReadError as exc:
        raise ConnectionResetError("connection closed mid-body") from exc
    except asyncio.LimitOverrunError as exc:
        raise HttpProtocolError(400, "invalid chunked body") from exc


class HttpResponder:
    """Writes the response to one request, or breaks the connection on purpose."""

    __slots__ = ("_writer", "chunked", "close_after", "finished", "headers_sent")

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self.headers_sent = False
        self.chunked = False
        self.finished = False
        self.close_after = False

    @staticmethod
    def _head(status: int, headers: list[tuple[str, str]]) -> bytes:
        lines = [f"HTTP/1.1 {status} {reason_phrase(status)}"]
        lines.extend(f"{name}: {value}" for name, value in headers)
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def send(
        self, status: int, headers: list[tuple[str, str]], body: bytes, *, close: bool = False
    ) -> None:
        """Send a complete response with ``Content-Length``."""
        all_headers = [*headers, ("content-length", str(len(body)))]
        if close:
            all_headers.append(("connection", "close"))
            self.close_after = True
        self._writer.write(self._head(status, all_headers) + body)
        self.headers_sent = True
        self.finished = True
        await self._writer.drain()

    async def send_partial(
        self, status: int, headers: list[tuple[str, str]], body: bytes, sent: int
    ) -> None:
        """Announce ``len(body)`` bytes but send only the first ``sent`` of them."""
        all_headers = [*headers, ("content-length", str(len(body)))]
        self._writer.write(self._head(status, all_headers) + body[:sent])
        self.headers_sent = True
        await self.flush()

    def start_stream(self, status: int, headers: list[tuple[str, str]]) -> None:
        """Send the status line and headers of a chunked response."""
        all_headers = [*headers, ("transfer-encoding", "chunked")]
        self._writer.write(self._head(status, all_headers))
        self.headers_sent = True
        self.chunked = True

    def write(self, data: bytes) -> None:
        """Queue one piece of a chunked body (may hold several SSE events)."""
        if data:
            self._writer.write(b"%x\r\n%b\r\n" % (len(data), data))

    async def drain(self) -> None:
        """Wait until the transport buffer is below its high-water mark."""
        await self._writer.drain()

    async def flush(self) -> None:
        """Wait until every queued byte has been handed to the kernel."""
        transport = self._writer.transport
        transport.set_write_buffer_limits(high=0)
        try:
            await self._writer.drain()
        finally:
            transport.set_write_buffer_limits()

    async def end_stream(self) -> None:
        """Terminate the chunked body cleanly."""
        self._writer.write(b"0\r\n\r\n")
        self.finished = True
        await self._writer.drain()

    def reset(self) -> None:
        """Abort the connection with a TCP reset (queued, unsent bytes are dropped)."""
        self.close_after = True
        self.finished = True
        sock = self._writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        self._writer.transport.abort()

    def close(self) -> None:
        """Close the connection (FIN) after the queued bytes, mid-body or not."""
        self.close_after = True
        self.finished = True
        self._writer.close()


Handler = Callable[[HttpRequest, HttpResponder], Awaitable[None]]


class HttpServer:
    r"""Serves ``handler`` on one asyncio loop; one task per connection, keep-alive.

    Example:
        ```python
        import asyncio

        from langchain_cerebras_router.testing.http11 import HttpServer


        async def hello(request, responder):
            await responder.send(200, [("content-type", "text/plain")], b"hi")


        async def main():
            server = HttpServer(hello, "127.0.0.1", 0)
            port = await server.start()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            print(await reader.readuntil(b"hi"))
            writer.close()
            await server.close()


        asyncio.run(main())
        ```
    """

    def __init__(self, handler: Handler, host: str, port: int, *, backlog: int = 4096) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self._backlog = backlog
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    async def start(self) -> int:
        """Bind and listen; returns the port (useful with port 0)."""
        self._server = await asyncio.start_server(
            self._serve_connection,
            self._host,
            self._port,
            backlog=self._backlog,
            limit=MAX_HEADER_BYTES,
            reuse_address=True,
        )
        sockname = self._server.sockets[0].getsockname()
        return int(sockname[1])

    @property
    def connection_count(self) -> int:
        """Open client connections."""
        return len(self._connections)

    async def close(self) -> None:
        """Stop listening, abort every connection and wait for their tasks to end."""
        if self._server is not None:
            self._server.close()
        tasks = list(self._connections)
        for task, writer in list(self._connections.items()):
            writer.transport.abort()
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        self._connections.clear()

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        peer = writer.get_extra_info("peername")
        try:
            await self._serve_requests(reader, writer, f"{peer[0]}:{peer[1]}" if peer else "")
        except (ConnectionError, asyncio.CancelledError):
            pass
        except Exception:
            logger.exception("emulator connection failed")
        finally:
            self._connections.pop(task, None)
            if not writer.transport.is_closing():
                writer.close()

    async def _serve_requests(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str
    ) -> None:
        while not writer.transport.is_closing():
            try:
                request = await read_request(reader)
            except HttpProtocolError as exc:
                body = f'{{"detail": "{exc}"}}'.encode()
                await HttpResponder(writer).send(
                    exc.status, [("content-type", "application/json")], body, close=True
                )
                return
            if request is None:
                return
            request.peer = peer
            responder = HttpResponder(writer)
            try:
                await self._handler(request, responder)
            except (ConnectionError, asyncio.CancelledError):
                raise
            except Exception:
                logger.exception("emulator handler failed for %s %s", request.method, request.path)
                if not responder.headers_sent:
                    body = b'{"detail": "emulator internal error"}'
                    await responder.send(
                        500, [("content-type", "application/json")], body, close=True
                    )
                else:
                    responder.reset()
                return
            if responder.close_after or not request.keep_alive:
                if not writer.transport.is_closing():
                    writer.close()
                return
