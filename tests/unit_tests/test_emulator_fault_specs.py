"""Fault specs (constructors, string form) and how the emulator picks a fault per request."""

from __future__ import annotations

import pytest

from langchain_cerebras_router.testing import FAULT_KINDS, Fault
from langchain_cerebras_router.testing.faults import coerce_fault
from langchain_cerebras_router.testing.state import EmulatorState, Speed

ALL_FAULTS = [
    Fault.rate_limit(retry_after=2.0),
    Fault.rate_limit(retry_after=0.25),
    Fault.rate_limit(retry_after=None),
    Fault.status(503),
    Fault.status(400),
    Fault.capacity_exceeded(),
    Fault.reset(),
    Fault.reset_after(3),
    Fault.stall(after_chunks=2, seconds=30),
    Fault.stall(after_chunks=0, seconds=0.5),
    Fault.slow_first_token(1.5),
    Fault.malformed_json(after_chunks=1),
    Fault.malformed_sse(after_chunks=1),
    Fault.stream_error(status_code=429, after_chunks=2),
    Fault.invalid_tool_arguments(),
    Fault.unauthorized(),
]


@pytest.mark.parametrize("fault", ALL_FAULTS, ids=str)
def test_string_form_round_trips(fault: Fault) -> None:
    assert Fault.parse(str(fault)) == fault


def test_every_kind_has_a_constructor_covered() -> None:
    assert {fault.kind for fault in ALL_FAULTS} == set(FAULT_KINDS)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("rate_limit:2.0", Fault.rate_limit(2.0)),
        ("rate_limit:2", Fault.rate_limit(2.0)),
        ("rate_limit", Fault.rate_limit(1.0)),
        ("rate_limit:none", Fault.rate_limit(None)),
        ("status:503", Fault.status(503)),
        ("capacity_exceeded", Fault.capacity_exceeded()),
        ("reset", Fault.reset()),
        ("reset_after:3", Fault.reset_after(3)),
        ("stall:2:30", Fault.stall(2, 30.0)),
        ("stall", Fault.stall(0, 30.0)),
        ("slow_first_token:1.5", Fault.slow_first_token(1.5)),
        ("malformed_json:1", Fault.malformed_json(1)),
        ("malformed_sse:1", Fault.malformed_sse(1)),
        ("stream_error:429:2", Fault.stream_error(429, 2)),
        ("stream_error", Fault.stream_error(429, 0)),
        ("invalid_tool_arguments", Fault.invalid_tool_arguments()),
        ("unauthorized", Fault.unauthorized()),
        (" Reset-After : 2 ", Fault.reset_after(2)),
    ],
)
def test_parse(spec: str, expected: Fault) -> None:
    assert Fault.parse(spec) == expected


def test_canonical_strings() -> None:
    assert str(Fault.rate_limit(retry_after=2)) == "rate_limit:2.0"
    assert str(Fault.stall(after_chunks=2, seconds=30)) == "stall:2:30.0"
    assert str(Fault.stream_error(status_code=429, after_chunks=2)) == "stream_error:429:2"
    assert str(Fault.reset()) == "reset"


@pytest.mark.parametrize(
    "spec",
    [
        "explode",
        "status",
        "status:200",
        "status:abc",
        "reset:1",
        "reset_after",
        "stall:1:2:3",
        "rate_limit:-1",
        "rate_limit:nan",
        "reset_after:-2",
        "stream_error:302",
        "slow_first_token",
    ],
)
def test_parse_rejects(spec: str) -> None:
    with pytest.raises(ValueError):
        Fault.parse(spec)


def test_constructors_validate() -> None:
    with pytest.raises(ValueError, match=r"400\.\.599"):
        Fault.status(302)
    with pytest.raises(ValueError, match=">= 0"):
        Fault.reset_after(-1)
    with pytest.raises(ValueError, match="finite"):
        Fault.stall(1, float("inf"))


