"""Route ordering policies: the seed's priority table, as a small pluggable object.

A `RoutingPolicy` turns the router's routes and a priority into the order in which routes
are tried. It only orders: it never drops a route, so every configured route remains a
fallback. Health (open breakers, rate limits) is applied by the router afterwards.

The seed's ``select_inference_provider`` table, kept by `PriorityPolicy`:

==============  ==================================
priority        provider order
==============  ==================================
ultimate_speed  cerebras, groq, others
speed           groq, cerebras, others
quality         openai, groq, cerebras, others
balanced        groq, cerebras, others (default)
==============  ==================================

Aliases accepted by `normalize_priority` (case-insensitive; ``-`` and spaces read as ``_``):
``fast`` → ``speed``; ``fastest``, ``ultimate``, ``ultra`` → ``ultimate_speed``;
``best``, ``accurate`` → ``quality``; ``default``, ``auto`` → ``balanced``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "DEFAULT_PRIORITY",
    "DEFAULT_PRIORITY_ENV",
    "DEFAULT_PROVIDER_ORDER",
    "PRIORITIES",
    "PRIORITY_ALIASES",
    "FastestFirstPolicy",
    "Priority",
    "PriorityPolicy",
    "RouteInfo",
    "RoutingPolicy",
    "normalize_priority",
    "priority_from_env",
]

Priority = Literal["ultimate_speed", "speed", "quality", "balanced"]
PRIORITIES: tuple[Priority, ...] = ("ultimate_speed", "speed", "quality", "balanced")
DEFAULT_PRIORITY: Priority = "balanced"
DEFAULT_PRIORITY_ENV = "LANGCHAIN_ROUTER_PRIORITY"
"""Environment variable read by `priority_from_env` for the default priority."""

PRIORITY_ALIASES: Mapping[str, Priority] = {
    "fast": "speed",
    "fastest": "ultimate_speed",
    "ultimate": "ultimate_speed",
    "ultra": "ultimate_speed",
    "best": "quality",
    "accurate": "quality",
    "default": "balanced",
    "auto": "balanced",
}

DEFAULT_PROVIDER_ORDER: Mapping[Priority, tuple[str, ...]] = {
    "ultimate_speed": ("cerebras", "groq"),
    "speed": ("groq", "cerebras"),
    "quality": ("openai", "groq", "cerebras"),
    "balanced": ("groq", "cerebras"),
}


def _valid_values() -> str:
    aliases = ", ".join(f"{k}->{v}" for k, v in PRIORITY_ALIASES.items())
    return f"{', '.join(PRIORITIES)} (aliases: {aliases})"


def normalize_priority(value: str | None, default: str = DEFAULT_PRIORITY) -> Priority:
    """Return the canonical priority for ``value``, or for ``default`` when it is empty.

    Args:
        value: A priority or alias, any case; ``None`` or blank selects ``default``.
        default: Used when ``value`` is empty; normalised the same way.

    Returns:
        One of `PRIORITIES`.

    Raises:
        ValueError: For an unknown value, listing the valid ones.

    Example:
        .. code-block:: python

            assert normalize_priority("Ultimate-Speed") == "ultimate_speed"
            assert normalize_priority(None) == "balanced"
    """
    if value is None or not value.strip():
        if not default.strip():
            msg = f"default priority must not be empty; expected one of: {_valid_values()}"
            raise ValueError(msg)
        value = default
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    for priority in PRIORITIES:
        if key == priority:
            return priority
    alias = PRIORITY_ALIASES.get(key)
    if alias is not None:
        return alias
    msg = f"unknown priority {value!r}; expected one of: {_valid_values()}"
    raise ValueError(msg)


def priority_from_env(
    environ: Mapping[str, str] | None = None, default: str = DEFAULT_PRIORITY
) -> Priority:
    """The default priority from ``LANGCHAIN_ROUTER_PRIORITY``, else ``default``.

    Args:
        environ: Environment to read; defaults to ``os.environ``.
        default: Used when the variable is unset or blank.

    Returns:
        One of `PRIORITIES`.

    Raises:
        ValueError: When the variable holds an unknown priority (the message names it).
    """
    env = os.environ if environ is None else environ
    raw = env.get(DEFAULT_PRIORITY_ENV)
    try:
        return normalize_priority(raw, default)
    except ValueError as exc:
        msg = f"{DEFAULT_PRIORITY_ENV}: {exc}"
        raise ValueError(msg) from None


@dataclass(frozen=True)
class RouteInfo:
    """What a policy may know about a route.

    Attributes:
        name: The route's unique name.
        provider: ``"cerebras"``, ``"groq"``, ``"openai"`` or any other provider name.
        model: The provider's model id, if known.
        advertised_tokens_per_second: Output speed the provider advertises, if known.

    Example:
        .. code-block:: python

            RouteInfo("cerebras", "cerebras", "gpt-oss-120b", 3000.0)
    """

    name: str
    provider: str
    model: str | None = None
    advertised_tokens_per_second: float | None = None


@runtime_checkable
class RoutingPolicy(Protocol):
    """Orders routes for one call. Must return every route name exactly once.

    The router asks the policy on every call, unless the policy has a true ``static``
    attribute: its order then depends only on the routes and the priority, and the
    router keeps it per priority (as it does for `PriorityPolicy`).
    """

    def order(self, routes: Sequence[RouteInfo], priority: str) -> list[str]:
        """Return the names of ``routes`` in the order to try them for ``priority``."""
        ...


class PriorityPolicy:
    """The seed's priority table: providers in a fixed order per priority.

    Within one provider the user's route order is kept; providers the table does not name
    come last, in the user's order. Providers are compared case-insensitively.

    Args:
        table: Provider order per priority, overriding `DEFAULT_PROVIDER_ORDER` for the
            priorities it names (keys may be aliases).

    Example:
        .. code-block:: python

            routes = [RouteInfo("g", "groq"), RouteInfo("c", "cerebras")]
            assert PriorityPolicy().order(routes, "ultimate_speed") == ["c", "g"]
    """

    #: The order depends only on the routes and the priority (routers keep it).
    static = True

    def __init__(self, table: Mapping[str, Sequence[str]] | None = None) -> None:
        merged: dict[Priority, tuple[str, ...]] = dict(DEFAULT_PROVIDER_ORDER)
        for key, providers in (table or {}).items():
            merged[normalize_priority(key)] = tuple(p.lower() for p in providers)
        self.table: Mapping[Priority, tuple[str, ...]] = merged

    def order(self, routes: Sequence[RouteInfo], priority: str) -> list[str]:
        """See `RoutingPolicy.order`."""
        providers = self.table[normalize_priority(priority)]
        rank = {provider: i for i, provider in enumerate(providers)}
        last = len(providers)
        ordered = sorted(routes, key=lambda r: rank.get(r.provider.lower(), last))
        return [r.name for r in ordered]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(table={dict(self.table)!r})"


class FastestFirstPolicy:
    """Fastest route first, by measured tokens/s when known, else advertised tokens/s.

    Routes with neither come last in the user's order; ties keep the user's order. The
    priority is validated but does not change the order.

    Args:
        measured_tokens_per_second: Optional lookup of a route's measured output speed
            (e.g. from a speed monitor); ``None`` for "not measured".

    Example:
        .. code-block:: python

            routes = [RouteInfo("g", "groq", None, 276.0), RouteInfo("c", "cerebras", None, 3000.0)]
            assert FastestFirstPolicy().order(routes, "balanced") == ["c", "g"]
    """

    def __init__(
        self, measured_tokens_per_second: Callable[[str], float | None] | None = None
    ) -> None:
        self.measured_tokens_per_second = measured_tokens_per_second

    @property
    def static(self) -> bool:
        """Only advertised speeds (no measurements): the order never changes."""
        return self.measured_tokens_per_second is None

    def _speed(self, route: RouteInfo) -> float | None:
        if self.measured_tokens_per_second is not None:
            measured = self.measured_tokens_per_second(route.name)
            if measured is not None and measured > 0:
                return measured
        advertised = route.advertised_tokens_per_second
        return advertised if advertised is not None and advertised > 0 else None

    def order(self, routes: Sequence[RouteInfo], priority: str) -> list[str]:
        """See `RoutingPolicy.order`."""
        normalize_priority(priority)
        speeds = [(self._speed(r), r.name) for r in routes]
        known = sorted((s for s in speeds if s[0] is not None), key=lambda s: -(s[0] or 0.0))
        return [name for _, name in known] + [name for s, name in speeds if s is None]
