"""Thread-safe configuration and request log shared by the public API and the server thread."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from langchain_cerebras_router.testing.answers import Answer, PrefixCache
from langchain_cerebras_router.testing.catalog import Provider
from langchain_cerebras_router.testing.faults import Fault, coerce_fault
from langchain_cerebras_router.testing.ratelimits import RateLimiter

PROVIDERS: tuple[Provider, ...] = ("cerebras", "groq")
_REDACTED_HEADERS = ("authorization", "x-api-key", "api-key", "cookie", "proxy-authorization")


@dataclass(frozen=True)
class RecordedRequest:
    """One request the emulator received, as the log keeps it.

    Attributes:
        provider: ``"cerebras"`` or ``"groq"`` (by path), or ``None`` for an unknown path.
        method: HTTP method.
        path: Path without the query string.
        headers: Lower-case header names; credentials are redacted.
        body: The parsed JSON body, or ``None`` (no body or not JSON).
        fault: The fault applied (its string form), or ``None``.
        status: The HTTP status sent, or ``None`` when the connection was dropped first.
        model: The requested model id, if any.
        time: ``time.time()`` when the request was answered.

    Example:
        ```python
        import httpx

        from langchain_cerebras_router.testing import Emulator

        with Emulator() as emu:
            httpx.get(f"{emu.base_url}/v1/models", headers={"Authorization": "Bearer k"})
            [record] = emu.requests
            assert (record.provider, record.path, record.status) == ("cerebras", "/v1/models", 200)
            assert record.headers["authorization"] == "Bearer <redacted>"
        ```
    """

    provider: Provider | None
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    fault: str | None
    status: int | None
    model: str | None = None
    time: float = field(default=0.0, compare=False)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with credentials replaced (the scheme of ``Authorization`` is kept)."""
    redacted: dict[str, str] = {}
    for name, value in headers.items():
        if name in _REDACTED_HEADERS:
            scheme, sep, _ = value.partition(" ")
            keep_scheme = sep and name.endswith("authorization")
            redacted[name] = f"{scheme} <redacted>" if keep_scheme else "<redacted>"
        else:
            redacted[name] = value
    return redacted


@dataclass(frozen=True)
class Speed:
    """How fast one provider answers."""

    tokens_per_second: float | None = None
    time_to_first_token: float = 0.0
    server_latency: float = 0.0


@dataclass
class _Injection:
    fault: Fault | None
    provider: Provider | None
    model: str | None
    remaining: int | None


class EmulatorState:
    """Everything the server reads per request and the public API changes at run time.

    Internal to :class:`~langchain_cerebras_router.testing.Emulator`, which wraps it.
    """

    def __init__(
        self,
        speed: Speed,
        answer_tokens: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_recorded_requests: int = 20_000,
    ) -> None:
        """Keep the constructor defaults so :meth:`reset` can restore them."""
        self._lock = threading.Lock()
        self._default_speed = speed
        self._default_answer_tokens = answer_tokens
        self._clock = clock
        self._speeds: dict[Provider, Speed] = dict.fromkeys(PROVIDERS, speed)
        self.answer_tokens = answer_tokens
        self._injections: list[_Injection] = []
        self._scripts: dict[Provider, deque[Fault | None]] = {p: deque() for p in PROVIDERS}
        self.limiters: dict[Provider, RateLimiter] = {
            p: RateLimiter(clock=clock) for p in PROVIDERS
        }
        self._log: deque[RecordedRequest] = deque(maxlen=max_recorded_requests)
        self.prefix_cache = PrefixCache()
        self._answers: OrderedDict[str, Answer] = OrderedDict()

    # ------------------------------------------------------------------ speeds
    def speed(self, provider: Provider) -> Speed:
        """The speed settings of ``provider``."""
        with self._lock:
            return self._speeds[provider]

    def set_speed(self, provider: Provider | None, **changes: Any) -> None:
        """Change some speed settings of one provider (``None``: both)."""
        with self._lock:
            for name in (provider,) if provider else PROVIDERS:
                self._speeds[name] = replace(self._speeds[name], **changes)

    # ------------------------------------------------------------------ faults
    def inject(
        self,
        fault: Fault | str | None,
        provider: Provider | None,
        model: str | None,
        times: int | None,
    ) -> None:
        """Queue ``fault`` for the next ``times`` matching requests (``None``: until cleared)."""
        if times is not None and times < 1:
            msg = f"times must be >= 1 or None, got {times}"
            raise ValueError(msg)
        with self._lock:
            self._injections.append(_Injection(coerce_fault(fault), provider, model, times))

    def script(self, provider: Provider, steps: Iterable[Fault | str | None]) -> None:
        """Replace ``provider``'s script: one step per chat request, in order."""
        parsed = deque(coerce_fault(step) for step in steps)
        with self._lock:
            self._scripts[provider] = parsed

    def script_remaining(self, provider: Provider) -> int:
        """Steps of ``provider``'s script not used yet."""
        with self._lock:
            return len(self._scripts[provider])

    def next_fault(self, provider: Provider, model: str | None) -> Fault | None:
        """The fault for a chat request without a fault header: inject queue, then script."""
        with self._lock:
            for injection in self._injections:
                if injection.provider not in (None, provider):
                    continue
                if injection.model not in (None, model):
                    continue
                if injection.remaining is not None:
                    injection.remaining -= 1
                    if injection.remaining <= 0:
                        self._injections.remove(injection)
                return injection.fault
            script = self._scripts[provider]
            return script.popleft() if script else None

    def clear_faults(self) -> None:
        """Drop queued injections and scripts."""
        with self._lock:
            self._injections.clear()
            for script in self._scripts.values():
                script.clear()

    # ------------------------------------------------------------------ log
    def record(self, request: RecordedRequest) -> None:
        """Append to the request log."""
        with self._lock:
            self._log.append(request)

    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the request log."""
        with self._lock:
            return list(self._log)

    # ------------------------------------------------------------------ answers
    def cached_answer(self, key: str, build: Callable[[], Answer]) -> Answer:
        """The answer for ``key``, built once and kept in a small LRU cache."""
        with self._lock:
            answer = self._answers.get(key)
            if answer is not None:
                self._answers.move_to_end(key)
                return answer
        answer = build()
        with self._lock:
            self._answers[key] = answer
            if len(self._answers) > 2048:
                self._answers.popitem(last=False)
        return answer

    # ------------------------------------------------------------------ reset
    def reset(self) -> None:
        """Constructor defaults for speeds, answer length and limits; no faults, empty log."""
        with self._lock:
            self._speeds = dict.fromkeys(PROVIDERS, self._default_speed)
            self.answer_tokens = self._default_answer_tokens
            self._injections.clear()
            for script in self._scripts.values():
                script.clear()
            self._log.clear()
            self.limiters = {p: RateLimiter(clock=self._clock) for p in PROVIDERS}
        self.prefix_cache.clear()
