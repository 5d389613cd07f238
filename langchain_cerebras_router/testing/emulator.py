"""The public :class:`Emulator`: a local Cerebras and Groq API server in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Final

from typing_extensions import Self

from langchain_cerebras_router.testing.catalog import ModelSpec, Provider, build_catalog
from langchain_cerebras_router.testing.faults import Fault
from langchain_cerebras_router.testing.handler import RequestHandler
from langchain_cerebras_router.testing.http11 import HttpServer
from langchain_cerebras_router.testing.state import (
    PROVIDERS,
    EmulatorState,
    RecordedRequest,
    Speed,
)


class _Unset:
    """Marker for "leave this setting as it is"."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):  # noqa: S104 - only used to build a client URL
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class Emulator:
    """A local emulator of the Cerebras and Groq chat APIs, for offline tests and demos.

    One asyncio HTTP/1.1 server in a daemon thread serves both APIs on one port: Cerebras paths
    under ``/v1/...`` and Groq paths under ``/openai/v1/...``, so ``base_url`` works for the
    ``cerebras-cloud-sdk`` and the ``groq`` SDK alike. Answers are deterministic (same request,
    same answer), tool calls validate against the bound tool's schema, structured output
    validates against the requested schema, and usage, ``time_info`` and rate-limit headers
    look like the real APIs'. Faults can be injected per request (the ``x-emulator-fault``
    header), for the next matching requests (:meth:`inject`) or as a per-provider sequence
    (:meth:`script`); the header wins over the inject queue, which wins over the script.

    Args:
        host: Interface to listen on.
        port: Port; 0 picks a free one.
        tokens_per_second: Pace of streamed tokens; ``None`` streams as fast as possible (the
            reported ``completion_time`` then uses the model's nominal speed).
        time_to_first_token: Seconds before the first token (non-stream: before the response).
        server_latency: Seconds before the response headers, stream or not.
        answer_tokens: Length of a plain-text answer, capped by ``max_completion_tokens``.
        api_keys: Accepted bearer keys; ``None`` accepts any non-empty key.
        models: Extra :class:`ModelSpec` entries (they override defaults with the same id).
        clock: Monotonic clock for the rate-limit windows (inject one in tests).
        max_recorded_requests: Size of the request log (oldest entries are dropped).

    Example:
        ```python
        from cerebras.cloud.sdk import Cerebras

        from langchain_cerebras_router.testing import Emulator, Fault

        with Emulator() as emu:
            client = Cerebras(api_key="test", base_url=emu.base_url, warm_tcp_connection=False)
            reply = client.chat.completions.create(
                model="llama3.1-8b", messages=[{"role": "user", "content": "Hello"}]
            )
            print(reply.choices[0].message.content)
            emu.inject(Fault.rate_limit(retry_after=2.0), provider="cerebras")
        ```
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tokens_per_second: float | None = None,
        time_to_first_token: float = 0.0,
        server_latency: float = 0.0,
        answer_tokens: int = 24,
        api_keys: Iterable[str] | None = None,
        models: Iterable[ModelSpec] = (),
        clock: Callable[[], float] = time.monotonic,
        max_recorded_requests: int = 20_000,
    ) -> None:
        if tokens_per_second is not None and tokens_per_second <= 0:
            msg = f"tokens_per_second must be > 0 or None, got {tokens_per_second}"
            raise ValueError(msg)
        if answer_tokens < 1:
            msg = f"answer_tokens must be >= 1, got {answer_tokens}"
            raise ValueError(msg)
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._catalog = build_catalog(tuple(models))
        self._state = EmulatorState(
            Speed(tokens_per_second, time_to_first_token, server_latency),
            answer_tokens,
            clock=clock,
            max_recorded_requests=max_recorded_requests,
        )
        keys = frozenset(api_keys) if api_keys is not None else None
        self._handler = RequestHandler(self._state, self._catalog, keys)
        self._server: HttpServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._refused: socket.socket | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Self:
        """Start serving in a daemon thread; returns ``self``. Starting twice is a no-op."""
        with self._lock:
            if self._thread is not None:
                return self
            ready = threading.Event()
            errors: list[BaseException] = []
            server = HttpServer(self._handler, self.host, self._requested_port)
            thread = threading.Thread(
                target=self._run, args=(server, ready, errors), name="llm-emulator", daemon=True
            )
            thread.start()
            ready.wait()
            if errors:
                thread.join(timeout=5)
                raise errors[0]
            self._server, self._thread = server, thread
            self._refused = self._reserve_refused_port()
        return self

    def _run(self, server: HttpServer, ready: threading.Event, errors: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        try:
            self._port = loop.run_until_complete(server.start())
        except BaseException as exc:  # reported to start()'s caller
            errors.append(exc)
            ready.set()
            loop.close()
            return
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _reserve_refused_port(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in _url_host(self.host) else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.bind((_url_host(self.host).strip("[]"), 0))  # bound, never listening
        return sock

    def stop(self) -> None:
        """Stop the server, dropping open connections (stalled ones too). Idempotent."""
        with self._lock:
            loop, thread, server = self._loop, self._thread, self._server
            self._loop = self._thread = self._server = None
            if self._refused is not None:
                self._refused.close()
                self._refused = None
        if loop is None or thread is None or server is None:
            return
        if loop.is_running():
            future = asyncio.run_coroutine_threadsafe(server.close(), loop)
            with contextlib.suppress(Exception):
                future.result(timeout=5)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        self._port = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    def __repr__(self) -> str:
        where = self.base_url if self._port else "stopped"
        return f"Emulator({where})"

    # ------------------------------------------------------------------ addresses
    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._port is None:
            msg = "the emulator is not running; call start() or use it as a context manager"
            raise RuntimeError(msg)
        return self._port

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT``: the base URL for both the Cerebras and the Groq SDK."""
        return f"http://{_url_host(self.host)}:{self.port}"

    @property
    def cerebras_base_url(self) -> str:
        """Base URL for ``cerebras.cloud.sdk`` / ``CEREBRAS_BASE_URL`` (paths ``/v1/...``)."""
        return self.base_url

    @property
    def groq_base_url(self) -> str:
        """Base URL for the ``groq`` SDK / ``GROQ_API_BASE`` (paths ``/openai/v1/...``)."""
        return self.base_url

    @property
    def openai_compatible_urls(self) -> dict[str, str]:
        """Base URLs for OpenAI-compatible clients, which append ``/chat/completions``."""
        return {"cerebras": f"{self.base_url}/v1", "groq": f"{self.base_url}/openai/v1"}

    @property
    def refused_url(self) -> str:
        """A URL where nothing listens (connection refused), reserved while running."""
        if self._refused is None:
            msg = "the emulator is not running"
            raise RuntimeError(msg)
        port = self._refused.getsockname()[1]
        return f"http://{_url_host(self.host)}:{port}"

    def env(self, api_key: str = "emulator-key") -> dict[str, str]:
        """Environment variables that point both SDKs (and LangChain) at this emulator."""
        return {
            "CEREBRAS_API_KEY": api_key,
            "CEREBRAS_BASE_URL": self.cerebras_base_url,
            "GROQ_API_KEY": api_key,
            "GROQ_API_BASE": self.groq_base_url,
        }

    # ------------------------------------------------------------------ faults
    def inject(
        self,
        fault: Fault | str | None,
        *,
        provider: Provider | None = None,
        model: str | None = None,
        times: int | None = 1,
    ) -> None:
        """Apply ``fault`` to the next ``times`` chat requests that match.

        Args:
            fault: A :class:`Fault`, its string form, or ``None`` (answer normally, which
                shadows the script for those requests).
            provider: Only requests to this provider (``None``: either).
            model: Only requests for this model id (``None``: any).
            times: How many requests; ``None`` keeps it until :meth:`clear_faults`.
        """
        self._state.inject(fault, provider, model, times)

    def script(self, provider: Provider, steps: Iterable[Fault | str | None]) -> None:
        """Give ``provider`` a sequence of faults, one step per chat request (``None``: ok).

        Requests that carry an ``x-emulator-fault`` header or match an injection do not use a
        step. After the last step, requests are answered normally.
        """
        if provider not in PROVIDERS:
            msg = f"unknown provider {provider!r}; expected one of {PROVIDERS}"
            raise ValueError(msg)
        self._state.script(provider, steps)

    def clear_faults(self) -> None:
        """Drop every injection and script."""
        self._state.clear_faults()

    # ------------------------------------------------------------------ behaviour
    def set_speed(
        self,
        provider: Provider | None = None,
        *,
        tokens_per_second: float | _Unset | None = UNSET,
        time_to_first_token: float | _Unset = UNSET,
        server_latency: float | _Unset = UNSET,
    ) -> None:
        """Change the speed of one provider (``None``: both); unset arguments stay as they are."""
        changes: dict[str, float | None] = {}
        if not isinstance(tokens_per_second, _Unset):
            if tokens_per_second is not None and tokens_per_second <= 0:
                msg = f"tokens_per_second must be > 0 or None, got {tokens_per_second}"
                raise ValueError(msg)
            changes["tokens_per_second"] = tokens_per_second
        if not isinstance(time_to_first_token, _Unset):
            changes["time_to_first_token"] = max(0.0, time_to_first_token)
        if not isinstance(server_latency, _Unset):
            changes["server_latency"] = max(0.0, server_latency)
        self._state.set_speed(provider, **changes)

    def set_answer_tokens(self, answer_tokens: int) -> None:
        """Length of plain-text answers, in tokens."""
        if answer_tokens < 1:
            msg = f"answer_tokens must be >= 1, got {answer_tokens}"
            raise ValueError(msg)
        self._state.answer_tokens = answer_tokens

    def set_rate_limits(
        self,
        provider: Provider,
        *,
        requests_per_day: int | None = None,
        tokens_per_minute: int | None = None,
    ) -> None:
        """Set a provider's quotas and start fresh windows; exhausted quotas answer 429."""
        self._state.limiters[provider].configure(requests_per_day, tokens_per_minute)

    def reset(self) -> None:
        """Back to the constructor's settings: no faults, empty log, default speeds and limits."""
        self._state.reset()

    # ------------------------------------------------------------------ log
    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far (credentials redacted)."""
        return self._state.requests()

    def request_count(
        self, provider: Provider | None = None, path_suffix: str = "/chat/completions"
    ) -> int:
        """How many logged requests match ``provider`` and end with ``path_suffix``."""
        return sum(
            1
            for request in self._state.requests()
            if (provider is None or request.provider == provider)
            and request.path.rstrip("/").endswith(path_suffix)
        )

    def models(self, provider: Provider) -> list[ModelSpec]:
        """The models served for ``provider``."""
        return list(self._catalog[provider].values())
