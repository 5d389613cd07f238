"""Redaction of secrets (API keys, bearer tokens) from text that may be logged."""

from __future__ import annotations

import re

__all__ = ["redact_secrets"]

_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]+"), r"\1\2[REDACTED]"),
    (re.compile(r"(?<![A-Za-z0-9])(?:csk|gsk|sk|xai)[-_][A-Za-z0-9_-]{6,}"), "[REDACTED]"),
    (
        re.compile(
            r"(?i)((?:api[_-]?key|access[_-]?token|x-api-key|secret)[\"']?\s*[:=]\s*[\"']?)"
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
