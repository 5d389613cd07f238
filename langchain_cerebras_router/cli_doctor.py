"""``langchain-cerebras-router doctor``: is this machine ready to call Cerebras and Groq?

Checks, per provider: API key present (never shown: only "set" or "missing"), endpoint
reachable, model served (``GET /v1/models``), TCP warm-up time (Cerebras'
``/v1/tcp_warming``), and the rate-limit headroom reported by the headers of one tiny
request. Core dependencies only; ``cli.py`` renders the checks.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from langchain_cerebras_router.catalogue import CATALOGUE_ENV_VAR, ModelCatalogue
from langchain_cerebras_router.cli_targets import (
    BASE_URL_ENV,
    KEY_ENV,
    Session,
    Target,
    describe_error,
    list_live_models,
)
from langchain_cerebras_router.ratelimits import RateLimitSnapshot, parse_rate_limit_headers
from langchain_cerebras_router.redaction import redact_url

__all__ = ["Check", "Status", "format_headroom", "run_doctor"]

Status = Literal["ok", "warn", "fail", "info"]

_PACKAGES = (
    "langchain-cerebras-router",
    "langchain-core",
    "cerebras-cloud-sdk",
    "langchain-groq",
    "groq",
)
_EXTRAS = (
    ("cli", "typer", "typer, rich"),
    ("plots", "matplotlib", "matplotlib"),
    ("prometheus", "prometheus_client", "prometheus-client"),
    ("openai", "langchain_openai", "langchain-openai"),
)
_LOW_HEADROOM = 0.1


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    section: str
    """``"environment"`` or a provider name."""
    name: str
    status: Status
    detail: str

    def to_dict(self) -> dict[str, str]:
        """JSON-serialisable form."""
        return {
            "section": self.section,
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
        }


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _environment_checks(session: Session, env: Mapping[str, str]) -> Iterator[Check]:
    yield Check(
        "environment",
        "python",
        "info",
        f"{platform.python_version()} ({platform.python_implementation()}, {platform.system()})",
    )
    yield Check(
        "environment",
        "packages",
        "info",
        ", ".join(f"{name} {_version(name)}" for name in _PACKAGES),
    )
    for extra, module, packages in _EXTRAS:
        installed = importlib.util.find_spec(module) is not None
        detail = (
            f"installed ({packages})"
            if installed
            else f"not installed: pip install 'langchain-cerebras-router[{extra}]'"
        )
        yield Check("environment", f"extra [{extra}]", "ok" if installed else "info", detail)
    for name in (*KEY_ENV.values(), "OPENAI_API_KEY"):
        present = bool(env.get(name))
        status: Status = "ok" if present else ("info" if name == "OPENAI_API_KEY" else "warn")
        yield Check("environment", name, status, "set" if present else "missing")
    for names in BASE_URL_ENV.values():
        for name in names:
            if env.get(name):
                yield Check("environment", name, "info", redact_url(env[name]))
    for name in ("LANGCHAIN_ROUTER_PRIORITY", CATALOGUE_ENV_VAR):
        if env.get(name):
            yield Check("environment", name, "info", env[name])
    for provider, why in session.skipped.items():
        yield Check("environment", provider, "warn", f"not checked: {why}")
    if session.emulated:
        yield Check(
            "environment",
            "mode",
            "warn",
            "emulator: the provider checks below run against the bundled emulator in this "
            "process, not the real APIs",
        )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 90:
        return f"{seconds:.0f}s"
    minutes = int(seconds // 60)
    if minutes < 90:
        return f"{minutes}m {int(seconds % 60)}s"
    return f"{minutes // 60}h {minutes % 60}m"


def format_headroom(snapshot: RateLimitSnapshot) -> tuple[Status, str]:
    """Describe the remaining requests and tokens, and how worrying they are.

    Returns:
        ``("fail", ...)`` when a budget is exhausted, ``("warn", ...)`` below 10 % left,
        else ``("ok", ...)``.
    """
    parts: list[str] = []
    status: Status = "ok"
    for unit, remaining, limit, reset in (
        (
            "requests",
            snapshot.remaining_requests,
            snapshot.limit_requests,
            snapshot.reset_requests_s,
        ),
        ("tokens", snapshot.remaining_tokens, snapshot.limit_tokens, snapshot.reset_tokens_s),
    ):
        if remaining is None and limit is None:
            continue
        left = "?" if remaining is None else f"{remaining:,}"
        of = f" of {limit:,}" if limit is not None else ""
        parts.append(f"{unit} {left}{of} left (resets in {_duration(reset)})")
        if remaining is not None and remaining <= 0:
            status = "fail"
        elif (
            remaining is not None
            and limit
            and remaining / limit < _LOW_HEADROOM
            and status != "fail"
        ):
            status = "warn"
    return status, "; ".join(parts)


def _rate_limit_headers(target: Target) -> tuple[dict[str, str], float, str]:
    """Send one tiny chat request; return its rate-limit headers, duration and model."""
    started = time.perf_counter()
    if target.provider == "cerebras":
        llm = target.chat_model(max_tokens=1, max_retries=0, timeout=20.0)
        message = llm.invoke("ping")
        elapsed = time.perf_counter() - started
        headers = dict(message.response_metadata.get("rate_limits") or {})
        return headers, elapsed, str(message.response_metadata.get("model_name", target.model))
    from groq import Groq

    client = Groq(
        api_key=target.api_key.get_secret_value(),
        base_url=target.base_url,
        max_retries=0,
        timeout=20.0,
    )
    with client:
        raw: Any = client.chat.completions.with_raw_response.create(
            model=target.model, messages=[{"role": "user", "content": "ping"}], max_tokens=1
        )
    elapsed = time.perf_counter() - started
    body = raw.parse()
    headers = {
        k: v for k, v in raw.headers.items() if k.lower().startswith(("x-ratelimit", "retry-after"))
    }
    return headers, elapsed, str(getattr(body, "model", target.model))


def _model_check(target: Target, served: list[str]) -> Check:
    if target.model in served:
        return Check(target.provider, "model", "ok", f"{target.model} is served")
    resolved = ModelCatalogue.default().resolve(target.model, target.provider)
    hint = ""
    if resolved is not None and resolved.model_id != target.model:
        hint = f"; the catalogue suggests {resolved.model_id}"
    shown = ", ".join(served[:6]) + (", ..." if len(served) > 6 else "")
    return Check(
        target.provider,
        "model",
        "fail",
        f"{target.model} is not in GET /v1/models{hint} (served: {shown or 'none'})",
    )


def _provider_checks(target: Target, secrets: list[str]) -> Iterator[Check]:
    section = target.provider
    if target.emulated:
        where = "bundled emulator"
    else:
        where = "configured endpoint" if target.base_url else "public API"
    yield Check(section, "endpoint", "info", f"{redact_url(target.endpoint)} ({where})")
    try:
        models, elapsed = list_live_models(target)
    except Exception as exc:
        yield Check(section, "connectivity", "fail", describe_error(exc, secrets))
        return
    yield Check(
        section,
        "connectivity",
        "ok",
        f"GET /v1/models answered in {_ms(elapsed)} ({len(models)} models)",
    )
    yield _model_check(target, [m.id for m in models])
    if target.provider == "cerebras":
        from langchain_cerebras_router.chat_models import ChatCerebras

        warm = target.chat_model(max_retries=0)
        if isinstance(warm, ChatCerebras):
            seconds = warm.warm_up()
            yield Check(section, "tcp warm-up", "ok", f"{_ms(seconds)} (GET /v1/tcp_warming)")
    try:
        headers, elapsed, answered_by = _rate_limit_headers(target)
    except Exception as exc:
        yield Check(section, "chat completion", "fail", describe_error(exc, secrets))
        return
    yield Check(
        section,
        "chat completion",
        "ok",
        f"1-token request to {answered_by} answered in {_ms(elapsed)}",
    )
    snapshot = parse_rate_limit_headers(headers)
    if snapshot is None:
        yield Check(section, "rate limits", "warn", "the response carried no rate-limit headers")
        return
    status, detail = format_headroom(snapshot)
    yield Check(section, "rate limits", status, detail)


def run_doctor(session: Session, environ: Mapping[str, str] | None = None) -> list[Check]:
    """Run every check; failures are reported as checks, never raised.

    Args:
        session: Providers to check (the emulator's when no key is set).
        environ: Environment to inspect (defaults to ``os.environ``).
    """
    env = os.environ if environ is None else environ
    checks = list(_environment_checks(session, env))
    for provider in session.providers():
        target = session.target_for(provider)
        if target is not None:
            checks.extend(_provider_checks(target, session.secrets))
    return checks
