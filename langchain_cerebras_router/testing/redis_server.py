"""A throwaway ``redis-server`` on a free loopback port, for tests, benchmarks and fleet demos.

Nothing is persisted (``--save '' --appendonly no``) and only 127.0.0.1 is bound. The server
can be stopped (``SIGKILL``, as a crash would) and started again on the same port, to test
what a shared `RedisHealthStore` does when Redis goes away and comes back. Only the standard
library is used; the ``redis-server`` binary comes from the OS (``apt-get install
redis-server``, ``brew install redis``).

Example:
    ```python
    from langchain_cerebras_router.testing.redis_server import RedisServer

    if RedisServer.available():
        with RedisServer() as server:
            print(server.url)  # redis://127.0.0.1:<port>/0
    ```
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from types import TracebackType

__all__ = ["RedisServer"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pings(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A local ``redis-server`` process owned by the caller.

    Args:
        port: Port to listen on (default: a free one, kept across `stop`/`start`).
        binary: Path of ``redis-server`` (default: found on ``PATH``).
        startup_timeout: Seconds to wait for the server to answer ``PING``.
    """

    def __init__(
        self, port: int | None = None, *, binary: str | None = None, startup_timeout: float = 10.0
    ) -> None:
        found = binary or shutil.which("redis-server")
        if found is None:
            msg = "redis-server not found on PATH (apt-get install redis-server)"
            raise FileNotFoundError(msg)
        self.binary = found
        self.port = port if port is not None else _free_port()
        self._port_is_free_pick = port is None
        self._started_once = False
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir = tempfile.TemporaryDirectory(prefix="lcr-redis-")
        self._logfile = os.path.join(self._workdir.name, "redis.log")

    @staticmethod
    def available() -> bool:
        """Whether a ``redis-server`` binary is on ``PATH``."""
        return shutil.which("redis-server") is not None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> RedisServer:
        """Start the server and wait until it answers ``PING``.

        When the port was picked automatically and another process takes it first, a new
        free port is tried (before the first successful start only: a restart keeps its
        port, so that clients reconnect to the same URL).
        """
        if self.running:
            return self
        attempts = 5 if self._port_is_free_pick and not self._started_once else 1
        for attempt in range(attempts):
            try:
                self._launch()
            except RuntimeError:
                if attempt == attempts - 1:
                    raise
                self.port = _free_port()
            else:
                self._started_once = True
                return self
        return self  # pragma: no cover - the loop returns or raises

    def _launch(self) -> None:
        command = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--loglevel",
            "warning",
            "--logfile",
            self._logfile,
        ]
        process = subprocess.Popen(  # noqa: S603 - fixed arguments, local binary
            command,
            cwd=self._workdir.name,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._process = process
        deadline = time.monotonic() + self.startup_timeout
        while not _pings(self.port):
            if process.poll() is not None:
                self.stop()
                error = self._log_tail()
                msg = f"redis-server exited on start (port {self.port}): {error.strip()}"
                raise RuntimeError(msg)
            if time.monotonic() > deadline:
                self.stop()
                msg = f"redis-server did not answer on port {self.port} in {self.startup_timeout} s"
                raise TimeoutError(msg)
            time.sleep(0.005)

    def _log_tail(self) -> str:
        try:
            with open(self._logfile, encoding="utf-8", errors="replace") as log:
                return " | ".join(line.strip() for line in log.readlines()[-3:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Kill the server (``SIGKILL``: no shutdown, like a crash) and reap it."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait()

    def close(self) -> None:
        """Stop the server and remove its working directory."""
        self.stop()
        self._workdir.cleanup()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
