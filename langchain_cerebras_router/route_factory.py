"""Building and adapting the chat models a router sends calls to.

* :func:`default_routes` builds routes from the environment (drop-in construction):
  Cerebras if ``CEREBRAS_API_KEY`` is set, Groq (the seed's primary and fallback models)
  if ``GROQ_API_KEY`` is set, OpenAI if ``langchain-openai`` is installed and
  ``OPENAI_API_KEY`` is set. A provider without a key is skipped with a log line.
* :func:`with_sdk_retries` returns a copy of a member whose SDK retries are bounded, so
  that failover is not delayed by a member's own backoff (the router retries instead).
* :func:`member_kwargs_for` converts router-level tools / structured-output requests into
  each member's own request kwargs, through the member's own ``bind_tools`` /
  ``with_structured_output`` (so each provider's conversion rules apply).
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableBinding, RunnableSequence

from langchain_cerebras_router.catalogue import ModelCatalogue
from langchain_cerebras_router.http_clients import PerLoopAsyncTransport, shared_ssl_context

__all__ = [
    "SEED_GROQ_FALLBACK_MODEL",
    "SEED_GROQ_MODEL",
    "SEED_OPENAI_MODEL",
    "StructuredOutputRequest",
    "ToolsRequest",
    "accepted_kwargs",
    "default_routes",
    "member_kwargs_for",
    "model_name_of",
    "provider_of",
    "with_sdk_retries",
]

logger = logging.getLogger("langchain_cerebras_router.routing")

SEED_GROQ_MODEL = "llama-3.3-70b-versatile"
SEED_GROQ_FALLBACK_MODEL = "deepseek-r1-distill-llama-70b"
SEED_OPENAI_MODEL = "gpt-4o"

HeaderObserver = Callable[[str, httpx.Headers], None]


def provider_of(model: BaseChatModel) -> str:
    """The provider a chat model talks to (``ls_provider``), e.g. ``"cerebras"``."""
    try:
        provider = model._get_ls_params().get("ls_provider")
    except Exception:
        provider = None
    return str(provider or type(model).__name__.lower())


#: Providers whose APIs answer with tool calls only to a request that sends tools.
_TOOL_CALLS_ONLY_WHEN_SENT = frozenset({"cerebras", "groq", "openai"})


def tool_calls_unasked(model: BaseChatModel, provider: str) -> bool:
    """Whether ``model`` may answer with tool calls a call that sends no tools.

    A Cerebras, Groq or OpenAI member does only if its own ``model_kwargs`` send tools;
    any other member may. A routed stream tests chunks for tool calls (for
    :class:`~langchain_cerebras_router.failover.PartialStreamError`) only when its call
    sends tools or its route answers with tool calls unasked.
    """
    if provider not in _TOOL_CALLS_ONLY_WHEN_SENT:
        return True
    own = getattr(model, "model_kwargs", None) or {}
    return "tools" in own or "functions" in own


def model_name_of(model: BaseChatModel) -> str | None:
    """The model id a chat model calls (``ls_model_name``), if it reports one."""
    try:
        name = model._get_ls_params().get("ls_model_name")
    except Exception:
        name = None
    return str(name) if name else None


# --------------------------------------------------------------------------------------
# SDK retries under the router's control
# --------------------------------------------------------------------------------------

#: Pool limits of the async clients the router gives members (the Stainless defaults).
_MEMBER_POOL_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)

_CLIENT_FIELDS = frozenset({"client", "async_client", "root_client", "root_async_client"})


def with_sdk_retries(
    model: BaseChatModel,
    max_retries: int,
    *,
    on_response: Callable[[httpx.Headers], None] | None = None,
) -> BaseChatModel:
    """Return ``model`` with its SDK retries bounded to ``max_retries``.

    ChatCerebras, ChatGroq and ChatOpenAI build their SDK clients from ``max_retries``
    at construction, so a copy is rebuilt with the new value (clients included). Models
    without a ``max_retries`` field are returned unchanged.

    Args:
        model: A chat model.
        max_retries: The bound (``0`` turns SDK retries off).
        on_response: Called with every HTTP response's headers of a Stainless-SDK member
            (ChatGroq, ChatOpenAI), whose answers do not carry them: the router reads
            rate-limit budgets from them. The member is then always copied, onto HTTP
            clients of the router's own unless it was given clients of its own.

    Returns:
        The same model if already within the bound (and nothing to observe), else a copy.
    """
    current = getattr(model, "max_retries", None)
    if not isinstance(current, int) and current is not None:
        return model
    if "max_retries" not in type(model).model_fields:
        return model
    from langchain_cerebras_router.chat_models import ChatCerebras

    if isinstance(model, ChatCerebras):  # its answers carry their rate-limit headers
        if current is not None and current <= max_retries:
            return model
        return model.model_copy(update={"max_retries": max_retries})
    if current is not None and current <= max_retries and on_response is None:
        return model
    bound = max_retries if current is None else min(current, max_retries)
    reused = _with_sdk_client_options(model, bound, on_response)
    if reused is not None:
        return reused
    if current is not None and current <= max_retries:
        return model
    # Every field but the clients, including secrets and settings read from the environment.
    values = {
        name: getattr(model, name)
        for name in type(model).model_fields
        if name not in _CLIENT_FIELDS
    }
    values["max_retries"] = max_retries
    try:
        return type(model).model_validate(values)
    except Exception as exc:  # an exotic member: keep it, but say so
        logger.warning(
            "Could not turn off SDK retries of %s (%s); failover may wait for its retries.",
            type(model).__name__,
            type(exc).__name__,
        )
        return model


def _response_hooks(
    on_response: Callable[[httpx.Headers], None] | None,
) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """``httpx`` event hooks (sync, async) passing each response's headers to ``on_response``."""
    if on_response is None:
        return {}, {}
    observe = on_response

    def on_sync_response(response: httpx.Response) -> None:
        observe(response.headers)

    async def on_async_response(response: httpx.Response) -> None:
        observe(response.headers)

    return {"response": [on_sync_response]}, {"response": [on_async_response]}


