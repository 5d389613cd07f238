"""Route health shared by every process of a deployment, on Redis.

`RedisHealthStore` implements `HealthStore` with the semantics of `InMemoryHealthStore`
(circuit breaker, half-open probe, ``retry-after``, rate-limit budgets, TTFT and latency
quantiles), but keeps the state in Redis, so that the replicas and workers of an app see one
state: failures seen by one process open the breaker for all, exactly one process probes a
half-open route, and the rate-limit headers seen by one process make every process route
away before the organisation's budget is spent.

Each state change is one Lua script (``EVALSHA``, cached with ``register_script``) on the
route's keys, which are namespaced (``{namespace}:route:{<route>}:...``) and expire on
their own (see `langchain_cerebras_router._redis_scripts`).

Redis is never a single point of failure: every call has a short socket timeout (50 ms by
default). On any Redis error the store logs one warning, serves the call from an in-process
`InMemoryHealthStore`, and tries Redis again only after ``reconnect_after`` seconds. That
fallback store also receives every outcome while Redis is up, so an outage starts from what
this process has seen rather than from nothing. No call raises because of Redis.

Install the extra: ``pip install 'langchain-cerebras-router[redis]'``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

from langchain_cerebras_router import _redis_scripts as lua
from langchain_cerebras_router._redis_scripts import admission, check_quantile, snapshot, text
from langchain_cerebras_router.failures import Failure
from langchain_cerebras_router.health import (
    Admission,
    BreakerConfig,
    Clock,
    HealthStore,
    InMemoryHealthStore,
    RateLimitSnapshot,
    RouteHealthSnapshot,
    _quantile,
)
from langchain_cerebras_router.http_clients import PerLoopCache
from langchain_cerebras_router.redaction import redact_secrets, redact_url

if TYPE_CHECKING:
    import redis
    import redis.asyncio

__all__ = [
    "DEFAULT_REDIS_URL",
    "STATE_URL_ENV",
    "RedisHealthStore",
    "health_store_from",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_REDIS_URL = "redis://localhost:6379/0"
STATE_URL_ENV = "LANGCHAIN_ROUTER_STATE_URL"
"""Environment variable read by `health_store_from` when no state is given."""

_REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})
_MEMORY_STATES = frozenset({"memory", "memory://", "in-memory", "inmemory"})


def _import_redis() -> Any:
    try:
        import redis
        import redis.asyncio
    except ImportError as exc:
        msg = (
            "RedisHealthStore needs the `redis` package. Install the extra: "
            "pip install 'langchain-cerebras-router[redis]'"
        )
        raise ImportError(msg) from exc
    return redis


def _split_namespace(url: str) -> tuple[str, str | None]:
    """Remove a ``namespace`` query parameter (not a Redis option) from ``url``."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    namespace = next((v for k, v in query if k == "namespace"), None)
    if namespace is None:
        return url, None
    rest = urlencode([(k, v) for k, v in query if k != "namespace"])
    base = url.split("?", 1)[0].split("#", 1)[0]
    # Not urlunsplit: it drops the "//" of a netloc-less "unix:///path/to/redis.sock".
    return (f"{base}?{rest}" if rest else base), namespace or None


def _opt(value: float | int | None) -> str:
    return "" if value is None else repr(value)


@dataclass(frozen=True, slots=True)
class _Keys:
    state: str
    ttft: str
    latency: str


@dataclass(frozen=True, slots=True)
class _Scripts:
    admit: Any
    record_success: Any
    record_failure: Any
    release_probe: Any
    snapshot: Any

    @classmethod
    def register(cls, client: Any) -> _Scripts:
        return cls(
            admit=client.register_script(lua.ADMIT),
            record_success=client.register_script(lua.RECORD_SUCCESS),
            record_failure=client.register_script(lua.RECORD_FAILURE),
            release_probe=client.register_script(lua.RELEASE_PROBE),
            snapshot=client.register_script(lua.SNAPSHOT),
        )


