"""``RoutedChatModel``: priority routing over chat models with millisecond failover."""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, Literal

import httpx
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LangSmithParams, LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.base import OutputParserLike
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import ConfigDict, Field, PrivateAttr, field_validator, model_validator
from typing_extensions import Self

from langchain_cerebras_router.attempt_tracing import AttemptTracer
from langchain_cerebras_router.catalogue import ModelCatalogue
from langchain_cerebras_router.errors import check_aliases_given_once
from langchain_cerebras_router.failover import CallPlan, Route, estimate_tokens
from langchain_cerebras_router.health import HealthStore
from langchain_cerebras_router.lean_streaming import LeanStreamingChatModel
from langchain_cerebras_router.message_conversion import check_history
from langchain_cerebras_router.metrics import SpeedMonitor
from langchain_cerebras_router.policy import (
    PriorityPolicy,
    RouteInfo,
    RoutingPolicy,
    normalize_priority,
    priority_from_env,
)
from langchain_cerebras_router.ratelimits import RateLimitSampler
from langchain_cerebras_router.redis_health import health_store_from
from langchain_cerebras_router.route_execution import (
    TIMEOUT_AWARE_PROVIDERS,
    CallContext,
    arun_invoke,
    run_invoke,
)
from langchain_cerebras_router.route_factory import (
    SEED_GROQ_FALLBACK_MODEL,
    SEED_OPENAI_MODEL,
    StructuredOutputRequest,
    ToolsRequest,
    accepted_kwargs,
    default_routes,
    member_kwargs_for,
    model_name_of,
    provider_of,
    tool_calls_unasked,
    with_sdk_retries,
)
from langchain_cerebras_router.stream_execution import (
    areporting_tokens,
    arun_stream,
    reporting_tokens,
    run_stream,
)
from langchain_cerebras_router.structured_output import tool_call_parser, with_parser
from langchain_cerebras_router.tool_calling import ToolLike, format_tools, normalize_tool_choice

__all__ = ["RoutedChatModel"]

logger = logging.getLogger("langchain_cerebras_router.routing")

#: Drop-in constructor kwargs that configure a provider's client (never sent per call).
_CLIENT_KWARGS: dict[str, tuple[str, str]] = {
    "api_key": ("groq", "api_key"),
    "groq_api_key": ("groq", "api_key"),
    "base_url": ("groq", "base_url"),
    "groq_api_base": ("groq", "base_url"),
    "cerebras_api_key": ("cerebras", "api_key"),
    "cerebras_api_base": ("cerebras", "base_url"),
    "openai_api_key": ("openai", "api_key"),
}

#: Set by ``invoke``/``ainvoke`` for the duration of the call, read (once) by the call's
#: routing: when the caller's call began, so the hedge delay includes LangChain's set-up.
_CALL_STARTED: ContextVar[float | None] = ContextVar(
    "langchain_cerebras_router_call_started", default=None
)

#: Members whose answers do not carry their rate-limit headers: the router reads them
#: from the HTTP responses of the clients it gives the member.
_HEADER_OBSERVED_PROVIDERS = frozenset({"groq", "openai"})
_TOOLS_KEY = "routed_tools"
_STRUCTURED_KEY = "routed_structured_output"


