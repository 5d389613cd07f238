"""Redaction of secrets (API keys, bearer tokens) from text that may be logged."""

from __future__ import annotations

import contextlib
import re
from urllib.parse import urlsplit, urlunsplit

__all__ = ["redact_exception", "redact_secrets", "redact_url"]

_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer|basic)(\s+|%20)[A-Za-z0-9._~+/=*-]+"), r"\1\2[REDACTED]"),
    (re.compile(r"(?i)(?<![A-Za-z0-9])(?:csk|gsk|sk|xai)[-_][A-Za-z0-9_*-]{6,}"), "[REDACTED]"),
    (
        re.compile(
            r"(?i)(\b(?:api[_-]?key|access[_-]?token|token|x-api-key|secret|password|passwd)"
            r"[\"']?\s*[:=]\s*[\"']?)"
            r"[^\s\"'&,;}]+"
        ),
        r"\1[REDACTED]",
    ),
    (re.compile(r"(?i)([?&](?:api[_-]?)?key=)[^&\s\"']+"), r"\1[REDACTED]"),
)


def redact_secrets(text: str) -> str:
    """Replace anything that looks like an API key or bearer token with ``[REDACTED]``.

    Covers ``Bearer``/``Basic`` credentials, ``csk-``/``gsk_``/``sk-``/``xai-`` keys,
    ``api_key=...``-style assignments and ``?key=`` query parameters.

    Args:
        text: Any text, e.g. an exception message.

    Returns:
        The text with secrets replaced.
    """
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_exception(exc: BaseException) -> BaseException:
    """Redact secrets from ``exc``'s message, in place, and return it.

    For errors whose text comes from a server (an SDK's ``APIError``, which a proxy or
    provider may fill with the caller's key): their ``args`` and ``message`` are what
    ``str()``, tracebacks and callback handlers show. The exception keeps its type, so
    callers still catch it as before.

    Args:
        exc: Any exception.

    Returns:
        ``exc`` itself.
    """
    args = exc.args
    if any(isinstance(arg, str) for arg in args):
        cleaned = tuple(redact_secrets(a) if isinstance(a, str) else a for a in args)
        if cleaned != args:
            exc.args = cleaned
    message = getattr(exc, "message", None)
    if isinstance(message, str):
        cleaned_message = redact_secrets(message)
        if cleaned_message != message:
            with contextlib.suppress(AttributeError):  # read-only: str() uses args
                exc.message = cleaned_message  # type: ignore[attr-defined]
    return exc


def redact_url(url: str) -> str:
    """``url`` without credentials, for display: ``user:password@`` becomes ``***@``.

    Secrets in the query (``?password=...``) are redacted too, and a URL whose authority
    cannot be found (``redis//:pw@host``, a typo in the scheme) is still masked up to
    its last ``@``.

    Args:
        url: Any URL (a provider's base URL, a Redis URL).

    Returns:
        The URL, safe to print.

    Example:
        .. code-block:: python

            from langchain_cerebras_router.redaction import redact_url

            print(redact_url("redis://:hunter2@cache:6379/0"))  # redis://***@cache:6379/0
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable url>"
    if parts.netloc:
        netloc = parts.netloc
        if "@" in netloc:
            netloc = "***@" + netloc.rpartition("@")[2]
        query = redact_secrets(parts.query)
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    if "@" in url:
        return "***@" + url.rpartition("@")[2]
    return redact_secrets(url)