def test_pre_response_kinds() -> None:
    assert Fault.status(503).is_pre_response
    assert Fault.reset().is_pre_response
    assert not Fault.reset_after(1).is_pre_response
    assert not Fault.slow_first_token(1).is_pre_response


def test_coerce_fault() -> None:
    assert coerce_fault(None) is None
    assert coerce_fault("none") is None
    assert coerce_fault("") is None
    assert coerce_fault("reset") == Fault.reset()
    assert coerce_fault(Fault.status(500)) == Fault.status(500)


# ---------------------------------------------------------------------- selection
@pytest.fixture
def state() -> EmulatorState:
    return EmulatorState(Speed(), 24)


def test_inject_applies_to_the_next_n_matching_requests(state: EmulatorState) -> None:
    state.inject(Fault.status(503), "cerebras", None, 2)
    assert state.next_fault("groq", "m") is None
    assert state.next_fault("cerebras", "m") == Fault.status(503)
    assert state.next_fault("cerebras", "other") == Fault.status(503)
    assert state.next_fault("cerebras", "m") is None


def test_inject_matches_model(state: EmulatorState) -> None:
    state.inject("reset", None, "gpt-oss-120b", 1)
    assert state.next_fault("cerebras", "llama3.1-8b") is None
    assert state.next_fault("groq", "gpt-oss-120b") == Fault.reset()
    assert state.next_fault("cerebras", "gpt-oss-120b") is None


def test_inject_forever_until_cleared(state: EmulatorState) -> None:
    state.inject(Fault.status(500), None, None, None)
    for _ in range(5):
        assert state.next_fault("cerebras", None) == Fault.status(500)
    state.clear_faults()
    assert state.next_fault("cerebras", None) is None


def test_inject_rejects_zero_times(state: EmulatorState) -> None:
    with pytest.raises(ValueError, match="times"):
        state.inject(Fault.reset(), None, None, 0)


def test_script_steps_in_order_then_normal(state: EmulatorState) -> None:
    state.script("cerebras", [Fault.status(503), None, "reset"])
    assert state.next_fault("groq", None) is None
    assert state.next_fault("cerebras", None) == Fault.status(503)
    assert state.next_fault("cerebras", None) is None
    assert state.script_remaining("cerebras") == 1
    assert state.next_fault("cerebras", None) == Fault.reset()
    assert state.next_fault("cerebras", None) is None


def test_inject_queue_wins_over_script_without_using_a_step(state: EmulatorState) -> None:
    state.script("groq", [Fault.status(502)])
    state.inject(Fault.rate_limit(1.0), "groq", None, 1)
    assert state.next_fault("groq", None) == Fault.rate_limit(1.0)
    assert state.next_fault("groq", None) == Fault.status(502)


def test_injected_none_shadows_the_script(state: EmulatorState) -> None:
    state.script("cerebras", [Fault.status(502)])
    state.inject(None, "cerebras", None, 1)
    assert state.next_fault("cerebras", None) is None
    assert state.next_fault("cerebras", None) == Fault.status(502)


def test_reset_restores_defaults(state: EmulatorState) -> None:
    state.inject(Fault.reset(), None, None, None)
    state.script("groq", ["reset"])
    state.set_speed("groq", tokens_per_second=10.0, time_to_first_token=1.0)
    state.answer_tokens = 99
    state.reset()
    assert state.next_fault("cerebras", None) is None
    assert state.next_fault("groq", None) is None
    assert state.speed("groq") == Speed()
    assert state.answer_tokens == 24


def test_set_speed_for_both_providers(state: EmulatorState) -> None:
    state.set_speed(None, server_latency=0.5)
    assert state.speed("cerebras").server_latency == 0.5
    assert state.speed("groq").server_latency == 0.5
    state.set_speed("cerebras", tokens_per_second=3000.0)
    assert state.speed("cerebras").tokens_per_second == 3000.0
    assert state.speed("groq").tokens_per_second is None