class RoutedChatModel(LeanStreamingChatModel):
    """A chat model that routes each call to Cerebras, Groq, OpenAI or any chat model.

    Routes are tried in the order the policy gives for the call's ``priority``
    (``ultimate_speed``: Cerebras first; ``speed`` and ``balanced``: Groq first;
    ``quality``: OpenAI first). A rate limit, 5xx, 498, timeout, connection error or
    in-stream error moves the call to the next route at once: member SDK retries are
    off, the router retries instead. Bad requests (400, context length) are raised as
    they are. Streams fail over until their first content, reasoning or tool-call chunk; after it
    a failure raises :class:`~langchain_cerebras_router.failover.PartialStreamError`.
    Each route has a circuit breaker and rate-limit budget (``health``); delayed
    hedging is opt-in (``hedge_after``). ``response_metadata["routing"]`` explains
    every answer.

    Drop-in: ``RoutedChatModel(model="llama-3.3-70b-versatile")`` takes ChatGroq's usual
    kwargs and builds its routes from ``CEREBRAS_API_KEY``, ``GROQ_API_KEY`` and
    ``OPENAI_API_KEY``; ``LANGCHAIN_ROUTER_PRIORITY`` sets the default priority.

    Example:
        .. code-block:: python

            from langchain_groq import ChatGroq

            from langchain_cerebras_router import ChatCerebras, RoutedChatModel
            from langchain_cerebras_router.testing import Emulator

            with Emulator() as emulator:
                router = RoutedChatModel(
                    routes={
                        "cerebras": ChatCerebras(api_key="k", base_url=emulator.base_url),
                        "groq": ChatGroq(
                            model="llama-3.3-70b-versatile", api_key="k", base_url=emulator.base_url
                        ),
                    },
                    priority="ultimate_speed",
                )
                message = router.invoke("Hello")
                print(message.response_metadata["routing"]["route"])  # "cerebras"
    """

    routes: dict[str, BaseChatModel] = Field(default_factory=dict)
    """Route name -> chat model. A sequence is accepted too (named by provider)."""
    model: str | None = Field(default=None, alias="model_name")
    """Drop-in model name for routes built from the environment (any provider's id)."""
    priority: str = Field(default_factory=priority_from_env)
    """Default priority: ``ultimate_speed``, ``speed``, ``quality`` or ``balanced``."""
    policy: RoutingPolicy = Field(default_factory=PriorityPolicy, exclude=True)
    """Orders the routes for a priority."""
    timeout: float | None = Field(default=60.0, alias="request_timeout")
    """Seconds one attempt may take (for streams: until its first content chunk).

    Cerebras, Groq and OpenAI members get it as their HTTP read timeout and run in the
    calling thread. A sync stream does too when its first-chunk bound is at least
    ``stall_timeout`` (the defaults: both 60 s): the read timeout cuts a silent server
    and the clock is checked at every chunk before the first content (a server that
    sends its headers late, then nothing, is cut that long after its last byte). A
    shorter bound is enforced exactly from the attempt's start by a worker thread
    (about 0.2 ms more per sync stream)."""
    first_token_timeout: float | None = None
    """Stream-only override of ``timeout`` for the time to the first content chunk."""
    stall_timeout: float | None = 60.0
    """Seconds a stream may go without a chunk after its first one (the SDKs' default
    read timeout; lower it, with ``timeout``, to give up on hung routes sooner)."""
    deadline: float | None = None
    """Seconds the whole call may take, across every attempt."""
    max_retries: int = 1
    """Extra passes over the routes after all failed (waiting for ``retry-after``)."""
    member_max_retries: int = 0
    """SDK retries left on members (0: failover is never delayed by SDK backoff)."""
    temperature: float | None = None
    """Sampling temperature for every route."""
    max_tokens: int | None = None
    """Maximum completion tokens for every route."""
    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    """Default stop sequences."""
    streaming: bool = False
    """Whether ``invoke`` streams under the hood."""
    hedge_after: float | Literal["p95"] | None = None
    """Start the next route when the first has no first token after this many seconds
    (or its measured p95 time to first token). ``None``: no hedging. For ``invoke`` and
    ``ainvoke`` the delay counts from the start of the call (LangChain's set-up of the
    run included); for streams, from the start of the first attempt."""
    hedge_with_tools: bool = False
    """Allow hedging calls that carry tools (off: a tool-bearing call is never duplicated)."""
    failover_on_bad_request: bool = False
    """Also fail over on 400-class errors (never on context-length errors)."""
    health: HealthStore = Field(default_factory=health_store_from, alias="state", exclude=True)
    """Per-route circuit breakers and rate-limit budgets. Pass a ``HealthStore``, or
    ``state="redis://host:6379/0"`` to share them across processes (also from the env var
    ``LANGCHAIN_ROUTER_STATE_URL``); in memory by default."""
    monitor: SpeedMonitor | None = Field(default_factory=SpeedMonitor, exclude=True)
    """Speed and availability per route (``None`` to turn off)."""
    groq_fallback_model: str | None = SEED_GROQ_FALLBACK_MODEL
    """Drop-in: the second Groq route (the seed's fallback)."""
    openai_model: str | None = SEED_OPENAI_MODEL
    """Drop-in: the model of the ``quality`` route."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Extra kwargs sent with every call (dropped for members that would reject them)."""

    # hide_input_in_errors: a validation error must not print the constructor's kwargs,
    # which hold the API key as a plain string until it becomes a SecretStr.
    model_config = ConfigDict(
        populate_by_name=True, arbitrary_types_allowed=True, hide_input_in_errors=True
    )

    _route_list: list[Route] = PrivateAttr(default_factory=list)
    _orders: dict[str, list[Route]] = PrivateAttr(default_factory=dict)
    #: Route name -> "provider/model", for ``_identifying_params`` (fixed after validation).
    _route_names: dict[str, str] = PrivateAttr(default_factory=dict)
    _rate_limit_sampler: RateLimitSampler = PrivateAttr(default_factory=RateLimitSampler)
    #: Priority, or (priority, stop, model) -> LangSmith params (static policies).
    _ls_params: dict[Any, LangSmithParams] = PrivateAttr(default_factory=dict)
    _last_headers: dict[str, httpx.Headers] = PrivateAttr(default_factory=dict)
    _member_kwargs: weakref.WeakKeyDictionary[Any, dict[str, dict[str, Any]]] = PrivateAttr(
        default_factory=weakref.WeakKeyDictionary
    )

    @field_validator("health", mode="before")
    @classmethod
    def _health_from_state(cls, value: Any) -> HealthStore:
        return health_store_from(value)

    @model_validator(mode="before")
    @classmethod
    def _accept_route_sequences(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        routes = values.get("routes")
        if routes is not None and not isinstance(routes, Mapping):
            named: dict[str, Any] = {}
            for member in routes:
                if not isinstance(member, BaseChatModel):
                    msg = f"routes must hold chat models; got {type(member).__name__}."
                    raise TypeError(msg)
                name = provider_of(member)
                if name in named:
                    name = f"{name}/{model_name_of(member) or len(named)}"
                while name in named:
                    name = f"{name}#{len(named)}"
                named[name] = member
            values["routes"] = named
        check_aliases_given_once(cls.model_fields, values)
        known: set[str] = set()
        for field_name, info in cls.model_fields.items():
            known.add(field_name)
            if info.alias:
                known.add(info.alias)
        extra = dict(values.get("model_kwargs") or {})
        for key in [k for k in values if k not in known]:
            extra[key] = values.pop(key)
        values["model_kwargs"] = extra
        return values

    @model_validator(mode="after")
    def _build_routes(self) -> Self:
        self.priority = normalize_priority(self.priority)
        client_kwargs = self._pop_client_kwargs()
        if self.routes and any(client_kwargs.values()):
            logger.warning(
                "RoutedChatModel: %s ignored: routes were given, so configure their clients "
                "on the route models themselves.",
                sorted({k for kwargs in client_kwargs.values() for k in kwargs}),
            )
        if not self.routes:
            common = {
                "temperature": self.temperature,
                "max_tokens": self.max_tokens,
                "timeout": self.timeout,
                "stop": self.stop,
            }
            self.routes = default_routes(
                self.model,
                common=common,
                groq_fallback_model=self.groq_fallback_model,
                openai_model=self.openai_model,
                observe_headers=self._observe_headers,
                provider_kwargs=client_kwargs,
            )
            if not self.routes:
                msg = (
                    "RoutedChatModel has no route: pass routes=..., or set CEREBRAS_API_KEY "
                    "and/or GROQ_API_KEY (and OPENAI_API_KEY with langchain-openai for the "
                    "'quality' route)."
                )
                raise ValueError(msg)
        if len(self.routes) > 1:
            self.routes = {
                name: with_sdk_retries(
                    member,
                    self.member_max_retries,
                    on_response=functools.partial(self._observe_headers, name)
                    if provider_of(member) in _HEADER_OBSERVED_PROVIDERS
                    else None,
                )
                for name, member in self.routes.items()
            }
        route_list: list[Route] = []
        for name, member in self.routes.items():
            provider = provider_of(member)
            route_list.append(
                Route(
                    name=name,
                    model=member,
                    provider=provider,
                    model_id=model_name_of(member),
                    has_stream=type(member)._stream is not BaseChatModel._stream,
                    has_astream=type(member)._astream is not BaseChatModel._astream,
                    tool_calls_unasked=tool_calls_unasked(member, provider),
                )
            )
        self._route_list = route_list
        self._route_names = {r.name: f"{r.provider}/{r.model_id}" for r in self._route_list}
        self._orders = {}
        self._ls_params = {}
        logger.info(
            "RoutedChatModel routes: %s (default priority %s)",
            ", ".join(f"{r.name}={r.provider}/{r.model_id}" for r in self._route_list),
            self.priority,
        )
        return self

    def _pop_client_kwargs(self) -> dict[str, dict[str, Any]]:
        """Take drop-in client settings out of ``model_kwargs``: never sent per call.

        ChatGroq's ``api_key``/``groq_api_key`` and ``base_url``/``groq_api_base``
        configure the Groq routes; ``cerebras_api_key``/``cerebras_api_base`` the Cerebras
        route; ``openai_api_key`` the OpenAI route.
        """
        per_provider: dict[str, dict[str, Any]] = {"cerebras": {}, "groq": {}, "openai": {}}
        for key, (provider, field) in _CLIENT_KWARGS.items():
            if key in self.model_kwargs:
                per_provider[provider][field] = self.model_kwargs.pop(key)
        return per_provider

    def _observe_headers(self, route: str, headers: httpx.Headers) -> None:
        """HTTP hook of Groq/OpenAI members (their answers do not carry rate-limit headers)."""
        if "x-ratelimit-remaining-requests" in headers or "retry-after" in headers:
            self._last_headers[route] = headers

    # ------------------------------------------------------------------ LangChain metadata

    @property
    def _llm_type(self) -> str:
        return "routed-chat"

    def _private(self) -> dict[str, Any]:
        """The private attributes, read without pydantic's ``__getattr__`` (per-call paths)."""
        return self.__pydantic_private__  # type: ignore[return-value]  # set by pydantic

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"routes": dict(self._private()["_route_names"]), "priority": self.priority}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        """LangSmith params of the route the policy tries first for this call.

        With a static policy they depend only on the priority, ``stop`` and a per-call
        ``model``, so they are computed once per combination.
        """
        priority = kwargs.get("priority") or self.priority
        model = kwargs.get("model")
        if not getattr(self.policy, "static", False):  # the first route may change
            return self._compute_ls_params(stop, priority=priority, model=model)
        key: Any = priority  # the usual call: no stop list, no per-call model
        if stop or model:
            key = (priority, tuple(stop) if stop else None, str(model) if model else None)
        known: dict[Any, LangSmithParams] = self._private()["_ls_params"]
        cached = known.get(key)
        if cached is None:
            cached = self._compute_ls_params(stop, priority=priority, model=model)
            if len(known) >= 256:  # per-call stop lists / models: keep it bounded
                known.clear()
            known[key] = cached
        return cached.copy()

    def _compute_ls_params(self, stop: list[str] | None, **kwargs: Any) -> LangSmithParams:
        first = self._ordered_routes(kwargs.get("priority"))[0]
        try:
            params = first.model._get_ls_params(stop=stop)
        except Exception:
            params = LangSmithParams(ls_provider=first.provider, ls_model_type="chat")
        params["ls_model_type"] = "chat"
        params.setdefault("ls_provider", first.provider)
        if kwargs.get("model"):
            params["ls_model_name"] = str(kwargs["model"])
        elif first.model_id:
            params.setdefault("ls_model_name", first.model_id)
        if self.temperature is not None:
            params["ls_temperature"] = self.temperature
        return params

    def _ordered_routes(self, priority: str | None) -> list[Route]:
        orders: dict[str, list[Route]] = self._private()["_orders"]
        order = orders.get(priority or self.priority)
        if order is not None:
            return order
        key = normalize_priority(priority or self.priority)
        order = orders.get(key)
        if order is None:
            catalogue = ModelCatalogue.default()
            infos = [
                RouteInfo(
                    r.name,
                    r.provider,
                    r.model_id,
                    catalogue.advertised_tokens_per_second(r.provider, r.model_id or ""),
                )
                for r in self._route_list
            ]
            by_name = {r.name: r for r in self._route_list}
            order = [by_name[name] for name in self.policy.order(infos, key)]
            if getattr(self.policy, "static", False):  # else asked again on every call
                orders[key] = order
        return order

    # ------------------------------------------------------------------ per-call priority

    @staticmethod
    def _priority_from(config: RunnableConfig | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        if not config and "priority" not in kwargs:  # the usual call: nothing to read
            return kwargs
        priority = kwargs.get("priority")
        if priority is None and config:
            priority = (config.get("configurable") or {}).get("priority")
            if priority:
                kwargs = {**kwargs, "priority": priority}
        if priority:
            kwargs["priority"] = normalize_priority(priority)
        return kwargs

    def invoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        """Invoke; ``priority`` may come as a kwarg or ``config["configurable"]``."""
        kwargs = self._priority_from(config, kwargs)
        if self.hedge_after is None:  # the call's start only matters to the hedge delay
            return super().invoke(input, config, stop=stop, **kwargs)
        token = _CALL_STARTED.set(time.monotonic())
        try:
            return super().invoke(input, config, stop=stop, **kwargs)
        finally:
            _CALL_STARTED.reset(token)

    async def ainvoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        """Async invoke; ``priority`` as in :meth:`invoke`."""
        kwargs = self._priority_from(config, kwargs)
        if self.hedge_after is None:
            return await super().ainvoke(input, config, stop=stop, **kwargs)
        token = _CALL_STARTED.set(time.monotonic())
        try:
            return await super().ainvoke(input, config, stop=stop, **kwargs)
        finally:
            _CALL_STARTED.reset(token)

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        """Stream; ``priority`` as in :meth:`invoke`.

        A stream no callback handler observes (see
        :class:`~langchain_cerebras_router.lean_streaming.LeanStreamingChatModel`) is
        routed straight to the messages ``BaseChatModel.stream`` would yield; an observed
        one goes through ``BaseChatModel.stream`` and :meth:`_stream`.
        """
        kwargs = self._priority_from(config, kwargs)
        call = self._unobserved_call(input, config, kwargs, async_api=False)
        if call is None:
            yield from BaseChatModel.stream(self, input, config, stop=stop, **kwargs)
            return
        context = self._context(call.messages, stop, call.kwargs, stream=True)
        yield from run_stream(context, call.message_id)

    async def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        """Async stream; ``priority`` and the two paths as in :meth:`stream`."""
        kwargs = self._priority_from(config, kwargs)
        call = self._unobserved_call(input, config, kwargs, async_api=True)
        if call is None:
            async for message in BaseChatModel.astream(self, input, config, stop=stop, **kwargs):
                yield message
            return
        context = self._context(call.messages, stop, call.kwargs, stream=True, asynchronous=True)
        async for message in arun_stream(context, call.message_id):
            yield message

    # ------------------------------------------------------------------ one call

    def _context(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: dict[str, Any],
        *,
        stream: bool,
        run_manager: Any = None,
        asynchronous: bool = False,
    ) -> CallContext:
        check_history(messages)
        private = self._private()
        call_started = None
        if self.hedge_after is not None:  # set by invoke/ainvoke only when hedging
            call_started = _CALL_STARTED.get()
            if call_started is not None:
                _CALL_STARTED.set(None)  # read once: not by a router called as a member
        call_kwargs = {**self.model_kwargs, **kwargs}
        # Normalised once: by invoke/stream for a per-call priority, at construction otherwise.
        priority = call_kwargs.pop("priority", None) or self.priority
        tools_request = call_kwargs.pop(_TOOLS_KEY, None)
        structured_request = call_kwargs.pop(_STRUCTURED_KEY, None)
        request = tools_request or structured_request
        call_kwargs.pop("stream", None)
        if self.temperature is not None:
            call_kwargs.setdefault("temperature", self.temperature)
        if self.max_tokens is not None:
            call_kwargs.setdefault("max_tokens", self.max_tokens)
        if stop is None:
            stop = self.stop
        routes = private["_orders"].get(priority) or self._ordered_routes(priority)
        model_override = bool(call_kwargs.get("model"))
        if model_override:
            routes, call_kwargs = self._routes_for_model(routes, call_kwargs)
        attempt_timeout = (
            self.first_token_timeout if stream and self.first_token_timeout else self.timeout
        )
        estimated_tokens = estimate_tokens(messages)
        plan = CallPlan(
            routes=routes,
            health=self.health,
            attempt_timeout=attempt_timeout,
            deadline=self.deadline,
            max_passes=1 + max(0, self.max_retries),
            estimated_tokens=estimated_tokens,
            failover_on_bad_request=self.failover_on_bad_request,
            asynchronous=asynchronous,
            rate_limit_sampler=private["_rate_limit_sampler"],
            monitor=self.monitor,
            model_override=model_override,
            observed_headers=private["_last_headers"],
        )
        hedge_after = self.hedge_after
        if (
            hedge_after is not None
            and not self.hedge_with_tools
            and (isinstance(request, ToolsRequest) or call_kwargs.get("tools"))
        ):
            hedge_after = None
        return CallContext(
            plan=plan,
            messages=messages,
            stop=stop,
            priority=priority,
            member_kwargs=functools.partial(
                self._kwargs_for,
                call_kwargs=call_kwargs,
                request=request,
                model_override=model_override,
            ),
            hedge_after=hedge_after,
            stall_timeout=self.stall_timeout,
            model_override=model_override,
            tracer=AttemptTracer.for_run(run_manager, messages),
            streaming=stream,
            call_started=call_started,
            sends_tools=request is not None or "tools" in call_kwargs or "functions" in call_kwargs,
        )

    def _routes_for_model(
        self, routes: list[Route], call_kwargs: dict[str, Any]
    ) -> tuple[list[Route], dict[str, Any]]:
        """Per-call ``model=``: keep the routes whose provider has that model family.

        The override is resolved per provider through the catalogue (e.g.
        ``"llama-3.3-70b"`` -> ``llama-3.3-70b-versatile`` on Groq), and sent to each
        route as its own id.
        """
        requested = str(call_kwargs.pop("model"))
        catalogue = ModelCatalogue.default()
        kept: list[Route] = []
        for route in routes:
            resolved = catalogue.resolve(requested, route.provider)
            if resolved is None:
                logger.info("RoutedChatModel: route %r has no %r; skipped", route.name, requested)
                continue
            kept.append(dataclasses.replace(route, model_id=resolved.model_id))
        if not kept:
            msg = f"No route of this RoutedChatModel serves model {requested!r}."
            raise ValueError(msg)
        return kept, call_kwargs

    def _kwargs_for(
        self,
        route: Route,
        member_timeout: httpx.Timeout | None = None,
        *,
        call_kwargs: dict[str, Any],
        request: ToolsRequest | StructuredOutputRequest | None,
        model_override: bool = False,
    ) -> dict[str, Any]:
        kwargs, dropped = accepted_kwargs(route.provider, call_kwargs)
        if model_override and route.model_id:
            kwargs["model"] = route.model_id
        if member_timeout is not None and route.provider in TIMEOUT_AWARE_PROVIDERS:
            kwargs.setdefault("timeout", member_timeout)
        if dropped:
            logger.debug("RoutedChatModel: not sending %s to route %r", dropped, route.name)
        if request is not None:
            per_route = self._member_kwargs.setdefault(request, {})
            converted = per_route.get(route.name)
            if converted is None:
                converted = member_kwargs_for(route.model, request)
                per_route[route.name] = converted
            kwargs.update(converted)
        return kwargs

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return run_invoke(
            self._context(messages, stop, kwargs, stream=False, run_manager=run_manager)
        )

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return await arun_invoke(
            self._context(
                messages, stop, kwargs, stream=False, run_manager=run_manager, asynchronous=True
            )
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        context = self._context(messages, stop, kwargs, stream=True, run_manager=run_manager)
        chunks = run_stream(context)
        # BaseChatModel.stream() reports tokens itself (no run manager is passed then);
        # only _generate-driven streaming needs them reported here.
        return chunks if run_manager is None else reporting_tokens(chunks, run_manager)

    def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        context = self._context(
            messages, stop, kwargs, stream=True, run_manager=run_manager, asynchronous=True
        )
        chunks = arun_stream(context)
        return chunks if run_manager is None else areporting_tokens(chunks, run_manager)

    # ------------------------------------------------------------------ tools, schemas

    def bind_tools(
        self,
        tools: Sequence[ToolLike],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools; each route converts them with its own ``bind_tools``.

        Args:
            tools: Tools as accepted by any LangChain chat model.
            tool_choice: ``"auto"``, ``"none"``, ``"any"``/``"required"``, a tool name,
                ``True`` or a ``{"type": "function", ...}`` dict (validated now).
            **kwargs: Extra ``bind_tools`` kwargs for members (e.g.
                ``parallel_tool_calls``), plus anything to bind to every call.

        Returns:
            A runnable that calls the router with the tools.

        Example:
            .. code-block:: python

                from langchain_core.tools import tool


                @tool
                def lookup(customer_id: str) -> str:
                    '''Look a customer up.'''
                    return "found"


                router_with_tools = router.bind_tools([lookup])
        """
        normalize_tool_choice(tool_choice, format_tools(tools))
        member_extra: dict[str, Any] = {
            k: kwargs.pop(k) for k in ("parallel_tool_calls", "strict") if k in kwargs
        }
        request = ToolsRequest(tools=list(tools), tool_choice=tool_choice, extra=member_extra)
        return self.bind(**{_TOOLS_KEY: request}, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: Literal["function_calling", "json_schema", "json_mode"] = "function_calling",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """Structured output through whichever route answers.

        Each route converts the schema with its own ``with_structured_output``, so a
        fallback never receives a request in a form it rejects.

        Args:
            schema: Pydantic class, TypedDict class or JSON-schema dict.
            method: ``"function_calling"`` (default, every provider), ``"json_schema"``
                or ``"json_mode"``.
            include_raw: Return ``{"raw", "parsed", "parsing_error"}``.
            strict: Passed to each member.
            **kwargs: Bound to every call.

        Returns:
            A runnable producing the parsed output.

        Example:
            .. code-block:: python

                from pydantic import BaseModel


                class Answer(BaseModel):
                    answer: str


                router.with_structured_output(Answer).invoke("What is 2+2?")
        """
        if schema is None and method != "json_mode":
            msg = f"with_structured_output(method={method!r}) needs a schema."
            raise ValueError(msg)
        if method not in ("function_calling", "json_schema", "json_mode"):
            msg = (
                f"Unknown method {method!r}: use 'function_calling', 'json_schema' or 'json_mode'."
            )
            raise ValueError(msg)
        is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
        request = StructuredOutputRequest(schema=schema, method=method, strict=strict)
        parser: OutputParserLike[Any]
        if method == "function_calling":
            tool_name = convert_to_openai_tool(schema)["function"]["name"]  # type: ignore[arg-type]
            parser = tool_call_parser(schema, tool_name, is_pydantic=is_pydantic)
        else:
            parser = (
                PydanticOutputParser(pydantic_object=schema) if is_pydantic else JsonOutputParser()
            )
        llm = self.bind(
            **{_STRUCTURED_KEY: request},
            ls_structured_output_format={"kwargs": {"method": method}, "schema": schema},
            **kwargs,
        )
        return with_parser(llm, parser, include_raw=include_raw)