class RedisHealthStore(HealthStore):
    """A `HealthStore` on Redis, shared by every process that uses the same namespace.

    Semantics are those of `InMemoryHealthStore`; each mutation is one atomic Lua script.
    When Redis fails or is slower than ``timeout``, calls are served by an in-process
    fallback store until Redis answers again (one warning per outage, never an exception).

    Args:
        url: Redis URL (``redis://``, ``rediss://`` or ``unix://``). A ``namespace`` query
            parameter is accepted, e.g. ``redis://redis:6379/0?namespace=tilores-prod``.
        namespace: Key prefix isolating one deployment's state (default: the URL's
            ``namespace`` parameter, else ``"lcr"``). Replicas that share a provider account
            should share a namespace.
        config: Breaker settings (must be the same in every process of a namespace).
        clock: Wall-clock seconds shared by all processes (``time.time``); keep the hosts'
            clocks in sync (NTP). Tests inject a fake.
        timeout: Socket connect and read timeout of each Redis call, in seconds.
        reconnect_after: Seconds on the fallback store before Redis is tried again.
        key_ttl: Seconds a route's keys outlive their last change (and pending deadlines).
        client: A ready ``redis.Redis`` to use instead of one built from ``url`` (give it a
            short ``socket_timeout`` and no retries yourself).
        async_client: A ready ``redis.asyncio.Redis`` for the async methods, bound to one
            event loop. By default one client is built per event loop from ``url``.

    Example:
        .. code-block:: python

            from langchain_cerebras_router import RoutedChatModel
            from langchain_cerebras_router.redis_health import RedisHealthStore

            store = RedisHealthStore("redis://localhost:6379/0", namespace="my-app")
            router = RoutedChatModel(model="llama-3.3-70b-versatile", health=store)
    """

    def __init__(
        self,
        url: str = DEFAULT_REDIS_URL,
        *,
        namespace: str | None = None,
        config: BreakerConfig | None = None,
        clock: Clock = time.time,
        timeout: float = 0.05,
        reconnect_after: float = 5.0,
        key_ttl: float = 3600.0,
        client: redis.Redis | None = None,
        async_client: redis.asyncio.Redis | None = None,
    ) -> None:
        _import_redis()
        url, url_namespace = _split_namespace(url)
        namespace = namespace or url_namespace or "lcr"
        problems = [
            name
            for name, ok in (
                ("timeout", timeout > 0),
                ("reconnect_after", reconnect_after >= 0),
                ("key_ttl", key_ttl >= 0.001),
            )
            if not ok
        ]
        if problems:
            msg = f"invalid RedisHealthStore value(s): {', '.join(problems)}"
            raise ValueError(msg)
        self.config = config if config is not None else BreakerConfig()
        self.namespace = namespace
        self.timeout = timeout
        self.reconnect_after = reconnect_after
        self.key_ttl = key_ttl
        self._url = url
        self._clock = clock
        self._ttl_ms = round(key_ttl * 1000)
        self._fallback = InMemoryHealthStore(self.config, clock=clock)
        self._keys_cache: dict[str, _Keys] = {}
        self._owns_client = client is None
        self._client = client if client is not None else self._build_client(asynchronous=False)
        self._scripts = _Scripts.register(self._client)
        self._given_async = async_client
        self._given_async_scripts = (
            _Scripts.register(async_client) if async_client is not None else None
        )
        self._async: PerLoopCache[tuple[Any, _Scripts]] = PerLoopCache()
        self._state_lock = threading.Lock()
        self._down = False
        self._retry_at = 0.0
        self._monotonic: Callable[[], float] = time.monotonic

    @classmethod
    def from_url(cls, url: str = DEFAULT_REDIS_URL, **kwargs: Any) -> RedisHealthStore:
        """Build a store from a Redis URL (same keyword arguments as the constructor)."""
        return cls(url, **kwargs)

    def __deepcopy__(self, memo: dict[int, Any]) -> RedisHealthStore:
        # The state is shared by design: a copied router keeps using the same fleet state
        # (and connection pool), as a new router on the same URL would.
        return self

    def __repr__(self) -> str:
        return f"RedisHealthStore(url={redact_url(self._url)!r}, namespace={self.namespace!r})"

    @property
    def fallback(self) -> InMemoryHealthStore:
        """The in-process store that serves calls while Redis is unavailable."""
        return self._fallback

    @property
    def using_fallback(self) -> bool:
        """Whether the last Redis call failed (calls are served in process until it is back)."""
        return self._down

    def _build_client(self, *, asynchronous: bool) -> Any:
        """A client with the store's timeouts and no retries (failing fast is the point)."""
        import redis.asyncio.retry
        import redis.backoff
        import redis.retry

        if asynchronous:
            factory: Any = redis.asyncio.Redis
            retry: Any = redis.asyncio.retry.Retry(redis.backoff.NoBackoff(), 0)
        else:
            factory = redis.Redis
            retry = redis.retry.Retry(redis.backoff.NoBackoff(), 0)
        return factory.from_url(
            self._url,
            socket_timeout=self.timeout,
            socket_connect_timeout=self.timeout,
            retry=retry,
            decode_responses=True,
        )

    def _keys(self, route: str) -> _Keys:
        keys = self._keys_cache.get(route)
        if keys is None:
            tag = route.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")
            base = f"{self.namespace}:route:{{{tag}}}"
            keys = self._keys_cache[route] = _Keys(
                f"{base}:state", f"{base}:ttft", f"{base}:latency"
            )
        return keys

    # ------------------------------------------------------------------ availability

    def _skip_redis(self) -> bool:
        return self._down and self._monotonic() < self._retry_at

    def _went_down(self, exc: Exception) -> None:
        with self._state_lock:
            self._retry_at = self._monotonic() + self.reconnect_after
            if self._down:
                logger.debug("RedisHealthStore: Redis still unavailable: %s", type(exc).__name__)
                return
            self._down = True
        redis_mod = _import_redis()
        expected = isinstance(exc, (redis_mod.RedisError, OSError, TimeoutError))
        logger.warning(
            "RedisHealthStore: Redis at %s is unavailable (%s: %s); route health continues "
            "in process memory, Redis is retried every %.3g s.",
            redact_url(self._url),
            type(exc).__name__,
            redact_secrets(str(exc)),
            self.reconnect_after,
            exc_info=not expected,
        )

    def _came_up(self) -> None:
        if not self._down:
            return
        with self._state_lock:
            if not self._down:
                return
            self._down = False
        logger.info(
            "RedisHealthStore: Redis at %s is back; health is shared again.", redact_url(self._url)
        )

    def _run(self, call: Callable[[], T], fallback: Callable[[], T]) -> T:
        if self._skip_redis():
            return fallback()
        try:
            result = call()
        except Exception as exc:
            self._went_down(exc)
            return fallback()
        self._came_up()
        return result

    async def _arun(self, call: Callable[[], Awaitable[T]], fallback: Callable[[], T]) -> T:
        if self._skip_redis():
            return fallback()
        try:
            result = await call()
        except Exception as exc:
            self._went_down(exc)
            return fallback()
        self._came_up()
        return result

    def _ascripts(self) -> tuple[Any, _Scripts]:
        """The async client and scripts of the running event loop (built on first use).

        ``redis.asyncio`` connections belong to the loop that opened them, so each loop gets
        its own client; those of finished loops are dropped when a new loop shows up
        (:class:`~langchain_cerebras_router.http_clients.PerLoopCache`).
        """
        if self._given_async is not None and self._given_async_scripts is not None:
            return self._given_async, self._given_async_scripts
        loop = asyncio.get_running_loop()
        pair = self._async.get(loop)
        if pair is None:
            client = self._build_client(asynchronous=True)
            pair = self._async.set(loop, (client, _Scripts.register(client)))
        return pair

    # ------------------------------------------------------------------ script arguments

    def _admit_args(self, estimated_tokens: int | None) -> list[str]:
        cfg = self.config
        return [
            repr(float(self._clock())),
            _opt(estimated_tokens),
            str(cfg.half_open_max_probes),
            repr(cfg.probe_timeout_seconds),
            str(self._ttl_ms),
        ]

    def _rate_args(self, snap: RateLimitSnapshot | None) -> list[str]:
        if snap is None:
            return ["0", "", "", "", "", "", "", repr(self.config.default_reset_seconds)]
        return [
            "1",
            _opt(snap.remaining_requests),
            _opt(snap.limit_requests),
            _opt(snap.reset_requests_s),
            _opt(snap.remaining_tokens),
            _opt(snap.limit_tokens),
            _opt(snap.reset_tokens_s),
            repr(self.config.default_reset_seconds),
        ]

    def _success_args(
        self, ttft: float | None, latency: float, snap: RateLimitSnapshot | None
    ) -> list[str]:
        head = [
            repr(float(self._clock())),
            _opt(None if ttft is None else float(ttft)),
            repr(float(latency)),
            str(self.config.window_size),
            str(self._ttl_ms),
        ]
        return head + self._rate_args(snap)

    def _failure_args(
        self, failure: Failure, snap: RateLimitSnapshot | None, probe: bool | None
    ) -> list[str]:
        cfg = self.config
        status = f" ({failure.status_code})" if failure.status_code is not None else ""
        head = [
            repr(float(self._clock())),
            failure.kind.value,
            "1" if failure.counts_toward_breaker else "0",
            "1" if failure.disables_route else "0",
            f"authentication failed{status}",
            _opt(failure.retry_after),
            json.dumps(failure.to_dict()),
            str(cfg.failure_threshold),
            repr(cfg.open_seconds),
            repr(cfg.open_backoff),
            repr(cfg.max_open_seconds),
            str(self._ttl_ms),
        ]
        return [*head, *self._rate_args(snap), "" if probe is None else "1" if probe else "0"]

    # ------------------------------------------------------------------ sync interface

    def admit(self, route: str, *, estimated_tokens: int | None = None) -> Admission:
        """See `HealthStore.admit`: one script claims the probe slot for one process only."""
        keys = [self._keys(route).state]

        def call() -> Admission:
            raw = self._scripts.admit(keys=keys, args=self._admit_args(estimated_tokens))
            return admission(raw, estimated_tokens)

        return self._run(
            call, lambda: self._fallback.admit(route, estimated_tokens=estimated_tokens)
        )

    def record_success(
        self,
        route: str,
        *,
        ttft: float | None,
        latency: float,
        rate_limits: RateLimitSnapshot | None = None,
    ) -> None:
        """See `HealthStore.record_success`."""
        self._fallback.record_success(route, ttft=ttft, latency=latency, rate_limits=rate_limits)
        k = self._keys(route)
        args = self._success_args(ttft, latency, rate_limits)
        self._run(
            lambda: self._scripts.record_success(keys=[k.state, k.ttft, k.latency], args=args),
            lambda: None,
        )

    def record_failure(
        self,
        route: str,
        failure: Failure,
        *,
        rate_limits: RateLimitSnapshot | None = None,
        probe: bool | None = None,
    ) -> None:
        """See `HealthStore.record_failure`."""
        self._fallback.record_failure(route, failure, rate_limits=rate_limits, probe=probe)
        keys = [self._keys(route).state]
        args = self._failure_args(failure, rate_limits, probe)
        self._run(lambda: self._scripts.record_failure(keys=keys, args=args), lambda: None)

    def release_probe(self, route: str) -> None:
        """See `HealthStore.release_probe`."""
        self._fallback.release_probe(route)
        keys = [self._keys(route).state]
        args = [repr(float(self._clock())), str(self._ttl_ms)]
        self._run(lambda: self._scripts.release_probe(keys=keys, args=args), lambda: None)

    def ttft_quantile(self, route: str, q: float) -> float | None:
        """See `HealthStore.ttft_quantile` (samples of every process)."""
        check_quantile(q)
        key = self._keys(route).ttft
        return self._run(
            lambda: _quantile(self._samples(self._client.lrange(key, 0, -1)), q),
            lambda: self._fallback.ttft_quantile(route, q),
        )

    def latency_quantile(self, route: str, q: float) -> float | None:
        """See `HealthStore.latency_quantile` (samples of every process)."""
        check_quantile(q)
        key = self._keys(route).latency
        return self._run(
            lambda: _quantile(self._samples(self._client.lrange(key, 0, -1)), q),
            lambda: self._fallback.latency_quantile(route, q),
        )

    def snapshot(self, route: str) -> RouteHealthSnapshot:
        """See `HealthStore.snapshot` (the shared state, or the fallback's while Redis is down)."""
        k = self._keys(route)

        def call() -> RouteHealthSnapshot:
            raw = self._scripts.snapshot(keys=[k.state, k.ttft, k.latency])
            return snapshot(route, raw, float(self._clock()))

        return self._run(call, lambda: self._fallback.snapshot(route))

    def reset(self, route: str | None = None) -> None:
        """See `HealthStore.reset`: clears the shared state (every process) and the fallback."""
        self._fallback.reset(route)
        self._run(lambda: self._reset_sync(route), lambda: None)

    def _reset_sync(self, route: str | None) -> None:
        if route is not None:
            k = self._keys(route)
            self._client.delete(k.state, k.ttft, k.latency)
            return
        batch: list[str] = []
        for key in self._client.scan_iter(match=self._all_keys_pattern(), count=500):
            batch.append(text(key))
            if len(batch) >= 500:
                self._client.delete(*batch)
                batch.clear()
        if batch:
            self._client.delete(*batch)

    def _all_keys_pattern(self) -> str:
        escaped = "".join(f"\\{c}" if c in "*?[]\\" else c for c in self.namespace)
        return f"{escaped}:route:*"

    @staticmethod
    def _samples(raw: Sequence[Any]) -> list[float]:
        return [float(text(v)) for v in raw]

    def close(self) -> None:
        """Close the sync connection pool built by this store (a given client is left open)."""
        if self._owns_client:
            self._client.close()

    # ------------------------------------------------------------------ async interface

    async def aadmit(self, route: str, *, estimated_tokens: int | None = None) -> Admission:
        """Async `admit` on ``redis.asyncio``."""
        keys = [self._keys(route).state]

        async def call() -> Admission:
            _, scripts = self._ascripts()
            raw = await scripts.admit(keys=keys, args=self._admit_args(estimated_tokens))
            return admission(raw, estimated_tokens)

        return await self._arun(
            call, lambda: self._fallback.admit(route, estimated_tokens=estimated_tokens)
        )

    async def arecord_success(
        self,
        route: str,
        *,
        ttft: float | None,
        latency: float,
        rate_limits: RateLimitSnapshot | None = None,
    ) -> None:
        """Async `record_success` on ``redis.asyncio``."""
        self._fallback.record_success(route, ttft=ttft, latency=latency, rate_limits=rate_limits)
        k = self._keys(route)
        args = self._success_args(ttft, latency, rate_limits)

        async def call() -> None:
            _, scripts = self._ascripts()
            await scripts.record_success(keys=[k.state, k.ttft, k.latency], args=args)

        await self._arun(call, lambda: None)

    async def arecord_failure(
        self,
        route: str,
        failure: Failure,
        *,
        rate_limits: RateLimitSnapshot | None = None,
        probe: bool | None = None,
    ) -> None:
        """Async `record_failure` on ``redis.asyncio``."""
        self._fallback.record_failure(route, failure, rate_limits=rate_limits, probe=probe)
        keys = [self._keys(route).state]
        args = self._failure_args(failure, rate_limits, probe)

        async def call() -> None:
            _, scripts = self._ascripts()
            await scripts.record_failure(keys=keys, args=args)

        await self._arun(call, lambda: None)

    async def arelease_probe(self, route: str) -> None:
        """Async `release_probe` on ``redis.asyncio``."""
        self._fallback.release_probe(route)
        keys = [self._keys(route).state]
        args = [repr(float(self._clock())), str(self._ttl_ms)]

        async def call() -> None:
            _, scripts = self._ascripts()
            await scripts.release_probe(keys=keys, args=args)

        await self._arun(call, lambda: None)

    async def _aquantile(
        self, key: str, q: float, fallback: Callable[[], float | None]
    ) -> float | None:
        check_quantile(q)

        async def call() -> float | None:
            client, _ = self._ascripts()
            return _quantile(self._samples(await client.lrange(key, 0, -1)), q)

        return await self._arun(call, fallback)

    async def attft_quantile(self, route: str, q: float) -> float | None:
        """Async `ttft_quantile` on ``redis.asyncio``."""
        return await self._aquantile(
            self._keys(route).ttft, q, lambda: self._fallback.ttft_quantile(route, q)
        )

    async def alatency_quantile(self, route: str, q: float) -> float | None:
        """Async `latency_quantile` on ``redis.asyncio``."""
        return await self._aquantile(
            self._keys(route).latency, q, lambda: self._fallback.latency_quantile(route, q)
        )

    async def asnapshot(self, route: str) -> RouteHealthSnapshot:
        """Async `snapshot` on ``redis.asyncio``."""
        k = self._keys(route)

        async def call() -> RouteHealthSnapshot:
            _, scripts = self._ascripts()
            raw = await scripts.snapshot(keys=[k.state, k.ttft, k.latency])
            return snapshot(route, raw, float(self._clock()))

        return await self._arun(call, lambda: self._fallback.snapshot(route))

    async def areset(self, route: str | None = None) -> None:
        """Async `reset` on ``redis.asyncio``."""
        self._fallback.reset(route)

        async def call() -> None:
            client, _ = self._ascripts()
            if route is not None:
                k = self._keys(route)
                await client.delete(k.state, k.ttft, k.latency)
                return
            keys = [text(key) async for key in client.scan_iter(match=self._all_keys_pattern())]
            for start in range(0, len(keys), 500):
                await client.delete(*keys[start : start + 500])

        await self._arun(call, lambda: None)

    async def aclose(self) -> None:
        """Close the async client of the running event loop and the sync pool of this store."""
        loop = asyncio.get_running_loop()
        pair = self._async.pop(loop)
        if pair is not None:
            await pair[0].aclose()
        self.close()