def _with_sdk_client_options(
    model: BaseChatModel,
    max_retries: int,
    on_response: Callable[[httpx.Headers], None] | None = None,
) -> BaseChatModel | None:
    """A copy of a Stainless-SDK member (ChatGroq, ChatOpenAI) with fewer SDK retries.

    ``client.with_options(max_retries=...)`` shares the member's sync HTTP pool, so
    nothing is rebuilt (no new TLS context), unless ``on_response`` needs a client of the
    router's own to observe responses. Unless the member was given its own
    ``http_async_client``, its async client gets one pool per event loop
    (:class:`~langchain_cerebras_router.http_clients.PerLoopAsyncTransport`): with SDK
    retries off, a pooled connection left over from a closed loop (``asyncio.run`` per
    request) would otherwise fail the next call. ``None`` if the member's clients do not
    have that shape.
    """
    hooks, async_hooks = _response_hooks(on_response)
    update: dict[str, Any] = {"max_retries": max_retries}
    for client_field in ("client", "async_client"):
        resource = getattr(model, client_field, None)
        sdk_client = getattr(resource, "_client", None)
        with_options = getattr(sdk_client, "with_options", None)
        if with_options is None:
            return None
        options: dict[str, Any] = {"max_retries": max_retries}
        timeout = getattr(sdk_client, "timeout", None)
        if client_field == "client" and hooks and getattr(model, "http_client", None) is None:
            options["http_client"] = httpx.Client(
                verify=shared_ssl_context(),
                limits=_MEMBER_POOL_LIMITS,
                timeout=timeout,
                follow_redirects=True,
                event_hooks=hooks,
            )
        if client_field == "async_client" and getattr(model, "http_async_client", None) is None:
            options["http_client"] = httpx.AsyncClient(
                transport=PerLoopAsyncTransport(limits=_MEMBER_POOL_LIMITS),
                timeout=timeout,
                follow_redirects=True,
                event_hooks=async_hooks,
            )
        completions = getattr(getattr(with_options(**options), "chat", None), "completions", None)
        if completions is None or type(completions) is not type(resource):
            return None
        update[client_field] = completions
        root_field = "root_client" if client_field == "client" else "root_async_client"
        if root_field in type(model).model_fields:
            update[root_field] = getattr(completions, "_client", None)
    return model.model_copy(update=update)


# --------------------------------------------------------------------------------------
# Which call kwargs a member accepts
# --------------------------------------------------------------------------------------


