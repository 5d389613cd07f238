"""A fleet of replicas sharing one per-minute token limit: per-process vs shared state.

Deterministic discrete-event simulation (simulated clock, seeded randomness, no sleeps, no
network). Every replica routes each request as `RoutedChatModel` does, through a
`HealthStore`: Cerebras first, Groq as the fallback. Cerebras enforces one organisation-wide
token budget per minute (fixed window, as its ``x-ratelimit-*-tokens-minute`` headers
describe): a request whose tokens do not fit gets a 429 with ``retry-after`` (the time to
the window reset) and the replica fails over to Groq, having wasted a round trip.

* **per-process**: each replica has its own `InMemoryHealthStore`; it learns about the
  budget only from its own responses, so every replica pays its own 429s.
* **shared**: one store for the fleet. The store is an `InMemoryHealthStore` shared by all
  replicas, which is what `RedisHealthStore` provides across processes (its semantics are
  identical; ``tests/unit_tests/test_redis_health.py`` runs this simulation on Redis and
  checks it gives the same numbers). Headers seen by one replica steer all of them.

Load is bursty: a base Poisson rate per replica, and once a minute a fleet-wide burst.

The same fleet load is split over 1, 10 and 50 replicas: with one replica both modes are
the same; the more replicas, the more 429s per-process state pays.

Run: ``python -m benchmarks.fleet_simulation`` (``--quick`` for a shorter run).
"""

from __future__ import annotations

import argparse
import heapq
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from benchmarks.common import BenchmarkResult, Chart, Target, format_table
from langchain_cerebras_router.failures import Failure, FailureKind
from langchain_cerebras_router.health import HealthStore, InMemoryHealthStore, RateLimitSnapshot

PRIMARY, FALLBACK = "cerebras", "groq"

StoreFactory = Callable[[Callable[[], float]], HealthStore]


@dataclass(frozen=True)
class FleetConfig:
    """The simulated deployment and its load."""

    replicas: int = 50
    duration_s: float = 600.0
    tokens_per_minute: int = 400_000
    fleet_rate: float = 2.5
    """Requests per second across the fleet outside bursts (split evenly over replicas)."""
    burst_factor: float = 6.0
    burst_seconds: float = 15.0
    prompt_tokens: tuple[int, int] = (600, 1800)
    completion_tokens: tuple[int, int] = (100, 500)
    primary_latency_s: float = 0.4
    rejection_latency_s: float = 0.05
    fallback_latency_s: float = 0.8
    seed: int = 7


@dataclass
class FleetResult:
    """What one mode did with the same arrivals."""

    mode: str
    requests: int = 0
    answered_by_primary: int = 0
    answered_by_fallback: int = 0
    rate_limited: int = 0
    """429s received from the primary."""
    failovers: int = 0
    """Requests that failed on the primary and went on to the fallback."""
    skipped_primary: int = 0
    """Requests sent straight to the fallback because the store refused the primary."""
    primary_tokens: int = 0
    wasted_seconds: float = 0.0
    """Time spent on rejected round trips (latency added to the failed-over requests)."""
    extra: dict[str, float] = field(default_factory=dict)

    def summary(self, config: FleetConfig) -> dict[str, Any]:
        minutes = config.duration_s / 60.0
        data = asdict(self)
        data.pop("extra")
        data["primary_share"] = round(self.answered_by_primary / max(self.requests, 1), 4)
        data["primary_budget_used"] = round(
            self.primary_tokens / (config.tokens_per_minute * minutes), 4
        )
        data["wasted_seconds"] = round(self.wasted_seconds, 3)
        data["added_ms_per_failover"] = round(
            1000 * self.wasted_seconds / max(self.failovers, 1), 1
        )
        return data


@dataclass(order=True)
class _Event:
    at: float
    seq: int
    kind: str = field(compare=False)
    replica: int = field(compare=False)
    prompt: int = field(compare=False)
    completion: int = field(compare=False)
    headers: RateLimitSnapshot | None = field(compare=False, default=None)
    retry_after: float | None = field(compare=False, default=None)


