"""Which providers the CLI and the demo talk to: the real APIs, or the bundled emulator.

Core dependencies only (no typer / rich), so ``python -m langchain_cerebras_router demo``
works on a bare install. A provider is used when its key is in the environment
(``CEREBRAS_API_KEY``, ``GROQ_API_KEY``); with no key at all, or when asked to, an in-process
:class:`~langchain_cerebras_router.testing.Emulator` serves both providers, paced at each
model's nominal speed so that measured numbers look like the real services' shape. Every
caller prints :attr:`Session.notes`, which say plainly which of the two is in use.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import SecretStr

from langchain_cerebras_router.catalogue import ModelCatalogue
from langchain_cerebras_router.redaction import redact_secrets, redact_url

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel

    from langchain_cerebras_router.testing import Emulator

__all__ = [
    "DEFAULT_MODELS",
    "EMULATED_TTFT",
    "EMULATOR_KEY",
    "KEY_ENV",
    "PROVIDERS",
    "LiveModel",
    "ProviderName",
    "Session",
    "Target",
    "closed_port_url",
    "describe_error",
    "list_live_models",
    "open_session",
    "parse_target_specs",
]

ProviderName = Literal["cerebras", "groq"]
"""A provider the CLI knows how to reach."""

PROVIDERS: tuple[ProviderName, ...] = ("cerebras", "groq")
"""Providers the CLI knows how to reach, in order."""

KEY_ENV: dict[ProviderName, str] = {"cerebras": "CEREBRAS_API_KEY", "groq": "GROQ_API_KEY"}
"""Environment variable holding each provider's API key."""

BASE_URL_ENV: dict[ProviderName, tuple[str, ...]] = {
    "cerebras": ("CEREBRAS_BASE_URL",),
    "groq": ("GROQ_API_BASE", "GROQ_BASE_URL"),
}
"""Environment variables that may override each provider's endpoint, in order."""

PUBLIC_BASE_URL: dict[ProviderName, str] = {
    "cerebras": "https://api.cerebras.ai",
    "groq": "https://api.groq.com",
}

DEFAULT_MODELS: dict[ProviderName, str] = {
    "cerebras": "gpt-oss-120b",
    "groq": "llama-3.3-70b-versatile",
}
"""Model used for a provider when none is named (the seed's Groq primary)."""

EMULATED_TTFT: dict[ProviderName, float] = {"cerebras": 0.05, "groq": 0.12}
"""Time to first token the in-process emulator simulates for each provider, in seconds."""

EMULATOR_KEY = "emulator-key"
"""The key sent to the in-process emulator (it accepts any non-empty key)."""


def describe_error(exc: BaseException, secrets: Sequence[str] = ()) -> str:
    """``"ErrorType: message"`` on one line, with secrets removed and a bounded length."""
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    for secret in secrets:
        if secret:
            text = text.replace(secret, "****")
    text = redact_secrets(text)
    return text if len(text) <= 300 else text[:297] + "..."


@dataclass(frozen=True)
class Target:
    """One provider and model to call, with where and how to reach it.

    Example:
        .. code-block:: python

            from pydantic import SecretStr

            target = Target("cerebras", "gpt-oss-120b", SecretStr("csk-..."), None)
            llm = target.chat_model(max_tokens=64)
    """

    provider: ProviderName
    model: str
    api_key: SecretStr = field(repr=False)
    base_url: str | None
    emulated: bool = False

    @property
    def label(self) -> str:
        """``provider:model``."""
        return f"{self.provider}:{self.model}"

    @property
    def endpoint(self) -> str:
        """The base URL in use, without credentials (for display).

        The provider's public URL when not overridden.
        """
        return redact_url(self.base_url or PUBLIC_BASE_URL[self.provider])

    @property
    def advertised_tokens_per_second(self) -> float | None:
        """The catalogue's advertised speed of this model, if known."""
        return ModelCatalogue.default().advertised_tokens_per_second(self.provider, self.model)

    def chat_model(self, **kwargs: Any) -> BaseChatModel:
        """A LangChain chat model for this target (``ChatCerebras`` or ``ChatGroq``).

        Args:
            **kwargs: Constructor arguments (``max_tokens``, ``max_retries``, ``timeout``...).
        """
        if self.provider == "cerebras":
            from langchain_cerebras_router.chat_models import ChatCerebras

            return ChatCerebras(
                model=self.model, api_key=self.api_key, base_url=self.base_url, **kwargs
            )
        from langchain_groq import ChatGroq

        return ChatGroq(model=self.model, api_key=self.api_key, base_url=self.base_url, **kwargs)


