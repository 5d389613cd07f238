"""Speed monitoring for chat models: a LangChain callback handler.

`SpeedMonitor` records, per provider and model, time to first token, end-to-end latency,
client-side and server-side tokens per second, availability and errors by kind, and compares
the measured speed with the advertised one. Attach it to any chat model through
``callbacks=[monitor]`` (or ``config={"callbacks": [monitor]}``); routers may also feed it
their own `CallSample` objects through `SpeedMonitor.record`.

Statistics are kept over a rolling window of the last ``window`` calls per (provider, model);
counters (calls, errors, tokens, sums) are cumulative since creation or `SpeedMonitor.reset`,
as Prometheus counters must be.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from langchain_cerebras_router import _run_readers as readers
from langchain_cerebras_router import prometheus
from langchain_cerebras_router._run_readers import ROUTE_METADATA_KEY, UNKNOWN

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage
    from langchain_core.outputs import ChatGenerationChunk, GenerationChunk, LLMResult

__all__ = [
    "ROUTE_METADATA_KEY",
    "UNKNOWN",
    "CallSample",
    "ModelStats",
    "SpeedMonitor",
    "catalogue_advertised_speed",
    "quantile",
]


@dataclass(frozen=True)
class CallSample:
    """One finished chat-model call.

    Times are in seconds of the monitor's clock (`time.perf_counter` by default).

    Example:
        .. code-block:: python

            from langchain_cerebras_router.metrics import CallSample

            sample = CallSample(
                provider="cerebras", model="gpt-oss-120b", started_at=0.0, ttft=0.1,
                latency=0.6, output_tokens=1000, input_tokens=20,
                server_tokens_per_second=2900.0, ok=True, error_kind=None, streamed=True,
            )
            assert sample.client_tokens_per_second == 2000.0
    """

    provider: str
    model: str
    started_at: float
    ttft: float | None
    latency: float
    output_tokens: int | None
    input_tokens: int | None
    server_tokens_per_second: float | None
    ok: bool
    error_kind: str | None
    streamed: bool
    route: str | None = None
    chunks: int = 0
    """Streamed chunks that carried content (text, tool calls or reasoning)."""

    @property
    def client_tokens_per_second(self) -> float | None:
        """Output tokens per second as seen by the client.

        ``output_tokens / (latency - ttft)`` for streams (the generation phase after the
        first token), ``output_tokens / latency`` otherwise; None without a token count or a
        positive duration.
        """
        if not self.output_tokens or self.output_tokens <= 0:
            return None
        duration = self.latency - self.ttft if self.ttft is not None else self.latency
        return self.output_tokens / duration if duration > 0 else None


@dataclass(frozen=True)
class ModelStats:
    """Statistics of one (provider, model) pair.

    ``calls``, ``errors``, ``errors_by_kind``, ``cancelled``, token totals and the ``*_sum`` /
    ``*_count`` fields are cumulative. ``window_calls``, ``availability`` and every quantile
    are computed over the rolling window; quantiles (linear interpolation between closest
    ranks, like ``numpy.quantile``) use successful calls only, TTFT streamed calls only.
    Fields are None when no sample provides them.
    """

    provider: str
    model: str
    calls: int
    errors: int
    errors_by_kind: dict[str, int]
    cancelled: int
    streamed_calls: int
    input_tokens: int
    output_tokens: int
    window_calls: int
    window_errors: int
    availability: float | None
    """Successful calls / calls in the window."""
    ttft_p50: float | None
    ttft_p95: float | None
    ttft_p99: float | None
    latency_p50: float | None
    latency_p95: float | None
    latency_p99: float | None
    client_tokens_per_second_p50: float | None
    server_tokens_per_second_p50: float | None
    advertised_tokens_per_second: float | None
    speed_ratio: float | None
    """Measured (server-side if known, else client-side) p50 tokens/s over advertised."""
    latency_sum: float
    latency_count: int
    ttft_sum: float
    ttft_count: int

    def to_dict(self) -> dict[str, Any]:
        """Return the statistics as a JSON-serialisable dict."""
        return asdict(self)


def catalogue_advertised_speed(provider: str, model: str) -> float | None:
    """Advertised tokens/s of a model from the package's model catalogue, if known."""
    try:
        from langchain_cerebras_router.catalogue import ModelCatalogue
    except ImportError:  # catalogue unavailable: no advertised speed
        return None
    return ModelCatalogue.default().advertised_tokens_per_second(provider, model)


