"""Parsing of the rate-limit and ``retry-after`` headers of Cerebras, Groq and OpenAI.

* Cerebras: ``x-ratelimit-{limit,remaining,reset}-requests-day`` and ``-tokens-minute``,
  resets in seconds (``"33011.38"``).
* Groq and OpenAI: ``x-ratelimit-{limit,remaining,reset}-requests`` and ``-tokens``, resets
  as durations (``"2m59.56s"``, ``"7.66s"``, ``"250ms"``).
* ``retry-after-ms``, then ``retry-after`` (seconds or HTTP date), clamped to 0..60 s as the
  Stainless SDKs do.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "MAX_RETRY_AFTER_SECONDS",
    "RateLimitSampler",
    "RateLimitSnapshot",
    "parse_duration",
    "parse_rate_limit_headers",
    "parse_retry_after",
]

MAX_RETRY_AFTER_SECONDS = 60.0
"""Upper bound applied to ``retry-after`` values, as the Stainless SDKs do."""


@dataclass(frozen=True)
class RateLimitSnapshot:
    """The rate-limit budget a provider reported in one response's headers.

    Example:
        .. code-block:: python

            snap = parse_rate_limit_headers({"x-ratelimit-remaining-requests": "0"})
            assert snap is not None and snap.remaining_requests == 0
    """

    remaining_requests: int | None = None
    limit_requests: int | None = None
    reset_requests_s: float | None = None
    remaining_tokens: int | None = None
    limit_tokens: int | None = None
    reset_tokens_s: float | None = None
    observed_at: float = 0.0


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|us|µs|ns|h|m|s|d)")
_DURATION_UNITS = {
    "d": 86400.0,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "µs": 1e-6,
    "ns": 1e-9,
}


def parse_duration(value: str) -> float | None:
    """Parse a reset duration: plain seconds (``"33011.4"``) or Go-style (``"2m59.56s"``).

    Args:
        value: ``"7.66s"``, ``"1h2m3s"``, ``"250ms"``, ``"12"``, ...

    Returns:
        Seconds, or ``None`` when the value is not a non-negative duration.

    Example:
        .. code-block:: python

            assert parse_duration("2m59.56s") == 179.56
    """
    text = value.strip().lower()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pos, total = 0, 0.0
        for match in _DURATION_PART.finditer(text):
            if match.start() != pos:
                return None
            total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
            pos = match.end()
        if pos != len(text) or pos == 0:
            return None
        return round(total, 9)
    return seconds if 0.0 <= seconds < float("inf") else None


#: Window suffixes after the unit (``requests``, ``requests-minute``, ...), in the order
#: in which windows are compared (the first reported one wins ties).
_WINDOWS = ("", "-minute", "-hour", "-day")
_UNITS = ("requests", "tokens")

#: Every rate-limit header name -> (unit, window, slot); slot 0/1/2 = remaining/limit/reset.
_HEADER_SLOTS: dict[str, tuple[str, int, int]] = {
    f"x-ratelimit-{field_name}-{unit}{suffix}": (unit, window, slot)
    for slot, field_name in enumerate(("remaining", "limit", "reset"))
    for unit in _UNITS
    for window, suffix in enumerate(_WINDOWS)
}

_RawWindows = dict[tuple[str, int], list[str | None]]


def _raw_windows(headers: Mapping[str, str]) -> _RawWindows:
    """``(unit, window) -> [remaining, limit, reset]`` raw values, in one pass over the headers."""
    windows: _RawWindows = {}
    for key, value in headers.items():
        spec = _HEADER_SLOTS.get(key)
        if spec is None:
            spec = _HEADER_SLOTS.get(str(key).lower())
            if spec is None:
                continue
        unit, window, slot = spec
        raw = windows.get((unit, window))
        if raw is None:
            raw = windows[unit, window] = [None, None, None]
        raw[slot] = str(value)
    return windows


def _count(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        return max(int(float(raw)), 0)
    except (TypeError, ValueError, OverflowError):
        return None


_NO_WINDOW: tuple[None, None, None] = (None, None, None)


def _binding_window(windows: _RawWindows, unit: str) -> tuple[int | None, int | None, float | None]:
    """``(remaining, limit, reset)`` of the window with the fewest remaining units."""
    best: tuple[int | None, int | None, float | None] | None = None
    for window in range(len(_WINDOWS)):
        raw = windows.get((unit, window))
        if raw is None:
            continue
        remaining, limit = _count(raw[0]), _count(raw[1])
        if remaining is None and limit is None:
            continue
        if best is None or (remaining is not None and (best[0] is None or remaining < best[0])):
            best = (remaining, limit, parse_duration(raw[2]) if raw[2] is not None else None)
    return _NO_WINDOW if best is None else best


def parse_rate_limit_headers(
    headers: Mapping[str, str], *, now: float | None = None
) -> RateLimitSnapshot | None:
    """Read Cerebras (``*-requests-day``, ``*-tokens-minute``) or Groq/OpenAI rate-limit headers.

    Names are matched case-insensitively. When several windows are reported for one unit
    (e.g. per minute and per day), the one with the fewest remaining units is kept.

    Args:
        headers: Response headers.
        now: ``observed_at`` for the snapshot; defaults to ``time.monotonic()``.

    Returns:
        The snapshot, or ``None`` when no rate-limit header is present.

    Example:
        .. code-block:: python

            snap = parse_rate_limit_headers(
                {"x-ratelimit-remaining-tokens": "5800", "x-ratelimit-reset-tokens": "7.66s"}
            )
            assert snap is not None and snap.reset_tokens_s == 7.66
    """
    windows = _raw_windows(headers)
    if not windows:
        return None
    req = _binding_window(windows, "requests")
    tok = _binding_window(windows, "tokens")
    if req is _NO_WINDOW and tok is _NO_WINDOW:
        return None
    return RateLimitSnapshot(
        remaining_requests=req[0],
        limit_requests=req[1],
        reset_requests_s=req[2],
        remaining_tokens=tok[0],
        limit_tokens=tok[1],
        reset_tokens_s=tok[2],
        observed_at=time.monotonic() if now is None else now,
    )


_Observation = tuple[float, float | None, float | None]
"""(observed at, requests margin, tokens margin); see RateLimitSampler."""


class RateLimitSampler:
    """Decides which successful answers' rate-limit headers a router parses, per route.

    Every answer carries ``x-ratelimit-*`` headers, but parsing and applying them on every
    call is most of a routed call's bookkeeping. Between two observations the health
    store counts the requests (and estimated tokens) it admits against the last budget
    itself, so an answer's headers are parsed when they can matter:

    * the route has no observation yet;
    * ``interval`` seconds have passed since the last one (other clients sharing the API
      key spend the budget too);
    * the last observation had ``headroom`` (a fraction of the limit) or less left of
      either budget, or reported no limit to compare with;
    * the requests and tokens this router has spent on the route since the last
      observation (counted from each answer's usage) could have brought either budget
      down to ``headroom``: a burst of fast calls is never steered by stale headers.

    Failed answers (429 and the like) are always parsed, by the caller.

    Args:
        interval: Seconds after which a route's headers are parsed again.
        headroom: Fraction of a limit below which every answer is parsed.

    Example:
        .. code-block:: python

            sampler = RateLimitSampler(interval=0.05)
            assert sampler.due("cerebras", now=10.0)
            far = RateLimitSnapshot(remaining_tokens=900, limit_tokens=1000)
            sampler.observed("cerebras", far, now=10.0)
            assert not sampler.due("cerebras", now=10.01, tokens=500)
            assert sampler.due("cerebras", now=10.02, tokens=300)  # 100 left: the headroom
            assert sampler.due("cerebras", now=10.06)
    """

    def __init__(self, interval: float = 0.05, headroom: float = 0.1) -> None:
        self.interval = interval
        self.headroom = headroom
        #: route -> the last observation's time and how many requests and tokens may
        #: still be spent before either budget reaches the headroom (``None``: unknown;
        #: 0 or less: near a limit, parse every answer). One dict assignment per answer,
        #: so concurrent calls need no lock; a lost update delays a parse by one answer.
        self._last: dict[str, _Observation] = {}

    def due(self, route: str, now: float, tokens: int = 0) -> bool:
        """Whether to parse the headers of ``route``'s answer received at ``now``.

        Args:
            route: The route's name.
            now: Monotonic time of the answer.
            tokens: The answer's total tokens (prompt and completion), if known.
        """
        last = self._last.get(route)
        if last is None:
            return True
        observed_at, requests_margin, tokens_margin = last
        if now - observed_at >= self.interval:
            return True
        if requests_margin is not None:
            requests_margin -= 1
        if tokens_margin is not None:
            tokens_margin -= tokens
        self._last[route] = (observed_at, requests_margin, tokens_margin)
        return (requests_margin is not None and requests_margin <= 0) or (
            tokens_margin is not None and tokens_margin <= 0
        )

    def observed(self, route: str, snapshot: RateLimitSnapshot | None, now: float) -> None:
        """Record that ``route``'s headers were parsed at ``now`` (``None``: there were none)."""
        if snapshot is None:
            self._last[route] = (now, None, None)
            return
        self._last[route] = (
            now,
            self._margin(snapshot.remaining_requests, snapshot.limit_requests),
            self._margin(snapshot.remaining_tokens, snapshot.limit_tokens),
        )

    def _margin(self, remaining: int | None, limit: int | None) -> float | None:
        """What may be spent before ``headroom``; 0 if ``remaining`` has no limit to go by."""
        if remaining is None:
            return None
        if limit is None:
            return 0.0
        return remaining - self.headroom * limit


def parse_retry_after(
    headers: Mapping[str, str] | None, *, now: float | None = None
) -> float | None:
    """Seconds to wait, from ``retry-after-ms``, else ``retry-after`` (seconds or HTTP date).

    The result is clamped to 0..60 s. Header names are matched case-insensitively.

    Args:
        headers: Response headers (``httpx.Headers`` or any mapping).
        now: Wall-clock time (``time.time()``) used for HTTP dates; defaults to now.

    Returns:
        The delay in seconds, or ``None`` when no usable header is present.

    Example:
        .. code-block:: python

            assert parse_retry_after({"Retry-After-Ms": "1500"}) == 1.5
    """
    if not headers:
        return None
    lowered = {str(k).lower(): v for k, v in headers.items()}
    seconds: float | None = None
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms is not None:
        seconds = _to_float(raw_ms)
        if seconds is not None:
            seconds /= 1000.0
    if seconds is None:
        raw = lowered.get("retry-after")
        if raw is None:
            return None
        seconds = _to_float(raw)
        if seconds is None:
            parsed = email.utils.parsedate_tz(raw)
            if parsed is None:
                return None
            current = time.time() if now is None else now
            seconds = float(email.utils.mktime_tz(parsed)) - current
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def _to_float(value: str) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if result == result and result not in (float("inf"), float("-inf")) else None