@dataclass
class Session:
    """The targets of one CLI command, and the emulator serving them if any."""

    targets: list[Target]
    emulator: Emulator | None = None
    notes: list[str] = field(default_factory=list)
    """Human-readable lines saying what is used and why; print them."""
    skipped: dict[ProviderName, str] = field(default_factory=dict)
    """Provider -> why it is not used."""

    @property
    def emulated(self) -> bool:
        """Whether the in-process emulator serves the targets."""
        return self.emulator is not None

    @property
    def secrets(self) -> list[str]:
        """Key values in use, to scrub from any text shown to the user."""
        return [t.api_key.get_secret_value() for t in self.targets if not t.emulated]

    def providers(self) -> list[ProviderName]:
        """Providers with at least one target, in order."""
        return list(dict.fromkeys(t.provider for t in self.targets))

    def target_for(self, provider: ProviderName) -> Target | None:
        """The first target of ``provider``."""
        return next((t for t in self.targets if t.provider == provider), None)

    def pace(self, target: Target) -> None:
        """Make the emulator serve ``target``'s provider at that model's nominal speed.

        The emulator's speed is per provider, so call this before measuring each target.
        Does nothing for real APIs.
        """
        if self.emulator is None:
            return
        self.emulator.set_speed(
            target.provider,
            tokens_per_second=self.emulated_speed(target) or 1000.0,
            time_to_first_token=EMULATED_TTFT[target.provider],
        )

    def emulated_speed(self, target: Target) -> float | None:
        """Tokens/s the emulator simulates for ``target`` (``None`` for real APIs)."""
        if self.emulator is None:
            return None
        specs = {spec.id: spec for spec in self.emulator.models(target.provider)}
        spec = specs.get(target.model)
        return spec.tokens_per_second if spec else target.advertised_tokens_per_second


def parse_target_specs(specs: Sequence[str]) -> list[tuple[ProviderName, str]]:
    """Parse ``provider`` or ``provider:model`` strings into ``(provider, model)`` pairs.

    Raises:
        ValueError: For an unknown provider or an empty model.
    """
    parsed: list[tuple[ProviderName, str]] = []
    for spec in specs:
        name, sep, model = spec.strip().partition(":")
        if name.lower() not in PROVIDERS:
            msg = f"unknown provider {name!r} in {spec!r}: use {' or '.join(PROVIDERS)}"
            raise ValueError(msg)
        provider = cast("ProviderName", name.lower())
        if sep and not model:
            msg = f"empty model in {spec!r}: use provider:model, e.g. cerebras:gpt-oss-120b"
            raise ValueError(msg)
        parsed.append((provider, model or DEFAULT_MODELS[provider]))
    return parsed


def _env_base_url(provider: ProviderName, environ: Mapping[str, str]) -> str | None:
    return next((environ[n] for n in BASE_URL_ENV[provider] if environ.get(n)), None)