@functools.cache
def _sdk_params(provider: str) -> frozenset[str] | None:
    try:
        if provider == "groq":
            from groq.resources.chat.completions import Completions as GroqCompletions

            return frozenset(inspect.signature(GroqCompletions.create).parameters) - {"self"}
        if provider == "openai":
            from openai.resources.chat.completions import Completions as OpenAICompletions

            return frozenset(inspect.signature(OpenAICompletions.create).parameters) - {"self"}
    except ImportError:
        return None
    return None


def accepted_kwargs(provider: str, kwargs: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Split call kwargs into those the member accepts and those it would reject.

    Cerebras members take everything (unknown parameters go through ``extra_body``);
    Groq and OpenAI members pass kwargs straight to their SDK, which rejects unknown
    ones, so provider-specific extras are dropped for them instead of turning a
    failover into an error.

    Args:
        provider: The member's provider.
        kwargs: The call kwargs.

    Returns:
        ``(accepted, dropped_names)``.
    """
    known = _sdk_params(provider)
    if known is None:
        return dict(kwargs), []
    accepted = {k: v for k, v in kwargs.items() if k in known or k == "max_tokens"}
    dropped = [k for k in kwargs if k not in accepted]
    return accepted, dropped


# --------------------------------------------------------------------------------------
# Tools and structured output, converted by each member
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ToolsRequest:
    """Tools bound on the router, converted per member by the member's ``bind_tools``."""

    tools: Sequence[Any]
    tool_choice: Any = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class StructuredOutputRequest:
    """A structured-output request, converted per member by ``with_structured_output``."""

    schema: Any
    method: str = "function_calling"
    strict: bool | None = None


def _binding_kwargs(runnable: Runnable[Any, Any]) -> dict[str, Any]:
    node: Any = runnable
    while isinstance(node, RunnableSequence):
        node = node.first
    kwargs: dict[str, Any] = {}
    while isinstance(node, RunnableBinding):
        kwargs = {**node.kwargs, **kwargs}
        node = node.bound
    kwargs.pop("ls_structured_output_format", None)
    kwargs.pop("structured_output_format", None)
    return kwargs


def member_kwargs_for(
    member: BaseChatModel, request: ToolsRequest | StructuredOutputRequest
) -> dict[str, Any]:
    """The request kwargs ``member`` itself would send for a tools/schema request.

    Args:
        member: The route's chat model.
        request: What was bound on the router.

    Returns:
        Kwargs for ``member._generate`` / ``member._stream`` (e.g. ``tools``,
        ``tool_choice``, ``response_format``).
    """
    if isinstance(request, ToolsRequest):
        bound = member.bind_tools(request.tools, tool_choice=request.tool_choice, **request.extra)
        return _binding_kwargs(bound)
    structured_kwargs: dict[str, Any] = {"method": request.method}
    if request.strict is not None:
        structured_kwargs["strict"] = request.strict
    chain = member.with_structured_output(request.schema, **structured_kwargs)
    return _binding_kwargs(chain)


# --------------------------------------------------------------------------------------
# Drop-in construction from the environment
# --------------------------------------------------------------------------------------


def _groq_http_clients(route: str, observe_headers: HeaderObserver | None) -> dict[str, Any]:
    """HTTP clients for a Groq route built by the router.

    They share one TLS context, keep one async pool per event loop (ChatGroq builds its
    async client once, at construction, and a pool must not outlive its loop), and pass
    each response's headers to ``observe_headers`` (rate-limit budgets).
    """
    import groq
    from groq._constants import DEFAULT_CONNECTION_LIMITS

    hooks, async_hooks = _response_hooks(
        None if observe_headers is None else functools.partial(observe_headers, route)
    )
    tls = shared_ssl_context()
    return {
        "http_client": groq.DefaultHttpxClient(verify=tls, event_hooks=hooks),
        "http_async_client": groq.DefaultAsyncHttpxClient(
            transport=PerLoopAsyncTransport(verify=tls, limits=DEFAULT_CONNECTION_LIMITS),
            event_hooks=async_hooks,
        ),
    }


def default_routes(
    model: str | None,
    *,
    common: Mapping[str, Any],
    groq_fallback_model: str | None = SEED_GROQ_FALLBACK_MODEL,
    openai_model: str | None = SEED_OPENAI_MODEL,
    observe_headers: HeaderObserver | None = None,
    environ: Mapping[str, str] | None = None,
    provider_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, BaseChatModel]:
    """Build the routes a drop-in ``RoutedChatModel(model=...)`` uses.

    Args:
        model: The requested model (a logical name or any provider's id); the seed's
            ``llama-3.3-70b-versatile`` when ``None``.
        common: Constructor kwargs shared by every member (``temperature``,
            ``max_tokens``, ``timeout``, ``stop``...). SDK retries are always 0.
        groq_fallback_model: Second Groq route (the seed's fallback); ``None`` for none.
        openai_model: Model of the ``quality`` route; ``None`` for none.
        observe_headers: Called with each Groq response's headers (rate limits).
        environ: Environment to read (defaults to ``os.environ``).
        provider_kwargs: Extra constructor kwargs per provider (``"cerebras"``,
            ``"groq"``, ``"openai"``), e.g. an explicit ``api_key``; a provider given an
            ``api_key`` here gets a route even without its env var.

    Returns:
        Ordered mapping of route name to chat model; empty if no provider has a key. A
        provider the catalogue knows does not serve ``model`` gets no route (the seed's
        Groq fallback only comes with a Groq route).

    Raises:
        ValueError: Providers have keys, but none of them serves ``model``.
    """
    env = os.environ if environ is None else environ
    requested = model or SEED_GROQ_MODEL
    catalogue = ModelCatalogue.default()
    base = {k: v for k, v in common.items() if v is not None}
    base["max_retries"] = 0
    routes: dict[str, BaseChatModel] = {}
    extra = {name: dict(kwargs) for name, kwargs in (provider_kwargs or {}).items()}
    cerebras_kwargs = extra.get("cerebras", {})
    groq_kwargs = extra.get("groq", {})
    openai_kwargs = extra.get("openai", {})

    not_served: list[str] = []

    def serves(provider: str) -> str | None:
        """``provider``'s id for the requested model, or ``None`` (logged) if it has none."""
        resolved = catalogue.resolve(requested, provider)
        if resolved is None:
            logger.info("RoutedChatModel: %s does not serve %r, so no route.", provider, requested)
            not_served.append(provider)
            return None
        return resolved.model_id

    if env.get("CEREBRAS_API_KEY") or cerebras_kwargs.get("api_key"):
        from langchain_cerebras_router.chat_models import ChatCerebras

        cerebras_model = serves("cerebras")
        if cerebras_model is not None:
            routes["cerebras"] = ChatCerebras(model=cerebras_model, **base, **cerebras_kwargs)
    else:
        logger.info("RoutedChatModel: no CEREBRAS_API_KEY, so no Cerebras route.")

    has_groq_key = bool(env.get("GROQ_API_KEY") or groq_kwargs.get("api_key"))
    groq_model = serves("groq") if has_groq_key else None
    if groq_model is not None:
        from langchain_groq import ChatGroq

        routes["groq"] = ChatGroq(
            model=groq_model,
            **base,
            **groq_kwargs,
            **_groq_http_clients("groq", observe_headers),
        )
        if groq_fallback_model and groq_fallback_model != groq_model:
            name = f"groq/{groq_fallback_model}"
            routes[name] = ChatGroq(
                model=groq_fallback_model,
                **base,
                **groq_kwargs,
                **_groq_http_clients(name, observe_headers),
            )
    elif not has_groq_key:
        logger.info("RoutedChatModel: no GROQ_API_KEY, so no Groq route.")

    if openai_model and (env.get("OPENAI_API_KEY") or openai_kwargs.get("api_key")):
        try:
            from langchain_openai import ChatOpenAI
        except ImportError:
            logger.info(
                "RoutedChatModel: OPENAI_API_KEY is set but langchain-openai is not installed "
                "(pip install 'langchain-cerebras-router[openai]'), so no OpenAI route."
            )
        else:
            routes["openai"] = ChatOpenAI(model=openai_model, **base, **openai_kwargs)
    if not routes and not_served:
        msg = (
            f"Model {requested!r} is not served by {' or '.join(not_served)}, the providers "
            "with an API key: pass a model one of them serves (see ModelCatalogue), or set "
            "the key of a provider that serves it."
        )
        raise ValueError(msg)
    return routes