# --------------------------------------------------------------------------- configuration

_shared: dict[str, RedisHealthStore] = {}
_shared_lock = threading.Lock()


def health_store_from(state: str | HealthStore | None = None) -> HealthStore:
    """The health store a router should use, from its ``state`` setting.

    * a `HealthStore`: used as is;
    * ``None``: the ``LANGCHAIN_ROUTER_STATE_URL`` environment variable if set, else a new
      `InMemoryHealthStore`;
    * ``"memory"``: a new `InMemoryHealthStore` (state of this router only);
    * a ``redis://``, ``rediss://`` or ``unix://`` URL: a `RedisHealthStore`, one per URL
      and process (routers naming the same URL share its connections and fallback).

    No network I/O happens here: the store connects on its first call.

    Args:
        state: The setting, as above.

    Returns:
        The store.

    Raises:
        ValueError: For any other string.
        ImportError: For a Redis URL without the ``redis`` extra installed.

    Example:
        .. code-block:: python

            store = health_store_from("redis://localhost:6379/0?namespace=my-app")
    """
    if isinstance(state, HealthStore):
        return state
    if state is None:
        state = os.environ.get(STATE_URL_ENV, "").strip() or None
        if state is None:
            return InMemoryHealthStore()
    if not isinstance(state, str):
        msg = f"state must be a URL, 'memory' or a HealthStore; got {type(state).__name__}"
        raise TypeError(msg)
    text = state.strip()
    if text.lower() in _MEMORY_STATES:
        return InMemoryHealthStore()
    scheme = text.partition("://")[0].lower() if "://" in text else ""
    if scheme not in _REDIS_SCHEMES:
        msg = (
            f"unsupported router state {redact_url(text)!r}: use 'memory' or a "
            "redis://, rediss:// or unix:// URL"
        )
        raise ValueError(msg)
    with _shared_lock:
        store = _shared.get(text)
        if store is None:
            store = _shared[text] = RedisHealthStore(text)
        return store