@contextlib.contextmanager
def open_session(
    models: Sequence[str] = (),
    *,
    force_emulator: bool = False,
    emulator_reason: str | None = None,
    answer_tokens: int = 24,
    environ: Mapping[str, str] | None = None,
) -> Iterator[Session]:
    """Decide what to call, starting the emulator if no key is set; stops it on exit.

    Args:
        models: ``provider`` or ``provider:model`` strings; default: each provider's
            default model.
        force_emulator: Use the emulator even when keys are set.
        emulator_reason: Why the emulator is used, for the notes (default: derived).
        answer_tokens: Length of the emulator's plain-text answers.
        environ: Environment to read (defaults to ``os.environ``).

    Yields:
        The session. Its ``targets`` may be empty when the requested providers have no key
        (``skipped`` says why).

    Raises:
        ValueError: For a malformed entry of ``models``.
    """
    env = os.environ if environ is None else environ
    wanted = parse_target_specs(models) or [(p, DEFAULT_MODELS[p]) for p in PROVIDERS]
    keyed = [p for p in PROVIDERS if env.get(KEY_ENV[p])]
    if force_emulator or not keyed:
        from langchain_cerebras_router.testing import Emulator

        with Emulator(answer_tokens=answer_tokens) as emulator:
            emulator_key = SecretStr(EMULATOR_KEY)
            session = Session(
                targets=[
                    Target(p, m, emulator_key, emulator.base_url, emulated=True) for p, m in wanted
                ],
                emulator=emulator,
            )
            why = emulator_reason or (
                "--emulator was given" if keyed else f"no {' or '.join(KEY_ENV.values())} is set"
            )
            session.notes.append(
                f"Emulator mode ({why}): every call goes to the bundled Cerebras/Groq API "
                f"emulator running in this process at {emulator.base_url}."
            )
            session.notes.append(
                "Answers are placeholder text and speeds are simulated (each model paced at its "
                "nominal tokens/s); set the API keys to measure the real services."
            )
            for target in session.targets:
                session.pace(target)
            yield session
        return
    session = Session(targets=[])
    for provider, model in wanted:
        value = env.get(KEY_ENV[provider])
        if not value:
            session.skipped[provider] = f"{KEY_ENV[provider]} is missing"
            continue
        session.targets.append(
            Target(provider, model, SecretStr(value), _env_base_url(provider, env), emulated=False)
        )
    used = ", ".join(f"{t.label} at {t.endpoint}" for t in session.targets) or "nothing"
    session.notes.append(f"Live mode: calling {used}.")
    for provider, why in session.skipped.items():
        session.notes.append(f"{provider.capitalize()} skipped: {why}.")
    yield session


@dataclass(frozen=True)
class LiveModel:
    """One entry of a provider's ``GET /v1/models`` list."""

    id: str
    owned_by: str | None = None
    created: int | None = None


def list_live_models(target: Target, *, timeout: float = 10.0) -> tuple[list[LiveModel], float]:
    """``GET /v1/models`` through the provider's own SDK (no retries).

    Returns:
        The models and the seconds the request took.

    Raises:
        Exception: Whatever the SDK raises (connection, authentication...).
    """
    started = time.perf_counter()
    if target.provider == "cerebras":
        from cerebras.cloud.sdk import Cerebras

        cerebras_client = Cerebras(
            api_key=target.api_key.get_secret_value(),
            base_url=target.base_url,
            warm_tcp_connection=False,
            max_retries=0,
            timeout=timeout,
        )
        with cerebras_client:
            page: Any = cerebras_client.models.list()
    else:
        from groq import Groq

        groq_client = Groq(
            api_key=target.api_key.get_secret_value(),
            base_url=target.base_url,
            max_retries=0,
            timeout=timeout,
        )
        with groq_client:
            page = groq_client.models.list()
    elapsed = time.perf_counter() - started
    models = [
        LiveModel(
            id=str(item.id),
            owned_by=getattr(item, "owned_by", None),
            created=getattr(item, "created", None),
        )
        for item in page.data
    ]
    return models, elapsed


def closed_port_url() -> tuple[str, socket.socket]:
    """A local URL where nothing listens (connection refused), and the socket reserving it.

    Close the socket when done. Used to simulate a provider outage against live APIs.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    return f"http://127.0.0.1:{sock.getsockname()[1]}", sock