class _Provider:
    """A fixed-window per-minute token budget shared by the whole organisation."""

    def __init__(self, tokens_per_minute: int) -> None:
        self.limit = tokens_per_minute
        self.window = -1
        self.remaining = tokens_per_minute

    def request(self, now: float, tokens: int) -> tuple[bool, RateLimitSnapshot, float]:
        window = int(now // 60)
        if window != self.window:
            self.window, self.remaining = window, self.limit
        reset = (window + 1) * 60 - now
        accepted = tokens <= self.remaining
        if accepted:
            self.remaining -= tokens
        snap = RateLimitSnapshot(
            remaining_tokens=self.remaining, limit_tokens=self.limit, reset_tokens_s=reset
        )
        return accepted, snap, reset


def arrivals(config: FleetConfig) -> list[tuple[float, int, int, int]]:
    """``(time, replica, prompt_tokens, completion_tokens)``, sorted: the same for every mode."""
    rng = random.Random(config.seed)
    minutes = int(config.duration_s // 60) + 1
    bursts = [m * 60 + rng.uniform(0, 60 - config.burst_seconds) for m in range(minutes)]
    base_rate = config.fleet_rate / config.replicas
    peak = base_rate * config.burst_factor
    out = []
    for replica in range(config.replicas):
        t = 0.0
        while True:
            t += rng.expovariate(peak)
            if t >= config.duration_s:
                break
            start = bursts[int(t // 60)]
            rate = peak if start <= t < start + config.burst_seconds else base_rate
            if rng.random() < rate / peak:  # thinning: a Poisson process of rate `rate`
                out.append(
                    (
                        t,
                        replica,
                        rng.randint(*config.prompt_tokens),
                        rng.randint(*config.completion_tokens),
                    )
                )
    out.sort()
    return out


def simulate(
    config: FleetConfig, *, shared: bool, store_factory: StoreFactory | None = None
) -> FleetResult:
    """Run the fleet once; ``store_factory(clock)`` builds a store (default: in memory)."""
    now = 0.0

    def clock() -> float:
        return now

    def make() -> HealthStore:
        if store_factory is not None:
            return store_factory(clock)
        return InMemoryHealthStore(clock=clock)

    if shared:
        one = make()
        stores = [one] * config.replicas
    else:
        stores = [make() for _ in range(config.replicas)]
    provider = _Provider(config.tokens_per_minute)
    result = FleetResult("shared state" if shared else "per-process state")
    queue: list[_Event] = []
    seq = 0
    for at, replica, prompt, completion in arrivals(config):
        queue.append(_Event(at, seq, "arrive", replica, prompt, completion))
        seq += 1
    heapq.heapify(queue)

    def push(event: _Event) -> None:
        nonlocal seq
        event.seq = seq
        seq += 1
        heapq.heappush(queue, event)

    def to_fallback(ev: _Event) -> None:
        result.answered_by_fallback += 1
        stores[ev.replica].admit(FALLBACK)
        push(_Event(now + config.fallback_latency_s, 0, "fallback_done", ev.replica, 0, 0))

    while queue:
        ev = heapq.heappop(queue)
        now = ev.at
        store = stores[ev.replica]
        if ev.kind == "arrive":
            result.requests += 1
            if not store.admit(PRIMARY, estimated_tokens=ev.prompt).allowed:
                result.skipped_primary += 1
                to_fallback(ev)
                continue
            accepted, snap, reset = provider.request(now, ev.prompt + ev.completion)
            if accepted:
                result.answered_by_primary += 1
                result.primary_tokens += ev.prompt + ev.completion
                done = now + config.primary_latency_s
                push(_Event(done, 0, "primary_done", ev.replica, ev.prompt, ev.completion, snap))
            else:
                done = now + config.rejection_latency_s
                push(
                    _Event(
                        done, 0, "primary_429", ev.replica, ev.prompt, ev.completion, snap, reset
                    )
                )
        elif ev.kind == "primary_done":
            store.record_success(
                PRIMARY, ttft=None, latency=config.primary_latency_s, rate_limits=ev.headers
            )
        elif ev.kind == "primary_429":
            result.rate_limited += 1
            result.failovers += 1
            result.wasted_seconds += config.rejection_latency_s
            failure = Failure(
                FailureKind.RATE_LIMITED, 429, min(ev.retry_after or 0.0, 60.0), "429", "sim"
            )
            store.record_failure(PRIMARY, failure, rate_limits=ev.headers)
            to_fallback(ev)
        else:
            store.record_success(FALLBACK, ttft=None, latency=config.fallback_latency_s)
    return result


def compare(config: FleetConfig, store_factory: StoreFactory | None = None) -> dict[str, Any]:
    """Both modes on the same arrivals, and the share of 429s that shared state avoids."""
    alone = simulate(config, shared=False, store_factory=store_factory).summary(config)
    shared = simulate(config, shared=True, store_factory=store_factory).summary(config)
    saved = 1 - shared["rate_limited"] / max(alone["rate_limited"], 1)
    return {"per_process": alone, "shared": shared, "saved_pct": round(100 * saved, 1)}


COLUMNS = [
    "replicas",
    "state",
    "requests",
    "429s",
    "failovers",
    "skipped",
    f"{PRIMARY} share",
    "budget used",
    "wasted s",
]


def _row(replicas: int, state: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "replicas": replicas,
        "state": state,
        "requests": data["requests"],
        "429s": data["rate_limited"],
        "failovers": data["failovers"],
        "skipped": data["skipped_primary"],
        f"{PRIMARY} share": data["primary_share"],
        "budget used": data["primary_budget_used"],
        "wasted s": data["wasted_seconds"],
    }


def run(quick: bool = False, *, tiny: bool = False) -> dict[str, Any]:
    """The same fleet load split over 1, 10 and 50 replicas, per-process vs shared state."""
    if tiny:
        sizes, duration = [1, 5], 120.0
    elif quick:
        sizes, duration = [1, 10, 50], 180.0
    else:
        sizes, duration = [1, 10, 50], 600.0
    base = FleetConfig(duration_s=duration)
    result = BenchmarkResult(
        name="fleet_simulation",
        title="Fleet sharing one per-minute token limit: per-process vs shared (Redis) state",
        columns=COLUMNS,
        params={k: v for k, v in asdict(base).items() if k != "replicas"},
        notes=[
            f"Simulated: {base.fleet_rate:g} requests/s across the fleet, bursts "
            f"x{base.burst_factor:g} for {base.burst_seconds:g} s each minute, "
            f"{base.tokens_per_minute:,} tokens/min on {PRIMARY} (429 + retry-after beyond), "
            f"{FALLBACK} as fallback. 'wasted s': time spent on rejected round trips.",
            "Shared state = one store for the fleet, which RedisHealthStore provides across "
            "processes (same semantics: checked on Redis by test_redis_health.py).",
        ],
    )
    largest: dict[str, Any] = {}
    for replicas in sizes:
        config = replace(base, replicas=replicas)
        largest = compare(config)
        result.rows.append(_row(replicas, "per-process", largest["per_process"]))
        result.rows.append(_row(replicas, "shared (Redis)", largest["shared"]))
    top = sizes[-1]
    alone, shared = largest["per_process"], largest["shared"]
    result.targets = [
        Target(
            f"fleet.{top}.429s_avoided",
            f"429s avoided by shared state, {top} replicas",
            largest["saved_pct"],
            ">=",
            50.0,
            "%",
        ),
        Target(
            f"fleet.{top}.budget_kept",
            f"{PRIMARY} budget used with shared state / per-process, {top} replicas",
            round(shared["primary_budget_used"] / max(alone["primary_budget_used"], 1e-9), 4),
            ">=",
            0.95,
        ),
    ]
    result.charts = [
        Chart(
            title="429s from the rate-limited provider",
            y="429s",
            ylabel="429 responses",
            x=("replicas", "state"),
            group="state",
        )
    ]
    return result.to_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 simulated minutes instead of 10")
    args = parser.parse_args()
    data = run(quick=args.quick)
    print(data["title"])
    print(format_table(data["rows"], data["columns"]))
    for target in data["targets"]:
        print(f"{target['status']}  {target['description']}: {target['measured']}{target['unit']}")
    for note in data["notes"]:
        print(f"note: {note}")


if __name__ == "__main__":
    main()
