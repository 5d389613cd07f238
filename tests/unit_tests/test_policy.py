from __future__ import annotations

import pytest

from langchain_cerebras_router.policy import (
    DEFAULT_PRIORITY_ENV,
    PRIORITIES,
    FastestFirstPolicy,
    PriorityPolicy,
    RouteInfo,
    RoutingPolicy,
    normalize_priority,
    priority_from_env,
)

CEREBRAS = RouteInfo("cerebras-gpt-oss", "cerebras", "gpt-oss-120b", 3000.0)
CEREBRAS_2 = RouteInfo("cerebras-qwen", "cerebras", "qwen-3-235b-a22b-instruct-2507", 1400.0)
GROQ = RouteInfo("groq-llama", "groq", "llama-3.3-70b-versatile", 276.0)
GROQ_2 = RouteInfo("groq-deepseek", "groq", "deepseek-r1-distill-llama-70b", None)
OPENAI = RouteInfo("openai-4o", "openai", "gpt-4o", None)
OTHER = RouteInfo("local", "ollama", "llama3", None)

# User order deliberately mixes providers.
ALL = [OTHER, OPENAI, GROQ, CEREBRAS, GROQ_2, CEREBRAS_2]


def names(*routes: RouteInfo) -> list[str]:
    return [r.name for r in routes]


@pytest.mark.parametrize(
    ("priority", "expected"),
    [
        ("ultimate_speed", [CEREBRAS, CEREBRAS_2, GROQ, GROQ_2, OTHER, OPENAI]),
        ("speed", [GROQ, GROQ_2, CEREBRAS, CEREBRAS_2, OTHER, OPENAI]),
        ("quality", [OPENAI, GROQ, GROQ_2, CEREBRAS, CEREBRAS_2, OTHER]),
        ("balanced", [GROQ, GROQ_2, CEREBRAS, CEREBRAS_2, OTHER, OPENAI]),
    ],
)
def test_priority_table_with_every_provider(priority: str, expected: list[RouteInfo]) -> None:
    assert PriorityPolicy().order(ALL, priority) == names(*expected)


@pytest.mark.parametrize(
    ("routes", "priority", "expected"),
    [
        # No OpenAI configured: quality falls to groq, then cerebras.
        ([CEREBRAS, GROQ], "quality", [GROQ, CEREBRAS]),
        # No Cerebras: ultimate_speed falls to groq.
        ([OPENAI, GROQ], "ultimate_speed", [GROQ, OPENAI]),
        # Only Cerebras: every priority yields it.
        ([CEREBRAS], "speed", [CEREBRAS]),
        ([CEREBRAS], "quality", [CEREBRAS]),
        # Only unknown providers: the user's order is kept.
        ([OTHER, RouteInfo("x", "mistral")], "balanced", [OTHER, RouteInfo("x", "mistral")]),
        # Only OpenAI and Cerebras with balanced: cerebras, then the rest.
        ([OPENAI, CEREBRAS], "balanced", [CEREBRAS, OPENAI]),
        ([], "balanced", []),
    ],
)
def test_priority_table_with_missing_providers(
    routes: list[RouteInfo], priority: str, expected: list[RouteInfo]
) -> None:
    assert PriorityPolicy().order(routes, priority) == names(*expected)


@pytest.mark.parametrize("priority", PRIORITIES)
def test_no_route_is_ever_dropped(priority: str) -> None:
    ordered = PriorityPolicy().order(ALL, priority)
    assert sorted(ordered) == sorted(names(*ALL))


def test_provider_names_are_case_insensitive() -> None:
    routes = [RouteInfo("g", "Groq"), RouteInfo("c", "CEREBRAS")]
    assert PriorityPolicy().order(routes, "ultimate_speed") == ["c", "g"]


def test_custom_table_overrides_one_priority() -> None:
    policy = PriorityPolicy({"fast": ["cerebras"]})
    assert policy.order([GROQ, CEREBRAS], "speed") == names(CEREBRAS, GROQ)
    assert policy.order([CEREBRAS, GROQ], "balanced") == names(GROQ, CEREBRAS)
    assert repr(policy).startswith("PriorityPolicy(table=")


def test_policies_satisfy_the_protocol() -> None:
    assert isinstance(PriorityPolicy(), RoutingPolicy)
    assert isinstance(FastestFirstPolicy(), RoutingPolicy)


def test_priority_policy_rejects_unknown_priority() -> None:
    with pytest.raises(ValueError, match="unknown priority 'cheapest'"):
        PriorityPolicy().order(ALL, "cheapest")


# --------------------------------------------------------------------------- normalize


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ultimate_speed", "ultimate_speed"),
        ("Ultimate-Speed", "ultimate_speed"),
        ("ultimate speed", "ultimate_speed"),
        ("fastest", "ultimate_speed"),
        ("fast", "speed"),
        (" SPEED ", "speed"),
        ("best", "quality"),
        ("quality", "quality"),
        ("default", "balanced"),
        (None, "balanced"),
        ("", "balanced"),
    ],
)
def test_normalize_priority(value: str | None, expected: str) -> None:
    assert normalize_priority(value) == expected


def test_normalize_priority_default_and_errors() -> None:
    assert normalize_priority(None, default="fast") == "speed"
    with pytest.raises(ValueError, match="expected one of: ultimate_speed, speed, quality"):
        normalize_priority("turbo")
    with pytest.raises(ValueError, match="unknown priority 'nope'"):
        normalize_priority(None, default="nope")
    with pytest.raises(ValueError, match="must not be empty"):
        normalize_priority(None, default=" ")


def test_priority_from_env() -> None:
    assert DEFAULT_PRIORITY_ENV == "LANGCHAIN_ROUTER_PRIORITY"
    assert priority_from_env({}) == "balanced"
    assert priority_from_env({}, default="quality") == "quality"
    assert priority_from_env({DEFAULT_PRIORITY_ENV: "ultimate-speed"}) == "ultimate_speed"
    with pytest.raises(ValueError, match="LANGCHAIN_ROUTER_PRIORITY: unknown priority 'warp'"):
        priority_from_env({DEFAULT_PRIORITY_ENV: "warp"})


def test_priority_from_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEFAULT_PRIORITY_ENV, "speed")
    assert priority_from_env() == "speed"
    monkeypatch.delenv(DEFAULT_PRIORITY_ENV)
    assert priority_from_env() == "balanced"


# --------------------------------------------------------------------------- fastest first


def test_fastest_first_by_advertised_speed() -> None:
    ordered = FastestFirstPolicy().order(ALL, "balanced")
    assert ordered == names(CEREBRAS, CEREBRAS_2, GROQ, OTHER, OPENAI, GROQ_2)


def test_fastest_first_prefers_measured_speed() -> None:
    measured = {"groq-llama": 5000.0, "cerebras-gpt-oss": 0.0, "local": 10.0}
    policy = FastestFirstPolicy(measured.get)
    ordered = policy.order([CEREBRAS, GROQ, OTHER, OPENAI], "speed")
    # cerebras' measured 0 is ignored: its advertised 3000 t/s is used.
    assert ordered == names(GROQ, CEREBRAS, OTHER, OPENAI)


def test_fastest_first_validates_priority() -> None:
    with pytest.raises(ValueError, match="unknown priority"):
        FastestFirstPolicy().order(ALL, "slow")
