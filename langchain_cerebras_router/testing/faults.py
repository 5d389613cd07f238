"""Fault specifications for the emulator.

A :class:`Fault` says how the emulator should misbehave on one request. Faults are built with
named constructors (``Fault.rate_limit(retry_after=2.0)``) or parsed from the compact string form
used by the ``x-emulator-fault`` request header and the command line (``"rate_limit:2.0"``).
``Fault.parse(str(fault)) == fault`` holds for every fault.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal, get_args

FaultKind = Literal[
    "rate_limit",
    "status",
    "capacity_exceeded",
    "reset",
    "reset_after",
    "stall",
    "slow_first_token",
    "malformed_json",
    "malformed_sse",
    "stream_error",
    "invalid_tool_arguments",
    "unauthorized",
]

FAULT_KINDS: Final[tuple[str, ...]] = get_args(FaultKind)

#: Faults answered with an HTTP error (or a dropped connection) before any response byte.
PRE_RESPONSE_KINDS: Final[frozenset[str]] = frozenset(
    {"rate_limit", "status", "capacity_exceeded", "reset", "unauthorized"}
)


def _format_number(value: float) -> str:
    """Format a float compactly but losslessly (``2.0`` -> ``"2.0"``, ``0.25`` -> ``"0.25"``)."""
    return repr(float(value))


def _parse_float(text: str | float, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        msg = f"invalid {what} {text!r}: expected a number"
        raise ValueError(msg) from None
    if not math.isfinite(value) or value < 0:
        msg = f"invalid {what} {text!r}: expected a finite number >= 0"
        raise ValueError(msg)
    return value


def _parse_int(text: str | int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        msg = f"invalid {what} {text!r}: expected an integer"
        raise ValueError(msg) from None
    if value < 0:
        msg = f"invalid {what} {text!r}: expected an integer >= 0"
        raise ValueError(msg)
    return value


@dataclass(frozen=True)
class Fault:
    """How the emulator misbehaves on one request.

    Build faults with the named constructors; the fields are the parameters of the kind and are
    ``None`` when the kind does not use them.

    * ``rate_limit(retry_after)``: 429 with a ``retry-after`` header (none for
      ``rate_limit:none``) and the provider's body.
    * ``status(code)``: any 4xx/5xx status with the provider's error body.
    * ``capacity_exceeded()``: 498, Groq's flex-tier ``capacity_exceeded``.
    * ``reset()``: the connection is reset (RST) before any response byte.
    * ``reset_after(n)``: stream: headers, role chunk and ``n`` content chunks, then a reset;
      non-stream: headers and part of the body, then a reset.
    * ``stall(after_chunks, seconds)``: stream: nothing more after ``n`` content chunks for
      ``seconds``, then the connection closes; non-stream: nothing for ``seconds`` before the
      headers, then the connection closes.
    * ``slow_first_token(seconds)``: the first token (non-stream: the response) comes late.
    * ``malformed_json(after_chunks)``: a ``data: {broken`` line after ``n`` content chunks.
    * ``malformed_sse(after_chunks)``: a data line cut mid-JSON after ``n`` chunks, then the body
      ends.
    * ``stream_error(status_code, after_chunks)``: an in-stream error event after ``n`` chunks.
    * ``invalid_tool_arguments()``: tool-call ``arguments`` that are not valid JSON.
    * ``unauthorized()``: 401 with the provider's wrong-key body.

    "Content chunks" are chunks that carry answer content or a tool call. Reasoning chunks are
    not counted, but ``after_chunks=0`` triggers right after the role chunk, before any
    reasoning.

    Example:
        ```python
        from langchain_cerebras_router.testing import Fault

        fault = Fault.stall(after_chunks=2, seconds=30)
        assert str(fault) == "stall:2:30.0"
        assert Fault.parse("stall:2:30") == fault
        ```
    """

    kind: FaultKind
    retry_after: float | None = None
    status_code: int | None = None
    after_chunks: int | None = None
    seconds: float | None = None

    # ----------------------------------------------------------------- named constructors
    @classmethod
    def rate_limit(cls, retry_after: float | None = 1.0) -> Fault:
        """429 Too Many Requests with ``retry-after: <retry_after>``.

        ``None``: no ``retry-after`` header at all, as a provider may answer.
        """
        if retry_after is None:
            return cls("rate_limit")
        return cls("rate_limit", retry_after=_parse_float(retry_after, "retry_after"))

    @classmethod
    def status(cls, code: int) -> Fault:
        """An HTTP error status (400-599) with the provider's error body."""
        if not 400 <= int(code) <= 599:
            msg = f"status code must be in 400..599, got {code}"
            raise ValueError(msg)
        return cls("status", status_code=int(code))

    @classmethod
    def capacity_exceeded(cls) -> Fault:
        """498 ``capacity_exceeded`` (Groq's flex tier)."""
        return cls("capacity_exceeded")

    @classmethod
    def reset(cls) -> Fault:
        """Connection reset before any response byte."""
        return cls("reset")

    @classmethod
    def reset_after(cls, after_chunks: int) -> Fault:
        """Connection reset after ``after_chunks`` content chunks (non-stream: mid-body)."""
        return cls("reset_after", after_chunks=_parse_int(after_chunks, "after_chunks"))

    @classmethod
    def stall(cls, after_chunks: int = 0, seconds: float = 30.0) -> Fault:
        """Stop sending for ``seconds`` after ``after_chunks`` content chunks, then close."""
        return cls(
            "stall",
            after_chunks=_parse_int(after_chunks, "after_chunks"),
            seconds=_parse_float(seconds, "seconds"),
        )

    @classmethod
    def slow_first_token(cls, seconds: float) -> Fault:
        """The first token (non-stream: the whole response) arrives after ``seconds``."""
        return cls("slow_first_token", seconds=_parse_float(seconds, "seconds"))

    @classmethod
    def malformed_json(cls, after_chunks: int = 0) -> Fault:
        """A ``data: {broken`` event after ``after_chunks`` content chunks."""
        return cls("malformed_json", after_chunks=_parse_int(after_chunks, "after_chunks"))

    @classmethod
    def malformed_sse(cls, after_chunks: int = 0) -> Fault:
        """A data line cut mid-JSON after ``after_chunks`` content chunks; then the body ends."""
        return cls("malformed_sse", after_chunks=_parse_int(after_chunks, "after_chunks"))

    @classmethod
    def stream_error(cls, status_code: int = 429, after_chunks: int = 0) -> Fault:
        """An in-stream error event with ``status_code`` after ``after_chunks`` content chunks."""
        if not 400 <= int(status_code) <= 599:
            msg = f"status code must be in 400..599, got {status_code}"
            raise ValueError(msg)
        return cls(
            "stream_error",
            status_code=int(status_code),
            after_chunks=_parse_int(after_chunks, "after_chunks"),
        )

    @classmethod
    def invalid_tool_arguments(cls) -> Fault:
        """Tool calls in the answer carry ``arguments`` that are not valid JSON."""
        return cls("invalid_tool_arguments")

    @classmethod
    def unauthorized(cls) -> Fault:
        """401 with the provider's wrong-key error body."""
        return cls("unauthorized")

    # ----------------------------------------------------------------- string form
    @classmethod
    def parse(cls, spec: str) -> Fault:
        """Parse the compact form, e.g. ``"rate_limit:2.0"``, ``"stall:2:30"``, ``"reset"``.

        Args:
            spec: ``kind[:arg[:arg]]``; see :class:`Fault` for the kinds and their arguments.

        Returns:
            The fault.

        Raises:
            ValueError: If the kind is unknown or the arguments do not fit it.
        """
        kind, *args = [part.strip() for part in spec.strip().split(":")]
        kind = kind.lower().replace("-", "_")
        arity = {
            "rate_limit": (0, 1),
            "status": (1, 1),
            "capacity_exceeded": (0, 0),
            "reset": (0, 0),
            "reset_after": (1, 1),
            "stall": (0, 2),
            "slow_first_token": (1, 1),
            "malformed_json": (0, 1),
            "malformed_sse": (0, 1),
            "stream_error": (0, 2),
            "invalid_tool_arguments": (0, 0),
            "unauthorized": (0, 0),
        }
        if kind not in arity:
            msg = f"unknown fault kind {kind!r} in {spec!r}; known: {', '.join(FAULT_KINDS)}"
            raise ValueError(msg)
        low, high = arity[kind]
        if not low <= len(args) <= high:
            msg = f"fault {kind!r} takes {low}..{high} arguments, got {len(args)} in {spec!r}"
            raise ValueError(msg)
        if kind == "rate_limit":
            if args and args[0] == "none":
                return cls.rate_limit(None)
            return cls.rate_limit(_parse_float(args[0], "retry_after") if args else 1.0)
        if kind == "status":
            return cls.status(_parse_int(args[0], "status code"))
        if kind == "reset_after":
            return cls.reset_after(_parse_int(args[0], "after_chunks"))
        if kind == "stall":
            after = _parse_int(args[0], "after_chunks") if args else 0
            seconds = _parse_float(args[1], "seconds") if len(args) > 1 else 30.0
            return cls.stall(after, seconds)
        if kind == "slow_first_token":
            return cls.slow_first_token(_parse_float(args[0], "seconds"))
        if kind in ("malformed_json", "malformed_sse"):
            after = _parse_int(args[0], "after_chunks") if args else 0
            return cls(kind, after_chunks=after)  # type: ignore[arg-type]
        if kind == "stream_error":
            code = _parse_int(args[0], "status code") if args else 429
            after = _parse_int(args[1], "after_chunks") if len(args) > 1 else 0
            return cls.stream_error(code, after)
        return cls(kind)  # type: ignore[arg-type]

    def __str__(self) -> str:
        kind = self.kind
        if kind == "rate_limit":
            if self.retry_after is None:
                return "rate_limit:none"
            return f"rate_limit:{_format_number(self.retry_after)}"
        if kind == "status":
            return f"status:{self.status_code}"
        if kind in ("reset_after", "malformed_json", "malformed_sse"):
            return f"{kind}:{self.after_chunks or 0}"
        if kind == "stall":
            return f"stall:{self.after_chunks or 0}:{_format_number(self.seconds or 0.0)}"
        if kind == "slow_first_token":
            return f"slow_first_token:{_format_number(self.seconds or 0.0)}"
        if kind == "stream_error":
            return f"stream_error:{self.status_code}:{self.after_chunks or 0}"
        return kind

    @property
    def is_pre_response(self) -> bool:
        """Whether the fault replaces the whole response (an error status or a reset)."""
        return self.kind in PRE_RESPONSE_KINDS


def coerce_fault(value: Fault | str | None) -> Fault | None:
    """Accept a :class:`Fault`, its string form, or ``None`` (no fault)."""
    if value is None or isinstance(value, Fault):
        return value
    text = value.strip()
    if text.lower() in ("", "none", "ok"):
        return None
    return Fault.parse(text)