def quantile(sorted_values: Sequence[float], q: float) -> float | None:
    """Quantile ``q`` (0..1) of sorted values by linear interpolation; None when empty."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


@dataclass
class _Run:
    provider: str
    model: str
    started_at: float
    first_token_at: float | None = None
    chunks: int = 0
    tokens_seen: bool = False
    has_child_model_run: bool = False

    def sample(self, now: float, **fields: Any) -> CallSample:
        ttft = None if self.first_token_at is None else self.first_token_at - self.started_at
        base: dict[str, Any] = {
            "provider": self.provider,
            "model": self.model,
            "started_at": self.started_at,
            "ttft": ttft,
            "latency": now - self.started_at,
            "output_tokens": None,
            "input_tokens": None,
            "server_tokens_per_second": None,
            "ok": True,
            "error_kind": None,
            "streamed": self.tokens_seen,
            "chunks": self.chunks,
        }
        return CallSample(**{**base, **fields})


@dataclass
class _Series:
    samples: deque[CallSample]
    calls: int = 0
    errors: int = 0
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    cancelled: int = 0
    streamed_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    latency_sum: float = 0.0
    latency_count: int = 0
    ttft_sum: float = 0.0
    ttft_count: int = 0


class SpeedMonitor(BaseCallbackHandler):
    """Callback handler recording speed, latency and availability per provider and model.

    Works on any chat model (ChatCerebras, ChatGroq, ChatOpenAI, RoutedChatModel). The
    provider and model come from the ``ls_provider`` / ``ls_model_name`` metadata LangChain
    passes at run start; the answering model (``response_metadata["model_name"]``) replaces
    the requested one at the end. Server-side speed comes from
    ``response_metadata["tokens_per_second"]``, Cerebras ``time_info.completion_time`` or
    Groq ``token_usage.completion_time`` (ChatGroq drops the timings of streams, so Groq
    streams have client-side speed only).

    When a chat-model run starts another one (a router calling its routes with the same
    callbacks), only the inner runs are recorded, so a call is not counted twice; pass
    ``record_wrapper_runs=True`` to record the outer run as well.

    Thread-safe; ``run_inline`` keeps async runs on the event loop thread.

    Example:
        .. code-block:: python

            from langchain_core.language_models.fake_chat_models import FakeListChatModel
            from langchain_cerebras_router.metrics import SpeedMonitor

            monitor = SpeedMonitor(window=500)
            model = FakeListChatModel(responses=["Hello!"], callbacks=[monitor])
            model.invoke("Hi")
            (stats,) = monitor.stats()
            assert stats.calls == 1 and stats.availability == 1.0
            print(monitor.to_prometheus())
    """

    run_inline = True

    def __init__(
        self,
        *,
        window: int = 1000,
        advertised: Callable[[str, str], float | None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
        max_in_flight: int = 10_000,
        max_run_age: float | None = 600.0,
        record_wrapper_runs: bool = False,
    ) -> None:
        """Create a monitor.

        Args:
            window: Calls kept per (provider, model) for quantiles and availability.
            advertised: ``(provider, model) -> tokens/s or None``; defaults to
                `catalogue_advertised_speed`.
            clock: Monotonic clock in seconds.
            max_in_flight: Cap on runs that started but have not ended; beyond it the oldest
                are forgotten (runs that never end, e.g. abandoned, must not leak memory).
            max_run_age: Seconds after which a run that has not ended is forgotten: a call
                cancelled mid-way (``asyncio.wait_for``, a client gone) gets no end event
                from LangChain, and must not count as in flight for good. ``None``: never.
            record_wrapper_runs: Also record chat-model runs that started other chat-model
                runs.
        """
        if window < 1:
            msg = f"window must be >= 1, got {window}"
            raise ValueError(msg)
        if max_in_flight < 1:
            msg = f"max_in_flight must be >= 1, got {max_in_flight}"
            raise ValueError(msg)
        self.window = window
        self.max_in_flight = max_in_flight
        self.max_run_age = max_run_age
        self.record_wrapper_runs = record_wrapper_runs
        self._advertised = advertised or catalogue_advertised_speed
        self._clock = clock
        self._lock = threading.Lock()
        self._runs: OrderedDict[UUID, _Run] = OrderedDict()
        self._series: dict[tuple[str, str], _Series] = {}
        #: Attempts recorded by `record_attempt`, aggregated when the monitor is read.
        self._pending: deque[tuple[Any, ...]] = deque()
        self._evicted_runs = 0

    # -- LangChain callbacks ------------------------------------------------------------

    @property
    def ignore_chain(self) -> bool:
        """Chain events are not needed."""
        return True

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Start timing a chat-model run."""
        self._start(run_id, parent_run_id, metadata, kwargs.get("invocation_params"))

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Start timing a text-completion run."""
        self._start(run_id, parent_run_id, metadata, kwargs.get("invocation_params"))

    def on_llm_new_token(
        self,
        token: str | list[str | dict[str, Any]],
        *,
        chunk: GenerationChunk | ChatGenerationChunk | None = None,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Note the first content chunk (time to first token) and count content chunks."""
        now = self._clock()
        has_content = readers.chunk_has_content(token, chunk)
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                return
            run.tokens_seen = True
            if has_content:
                run.chunks += 1
                if run.first_token_at is None:
                    run.first_token_at = now

    def on_llm_end(
        self,
        response: LLMResult,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Record a successful run."""
        now = self._clock()
        run = self._finish(run_id)
        if run is None:
            return
        answer = readers.read_answer(response, run.provider, run.model)
        self.record(
            run.sample(
                now,
                provider=answer.provider,
                model=answer.model,
                output_tokens=answer.output_tokens,
                input_tokens=answer.input_tokens,
                server_tokens_per_second=answer.server_tokens_per_second,
                route=answer.route,
            )
        )

    def on_llm_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Record a failed run; cancellations are counted apart and do not hurt availability."""
        now = self._clock()
        run = self._finish(run_id)
        if run is None:
            return
        if isinstance(error, readers.CANCELLATIONS):
            with self._lock:
                self._series_for(run.provider, run.model).cancelled += 1
            return
        self.record(run.sample(now, ok=False, error_kind=readers.error_kind(error)))

    # -- recording and reading ----------------------------------------------------------

    def record(self, sample: CallSample) -> None:
        """Add one finished call."""
        with self._lock:
            self._drain_pending()
            self._add(sample)

    def record_attempt(self, *fields: Any) -> None:
        """Add one finished call from `CallSample`'s fields, in their order (routers).

        The sample is built and aggregated when the monitor is next read (or once
        ``window`` attempts are pending), not on the calling path.
        """
        self._pending.append(fields)
        if len(self._pending) > self.window:
            with self._lock:
                self._drain_pending()

    def _drain_pending(self) -> None:
        """Aggregate the attempts recorded by `record_attempt` (the lock is held)."""
        pending = self._pending
        while pending:
            self._add(CallSample(*pending.popleft()))

    def _add(self, sample: CallSample) -> None:
        series = self._series_for(sample.provider, sample.model)
        series.samples.append(sample)
        series.calls += 1
        series.streamed_calls += sample.streamed
        series.input_tokens += sample.input_tokens or 0
        series.output_tokens += sample.output_tokens or 0
        if not sample.ok:
            series.errors += 1
            kind = sample.error_kind or UNKNOWN
            series.errors_by_kind[kind] = series.errors_by_kind.get(kind, 0) + 1
            return
        series.latency_sum += sample.latency
        series.latency_count += 1
        if sample.ttft is not None:
            series.ttft_sum += sample.ttft
            series.ttft_count += 1

    def stats(self, provider: str | None = None, model: str | None = None) -> list[ModelStats]:
        """Statistics per (provider, model), sorted, optionally filtered by either."""
        with self._lock:
            self._drain_pending()
            snapshot = [
                (key, tuple(series.samples), _counters(series))
                for key, series in sorted(self._series.items())
                if (provider is None or key[0] == provider) and (model is None or key[1] == model)
            ]
        return [self._summarise(key, samples, counters) for key, samples, counters in snapshot]

    @property
    def in_flight_runs(self) -> int:
        """Runs that started and have not ended yet."""
        with self._lock:
            return len(self._runs)

    @property
    def evicted_runs(self) -> int:
        """Runs forgotten: more than ``max_in_flight`` in flight, or older than ``max_run_age``."""
        with self._lock:
            return self._evicted_runs

    def to_dict(self) -> dict[str, Any]:
        """Export everything as a JSON-serialisable dict."""
        return {
            "window": self.window,
            "in_flight_runs": self.in_flight_runs,
            "evicted_runs": self.evicted_runs,
            "models": [stats.to_dict() for stats in self.stats()],
        }

    def to_json(self, **kwargs: Any) -> str:
        """Export `to_dict` as JSON; keyword arguments go to `json.dumps`."""
        return json.dumps(self.to_dict(), **kwargs)

    def to_prometheus(self) -> str:
        """Render the metrics in the Prometheus text exposition format (version 0.0.4)."""
        return prometheus.render_text(prometheus.metric_families(self))

    def register_prometheus(self, registry: Any = None) -> Any:
        """Expose the metrics through ``prometheus_client`` (extra ``[prometheus]``).

        Args:
            registry: A ``prometheus_client.CollectorRegistry``; the global ``REGISTRY`` by
                default.

        Returns:
            The registered collector (pass it to ``registry.unregister`` to stop).

        Raises:
            ImportError: ``prometheus_client`` is not installed.
        """
        return prometheus.register(self, registry)

    def reset(self) -> None:
        """Forget recorded calls and counters (runs in flight are still recorded when done)."""
        with self._lock:
            self._pending.clear()
            self._series.clear()
            self._evicted_runs = 0

    # -- internals ----------------------------------------------------------------------

    def _start(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        metadata: Mapping[str, Any] | None,
        invocation_params: Any,
    ) -> None:
        provider, model = readers.requested(metadata or {}, invocation_params)
        now = self._clock()
        with self._lock:
            if parent_run_id is not None and (parent := self._runs.get(parent_run_id)):
                parent.has_child_model_run = True
            runs = self._runs
            if self.max_run_age is not None:  # oldest first: runs are kept in start order
                oldest_kept = now - self.max_run_age
                while runs and next(iter(runs.values())).started_at < oldest_kept:
                    runs.popitem(last=False)
                    self._evicted_runs += 1
            runs[run_id] = _Run(provider=provider, model=model, started_at=now)
            while len(runs) > self.max_in_flight:
                runs.popitem(last=False)
                self._evicted_runs += 1

    def _finish(self, run_id: UUID) -> _Run | None:
        with self._lock:
            run = self._runs.pop(run_id, None)
        if run is None or (run.has_child_model_run and not self.record_wrapper_runs):
            return None
        return run

    def _series_for(self, provider: str, model: str) -> _Series:
        series = self._series.get((provider, model))
        if series is None:
            series = _Series(samples=deque(maxlen=self.window))
            self._series[provider, model] = series
        return series

    def _summarise(
        self, key: tuple[str, str], samples: Sequence[CallSample], counters: dict[str, Any]
    ) -> ModelStats:
        provider, model = key
        ok = [s for s in samples if s.ok]
        latencies = sorted(s.latency for s in ok)
        ttfts = sorted(s.ttft for s in ok if s.ttft is not None)
        client = sorted(v for s in ok if (v := s.client_tokens_per_second) is not None)
        server = sorted(
            s.server_tokens_per_second for s in ok if s.server_tokens_per_second is not None
        )
        client_p50, server_p50 = quantile(client, 0.5), quantile(server, 0.5)
        advertised = self._advertised(provider, model)
        measured = server_p50 if server_p50 is not None else client_p50
        return ModelStats(
            provider=provider,
            model=model,
            window_calls=len(samples),
            window_errors=len(samples) - len(ok),
            availability=len(ok) / len(samples) if samples else None,
            ttft_p50=quantile(ttfts, 0.5),
            ttft_p95=quantile(ttfts, 0.95),
            ttft_p99=quantile(ttfts, 0.99),
            latency_p50=quantile(latencies, 0.5),
            latency_p95=quantile(latencies, 0.95),
            latency_p99=quantile(latencies, 0.99),
            client_tokens_per_second_p50=client_p50,
            server_tokens_per_second_p50=server_p50,
            advertised_tokens_per_second=advertised,
            speed_ratio=measured / advertised if measured is not None and advertised else None,
            **counters,
        )


def _counters(series: _Series) -> dict[str, Any]:
    counters = {f.name: getattr(series, f.name) for f in fields(series) if f.name != "samples"}
    counters["errors_by_kind"] = dict(series.errors_by_kind)
    return counters
