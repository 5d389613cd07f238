"""Per-provider request and token quotas, and the rate-limit headers that report them.

Each provider has a requests-per-day and a tokens-per-minute window. Every accepted chat request
takes one request and its prompt plus completion tokens; when either quota is exhausted the
next request gets a 429 with ``retry-after`` (the time until that window resets). The headers
follow each provider's naming: Cerebras reports resets in seconds, Groq as durations such as
``2m59.56s``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from langchain_cerebras_router.testing.catalog import Provider

DAY: Final = 86_400.0
MINUTE: Final = 60.0
DEFAULT_REQUESTS_PER_DAY: Final = 1_000_000
DEFAULT_TOKENS_PER_MINUTE: Final = 100_000_000


def go_duration(seconds: float) -> str:
    """Format like Go's ``time.Duration`` as Groq does: ``7.66s``, ``2m59.56s``, ``1h2m3s``."""
    seconds = max(0.0, seconds)
    if seconds < 1.0:
        return f"{round(seconds * 1000)}ms"
    hours, rest = divmod(seconds, 3600.0)
    minutes, secs = divmod(rest, 60.0)
    text = f"{secs:.2f}".rstrip("0").rstrip(".") + "s"
    if minutes or hours:
        text = f"{int(minutes)}m{text}"
    if hours:
        text = f"{int(hours)}h{text}"
    return text


def _seconds(value: float) -> str:
    return f"{max(0.0, value):.3f}".rstrip("0").rstrip(".") or "0"


@dataclass(frozen=True)
class QuotaState:
    """A snapshot of one provider's quotas after a request."""

    requests_limit: int
    requests_remaining: int
    requests_reset: float
    tokens_limit: int
    tokens_remaining: int
    tokens_reset: float


class RateLimiter:
    """Requests-per-day and tokens-per-minute windows with an injectable clock.

    Example:
        ```python
        from langchain_cerebras_router.testing.ratelimits import RateLimiter

        limiter = RateLimiter(requests_per_day=1, tokens_per_minute=1000, clock=lambda: 0.0)
        state, retry_after = limiter.acquire(tokens=10)
        assert retry_after is None and state.requests_remaining == 0
        assert limiter.acquire(tokens=10)[1] == 86_400.0
        ```
    """

    def __init__(
        self,
        requests_per_day: int = DEFAULT_REQUESTS_PER_DAY,
        tokens_per_minute: int = DEFAULT_TOKENS_PER_MINUTE,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Start both windows now, with full quotas."""
        self._clock = clock
        self._lock = threading.Lock()
        self._requests_limit = requests_per_day
        self._tokens_limit = tokens_per_minute
        now = clock()
        self._day_start = now
        self._minute_start = now
        self._requests_used = 0
        self._tokens_used = 0

    def configure(self, requests_per_day: int | None, tokens_per_minute: int | None) -> None:
        """Set new limits and start fresh windows."""
        with self._lock:
            if requests_per_day is not None:
                self._requests_limit = requests_per_day
            if tokens_per_minute is not None:
                self._tokens_limit = tokens_per_minute
            now = self._clock()
            self._day_start = self._minute_start = now
            self._requests_used = self._tokens_used = 0

    def _roll(self, now: float) -> None:
        if now - self._day_start >= DAY:
            self._day_start, self._requests_used = now, 0
        if now - self._minute_start >= MINUTE:
            self._minute_start, self._tokens_used = now, 0

    def acquire(self, tokens: int) -> tuple[QuotaState, float | None]:
        """Take one request and ``tokens``; returns the state and, if refused, ``retry-after``."""
        with self._lock:
            now = self._clock()
            self._roll(now)
            retry_after: float | None = None
            if self._requests_used >= self._requests_limit:
                retry_after = DAY - (now - self._day_start)
            elif self._tokens_used >= self._tokens_limit:
                retry_after = MINUTE - (now - self._minute_start)
            else:
                self._requests_used += 1
                self._tokens_used += max(0, tokens)
            return self._state(now), retry_after

    def state(self) -> QuotaState:
        """The current quotas without taking anything."""
        with self._lock:
            now = self._clock()
            self._roll(now)
            return self._state(now)

    def _state(self, now: float) -> QuotaState:
        return QuotaState(
            requests_limit=self._requests_limit,
            requests_remaining=max(0, self._requests_limit - self._requests_used),
            requests_reset=DAY - (now - self._day_start),
            tokens_limit=self._tokens_limit,
            tokens_remaining=max(0, self._tokens_limit - self._tokens_used),
            tokens_reset=MINUTE - (now - self._minute_start),
        )


def rate_limit_headers(provider: Provider, state: QuotaState) -> list[tuple[str, str]]:
    """The ``x-ratelimit-*`` headers of ``provider`` for ``state``."""
    if provider == "cerebras":
        return [
            ("x-ratelimit-limit-requests-day", str(state.requests_limit)),
            ("x-ratelimit-remaining-requests-day", str(state.requests_remaining)),
            ("x-ratelimit-reset-requests-day", _seconds(state.requests_reset)),
            ("x-ratelimit-limit-tokens-minute", str(state.tokens_limit)),
            ("x-ratelimit-remaining-tokens-minute", str(state.tokens_remaining)),
            ("x-ratelimit-reset-tokens-minute", _seconds(state.tokens_reset)),
        ]
    return [
        ("x-ratelimit-limit-requests", str(state.requests_limit)),
        ("x-ratelimit-remaining-requests", str(state.requests_remaining)),
        ("x-ratelimit-reset-requests", go_duration(state.requests_reset)),
        ("x-ratelimit-limit-tokens", str(state.tokens_limit)),
        ("x-ratelimit-remaining-tokens", str(state.tokens_remaining)),
        ("x-ratelimit-reset-tokens", go_duration(state.tokens_reset)),
    ]


def retry_after_value(seconds: float) -> str:
    """``retry-after`` as integer seconds when whole (``"2"``), else a decimal (``"0.5"``)."""
    if seconds >= 10 or float(seconds).is_integer():
        return str(math.ceil(seconds))
    return f"{seconds:.3f}".rstrip("0").rstrip(".")
