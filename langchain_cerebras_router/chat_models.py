"""``ChatCerebras``: a LangChain chat model on the official ``cerebras-cloud-sdk``."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, Literal

import httpx
from cerebras.cloud.sdk import (
    AsyncCerebras,
    AsyncStream,
    Cerebras,
    DefaultAsyncHttpxClient,
    DefaultHttpxClient,
    Stream,
)
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LangSmithParams, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.base import OutputParserLike
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils import from_env, secret_from_env
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator
from typing_extensions import Self

from langchain_cerebras_router.cerebras_wire import (
    PreparedCall,
    asend,
    named_errors,
    request_options,
    send,
    typed_stream_error,
)
from langchain_cerebras_router.errors import (
    check_aliases_given_once,
    malformed_response_error,
    truncated_stream_error,
)
from langchain_cerebras_router.http_clients import PerLoopCache, shared_ssl_context
from langchain_cerebras_router.lean_streaming import LeanStreamingChatModel
from langchain_cerebras_router.message_conversion import (
    convert_messages,
)
from langchain_cerebras_router.strict_schema import cerebras_response_format, json_schema_for
from langchain_cerebras_router.structured_output import (
    strict_json_parser,
    tool_call_parser,
    with_parser,
)
from langchain_cerebras_router.tool_calling import (
    ToolLike,
    format_tools,
    normalize_tool_choice,
    original_tool_schemas,
)

__all__ = ["ChatCerebras"]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "gpt-oss-120b"
_PROVIDER = "cerebras"
#: Bound by ``bind_tools(strict=True)``, taken out before the request (see PreparedCall).
_STRICT_TOOL_SCHEMAS = "strict_tool_schemas"


_resolved_models: dict[tuple[int, str], str] = {}


def _resolve_model(name: str) -> str:
    """Map a logical name, Groq id or retired id to the Cerebras id.

    Memoised per name and catalogue: it is on every call's path.
    """
    from langchain_cerebras_router.catalogue import ModelCatalogue

    catalogue = ModelCatalogue.default()
    key = (id(catalogue), name)
    model_id = _resolved_models.get(key)
    if model_id is None:
        resolved = catalogue.resolve(name, _PROVIDER)
        model_id = name if resolved is None else resolved.model_id
        if len(_resolved_models) > 1024:
            _resolved_models.clear()
        _resolved_models[key] = model_id
    return model_id


def _log_substitution(name: str) -> None:
    """Say which Cerebras model a logical name or other provider's id really calls."""
    from langchain_cerebras_router.catalogue import ModelCatalogue

    resolved = ModelCatalogue.default().resolve(name, _PROVIDER)
    if resolved is not None and resolved.model_id != name:
        logger.info(
            "ChatCerebras: model %r resolves to Cerebras model %r%s",
            name,
            resolved.model_id,
            f" ({resolved.reason})" if resolved.reason else "",
        )


@functools.lru_cache(maxsize=16)
def _key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ChatCerebras(LeanStreamingChatModel):
    """Cerebras chat model on the official ``cerebras-cloud-sdk``.

    Setup:
        Install ``langchain-cerebras-router`` and set ``CEREBRAS_API_KEY``
        (``CEREBRAS_BASE_URL`` optionally points to another endpoint, such as the
        bundled emulator).

    Key init args — completion params:
        model: Cerebras model id, or a logical name / Groq id that the catalogue maps to
            one (e.g. ``"llama-3.3-70b-versatile"`` -> ``"gpt-oss-120b"``, logged).
        temperature, top_p, seed, stop: Sampling parameters.
        max_tokens: Maximum completion tokens (sent as ``max_completion_tokens``).
        reasoning_effort, reasoning_format, disable_reasoning: Reasoning-model controls.
        streaming: Stream by default from ``invoke``. stream_usage: Attach usage to the
            final stream chunk (default ``True``).

    Key init args — client params:
        api_key, base_url, timeout, max_retries, default_headers, http_client,
        http_async_client: as in the SDK; clients are built once and reused.

    Example:
        .. code-block:: python

            from langchain_cerebras_router import ChatCerebras
            from langchain_cerebras_router.testing import Emulator

            with Emulator() as emulator:
                llm = ChatCerebras(model="gpt-oss-120b", api_key="test", base_url=emulator.base_url)
                message = llm.invoke("Say hello")
                print(message.content, message.response_metadata["tokens_per_second"])
    """

    model: str = Field(default=DEFAULT_MODEL, alias="model_name")
    """Model id (or a catalogue alias)."""
    temperature: float | None = None
    """Sampling temperature."""
    max_tokens: int | None = Field(default=None, alias="max_completion_tokens")
    """Maximum number of completion tokens (sent as ``max_completion_tokens``)."""
    top_p: float | None = None
    """Nucleus sampling."""
    stop: list[str] | str | None = Field(default=None, alias="stop_sequences")
    """Default stop sequences."""
    seed: int | None = None
    """Seed for deterministic sampling."""
    timeout: float | httpx.Timeout | None = Field(default=None, alias="request_timeout")
    """Request timeout in seconds; ``None`` keeps the SDK default (60 s, connect 5 s)."""
    max_retries: int = 2
    """SDK retries (429, 408, 409, >=500, connection errors) with backoff."""
    api_key: SecretStr | None = Field(
        default_factory=secret_from_env("CEREBRAS_API_KEY", default=None),
        alias="cerebras_api_key",
    )
    """Cerebras API key; read from ``CEREBRAS_API_KEY`` when not given."""
    base_url: str | None = Field(
        default_factory=from_env("CEREBRAS_BASE_URL", default=None), alias="cerebras_api_base"
    )
    """API base URL; read from ``CEREBRAS_BASE_URL`` when not given."""
    streaming: bool = False
    """Whether ``invoke`` streams under the hood."""
    stream_usage: bool = True
    """Whether the final stream chunk carries ``usage_metadata``."""
    reasoning_effort: Literal["none", "low", "medium", "high"] | None = None
    """Reasoning effort for reasoning models."""
    reasoning_format: Literal["parsed", "text_parsed", "raw", "hidden", "none"] | None = None
    """How reasoning is returned (``parsed`` puts it in ``reasoning_content``)."""
    disable_reasoning: bool | None = None
    """Turn reasoning off on models that support it."""
    service_tier: Literal["auto", "default", "flex", "priority"] | None = None
    """Service tier."""
    default_headers: Mapping[str, str] | None = None
    """Headers sent with every request."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Extra request parameters (unknown ones go to the API through ``extra_body``)."""
    extra_body: dict[str, Any] | None = None
    """Raw extra JSON fields for the request body."""
    warm_tcp_connection: bool = False
    """Warm the connection (``GET /v1/tcp_warming``) in a background thread at construction."""
    http_client: Any | None = Field(default=None, exclude=True)
    """Optional ``httpx.Client`` (proxies, tests, benchmarks)."""
    http_async_client: Any | None = Field(default=None, exclude=True)
    """Optional ``httpx.AsyncClient``; used from every event loop when given."""

    # hide_input_in_errors: a validation error must not print the constructor's kwargs,
    # which hold the API key as a plain string until it becomes a SecretStr.
    model_config = ConfigDict(
        populate_by_name=True, arbitrary_types_allowed=True, hide_input_in_errors=True
    )

    _sync_clients: dict[tuple[Any, ...], Cerebras] = PrivateAttr(default_factory=dict)
    _async_clients: PerLoopCache[dict[tuple[Any, ...], AsyncCerebras]] = PrivateAttr(
        default_factory=PerLoopCache
    )
    _client_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @model_validator(mode="before")
    @classmethod
    def _collect_model_kwargs(cls, values: Any) -> Any:
        """Move unknown constructor kwargs into ``model_kwargs`` (as ChatOpenAI does)."""
        if not isinstance(values, dict):
            return values
        check_aliases_given_once(cls.model_fields, values)
        known: set[str] = set()
        for name, field in cls.model_fields.items():
            known.add(name)
            if field.alias:
                known.add(field.alias)
        extra = dict(values.get("model_kwargs") or {})
        for key in [k for k in values if k not in known]:
            if key in extra:
                msg = f"Parameter {key!r} was given twice (directly and in model_kwargs)."
                raise ValueError(msg)
            extra[key] = values.pop(key)
        clash = known.intersection(extra) - {"model_kwargs"}
        if clash:
            msg = f"Pass {sorted(clash)} as constructor arguments, not inside model_kwargs."
            raise ValueError(msg)
        values["model_kwargs"] = extra
        return values

    @model_validator(mode="after")
    def _validate_environment(self) -> Self:
        if self.api_key is None or not self.api_key.get_secret_value():
            msg = (
                "ChatCerebras needs an API key: pass api_key=... or set CEREBRAS_API_KEY "
                "(for offline tests, point base_url at langchain_cerebras_router.testing.Emulator)."
            )
            raise ValueError(msg)
        if self.max_retries < 0:
            msg = f"max_retries must be >= 0, got {self.max_retries}."
            raise ValueError(msg)
        _log_substitution(self.model)
        if self.warm_tcp_connection:
            threading.Thread(target=self.warm_up, name="cerebras-tcp-warming", daemon=True).start()
        return self

    # ----------------------------------------------------------------------------------
    # LangChain metadata
    # ----------------------------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return "cerebras-chat"

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Secrets and the env vars they come from (for serialisation)."""
        return {"api_key": "CEREBRAS_API_KEY"}

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """ChatCerebras serialises with ``langchain_core.load.dumps`` (the key excluded)."""
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """The namespace used in serialised form."""
        return ["langchain_cerebras_router", "chat_models"]

    @property
    def model_id(self) -> str:
        """The Cerebras model id really called (after catalogue resolution)."""
        return _resolve_model(self.model)

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model, **self._default_params()}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider=_PROVIDER,
            ls_model_name=_resolve_model(kwargs.get("model") or self.model),
            ls_model_type="chat",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:
            params["ls_temperature"] = temperature
        max_tokens = (
            kwargs.get("max_tokens") or kwargs.get("max_completion_tokens") or self.max_tokens
        )
        if max_tokens:
            params["ls_max_tokens"] = max_tokens
        if ls_stop := stop or kwargs.get("stop") or self.stop:
            params["ls_stop"] = ls_stop if isinstance(ls_stop, list) else [ls_stop]
        return params

    # ----------------------------------------------------------------------------------
    # Clients: built once per configuration (and per event loop for async), then reused
    # ----------------------------------------------------------------------------------

    def _client_config(self) -> tuple[Any, ...]:
        """What an SDK client is built from: the key of the client caches (shared by copies)."""
        # A digest, so the key itself never sits in a cache key (reprs, tracebacks).
        secret = _key_digest(self.api_key.get_secret_value()) if self.api_key else None
        headers = tuple(sorted(self.default_headers.items())) if self.default_headers else ()
        timeout: Any = self.timeout
        if isinstance(timeout, httpx.Timeout):  # not hashable
            timeout = tuple(sorted(timeout.as_dict().items()))
        # The given HTTP clients by identity: a copy given its own must not get the original's.
        http_clients = (id(self.http_client), id(self.http_async_client))
        return (secret, self.base_url, timeout, self.max_retries, headers, http_clients)

    def _client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "api_key": self.api_key.get_secret_value() if self.api_key else None,
            "base_url": self.base_url,
            "max_retries": self.max_retries,
            "default_headers": dict(self.default_headers) if self.default_headers else None,
            "warm_tcp_connection": False,
        }
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        return kwargs

    def _sync_client(self) -> Cerebras:
        config = self._client_config()
        client = self._sync_clients.get(config)
        if client is None:
            with self._client_lock:
                client = self._sync_clients.get(config)
                if client is None:
                    http_client = self.http_client or DefaultHttpxClient(
                        verify=shared_ssl_context()
                    )
                    client = Cerebras(**self._client_kwargs(), http_client=http_client)
                    if len(self._sync_clients) >= 8:  # copies share this cache; keep it small
                        self._sync_clients.clear()
                    self._sync_clients[config] = client
        return client

    def _async_client(self) -> AsyncCerebras:
        # Per event loop (an httpx pool belongs to one loop), then per configuration like
        # the sync cache: copies share both (the router's copy with SDK retries off and
        # the original, used in turn on one loop, must not rebuild each other's client).
        config = self._client_config()
        loop = asyncio.get_running_loop()
        per_loop = self._async_clients.get(loop)
        client = per_loop.get(config) if per_loop is not None else None
        if client is None:
            with self._client_lock:
                per_loop = self._async_clients.get(loop)
                if per_loop is None:
                    per_loop = self._async_clients.set(loop, {})
                client = per_loop.get(config)
                if client is None:
                    http_client = self.http_async_client or DefaultAsyncHttpxClient(
                        verify=shared_ssl_context()
                    )
                    client = AsyncCerebras(**self._client_kwargs(), http_client=http_client)
                    if len(per_loop) >= 8:
                        per_loop.clear()
                    per_loop[config] = client
        return client

    def warm_up(self) -> float:
        """Open and warm the pooled connection (``GET /v1/tcp_warming``); blocking.

        Returns:
            Seconds the warm-up took. Failures are logged at debug level, never raised.
        """
        import time

        started = time.perf_counter()
        try:
            self._sync_client().get("/v1/tcp_warming", cast_to=str, options={"timeout": 5.0})
        except Exception as exc:
            logger.debug("ChatCerebras TCP warm-up failed: %s", type(exc).__name__)
        return time.perf_counter() - started

    async def awarm_up(self) -> float:
        """Warm the async client's pooled connection without blocking the event loop.

        Returns:
            Seconds the warm-up took. Failures are logged at debug level, never raised.
        """
        import time

        started = time.perf_counter()
        try:
            await self._async_client().get("/v1/tcp_warming", cast_to=str, options={"timeout": 5.0})
        except Exception as exc:
            logger.debug("ChatCerebras TCP warm-up failed: %s", type(exc).__name__)
        return time.perf_counter() - started

    # ----------------------------------------------------------------------------------
    # The shared core: one request builder for all four call paths
    # ----------------------------------------------------------------------------------

    def _default_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "temperature": self.temperature,
            "max_completion_tokens": self.max_tokens,
            "top_p": self.top_p,
            "stop": self.stop,
            "seed": self.seed,
            "reasoning_effort": self.reasoning_effort,
            "reasoning_format": self.reasoning_format,
            "disable_reasoning": self.disable_reasoning,
            "service_tier": self.service_tier,
        }
        return {k: v for k, v in params.items() if v is not None}

    def _prepare(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: dict[str, Any],
        *,
        stream: bool,
    ) -> PreparedCall:
        call_kwargs = dict(kwargs)
        call_kwargs.pop("stream", None)
        model_id = _resolve_model(call_kwargs.pop("model", None) or self.model)
        if "max_tokens" in call_kwargs:
            call_kwargs["max_completion_tokens"] = call_kwargs.pop("max_tokens")
        include_usage = bool(call_kwargs.pop("stream_usage", self.stream_usage))
        strict_tool_schemas = call_kwargs.pop(_STRICT_TOOL_SCHEMAS, None) or {}
        params: dict[str, Any] = {**self._default_params(), **self.model_kwargs, **call_kwargs}
        if stop is not None:
            params["stop"] = stop
        params["messages"] = convert_messages(messages)
        params["model"] = model_id
        if stream:
            params["stream"] = True
            if include_usage:
                params["stream_options"] = {"include_usage": True}
        options = request_options(params)
        if self.extra_body:
            params = {**self.extra_body, **params}
        return PreparedCall(
            body=params,
            options=options,
            model_id=model_id,
            label=f"{_PROVIDER}/{model_id}",
            include_usage=include_usage,
            stream=stream,
            strict_tool_schemas=strict_tool_schemas,
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = self._prepare(messages, stop, kwargs, stream=False)
        with named_errors(call.label):
            raw = send(self._sync_client(), call)
            try:
                body = raw.parse(to=object)
            except json.JSONDecodeError as exc:
                raise malformed_response_error(
                    exc, label=call.label, response=raw.http_response
                ) from exc
            return call.result(body, raw.http_response)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = self._prepare(messages, stop, kwargs, stream=False)
        with named_errors(call.label):
            raw = await asend(self._async_client(), call)
            try:
                body = await raw.parse(to=object)
            except json.JSONDecodeError as exc:
                raise malformed_response_error(
                    exc, label=call.label, response=raw.http_response
                ) from exc
            return call.result(body, raw.http_response)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        call = self._prepare(messages, stop, kwargs, stream=True)
        with named_errors(call.label):
            raw = send(self._sync_client(), call)
            stream: Stream[Any] = raw.parse(to=Stream[object])
            converter = call.converter(raw.headers)
            try:
                for body in stream:
                    chunk = converter.convert(body)
                    if chunk is not None:
                        if run_manager:
                            run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                        yield chunk
            except (httpx.HTTPError, json.JSONDecodeError) as exc:
                raise typed_stream_error(exc, call, converter, raw.http_response) from exc
            finally:
                stream.close()
            if not converter.finished:
                raise truncated_stream_error(
                    label=call.label, chunks_received=converter.chunks, response=raw.http_response
                )

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        call = self._prepare(messages, stop, kwargs, stream=True)
        with named_errors(call.label):
            raw = await asend(self._async_client(), call)
            stream: AsyncStream[Any] = await raw.parse(to=AsyncStream[object])
            converter = call.converter(raw.headers)
            try:
                async for body in stream:
                    chunk = converter.convert(body)
                    if chunk is not None:
                        if run_manager:
                            await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                        yield chunk
            except (httpx.HTTPError, json.JSONDecodeError) as exc:
                raise typed_stream_error(exc, call, converter, raw.http_response) from exc
            finally:
                await stream.close()
            if not converter.finished:
                raise truncated_stream_error(
                    label=call.label, chunks_received=converter.chunks, response=raw.http_response
                )

    # ----------------------------------------------------------------------------------
    # Tools and structured output
    # ----------------------------------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[ToolLike],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        parallel_tool_calls: bool | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools to the model.

        Args:
            tools: Pydantic models, ``@tool`` functions, ``BaseTool``s, callables or
                OpenAI-style tool dicts.
            tool_choice: ``"auto"``, ``"none"``, ``"any"``/``"required"``, a bound tool's
                name, ``True`` (the single tool) or a ``{"type": "function", ...}`` dict.
                Validated here, before any request.
            parallel_tool_calls: Allow several tool calls in one answer.
            strict: Ask for schema-exact arguments (schemas are sanitised to Cerebras'
                strict rules).
            **kwargs: Other parameters bound to every call.

        Returns:
            A runnable that calls the model with the tools.

        Example:
            .. code-block:: python

                from langchain_core.tools import tool


                @tool
                def get_weather(city: str) -> str:
                    '''Weather in a city.'''
                    return "sunny"


                llm_with_tools = ChatCerebras().bind_tools([get_weather], tool_choice="any")
                llm_with_tools.invoke("Weather in Paris?").tool_calls
        """
        formatted = format_tools(tools, strict=strict)
        choice = normalize_tool_choice(tool_choice, formatted)
        if choice is not None:
            kwargs["tool_choice"] = choice
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        if strict:  # not sent: lets a null for a defaulted field mean "the default"
            kwargs[_STRICT_TOOL_SCHEMAS] = original_tool_schemas(tools)
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: Literal["json_schema", "function_calling", "json_mode"] = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """Return a runnable whose output follows ``schema``.

        Args:
            schema: A Pydantic v2 class, a ``TypedDict`` class or a JSON-schema dict.
                Pydantic classes give Pydantic instances; others give dicts.
            method: ``"json_schema"`` (default: Cerebras structured outputs, strict,
                with the schema sanitised to its rules), ``"function_calling"`` (a
                forced tool call) or ``"json_mode"`` (``json_object``; describe the
                format in the prompt).
            include_raw: Return ``{"raw", "parsed", "parsing_error"}`` instead of raising
                on parse errors.
            strict: For ``json_schema`` defaults to ``True``; for ``function_calling``
                marks the tool strict.
            **kwargs: Passed to ``bind``.

        Returns:
            A runnable producing the parsed output.

        Raises:
            StrictSchemaError: If the schema cannot be made strict (before any call).
            ValueError: For an unknown ``method`` or a missing schema.

        Example:
            .. code-block:: python

                from pydantic import BaseModel


                class Joke(BaseModel):
                    setup: str
                    punchline: str


                ChatCerebras().with_structured_output(Joke).invoke("Tell me a joke")
        """
        is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
        parser: OutputParserLike[Any]
        llm: Runnable[LanguageModelInput, Any]
        if method == "json_mode":
            llm = self.bind(
                response_format={"type": "json_object"},
                ls_structured_output_format={"kwargs": {"method": method}, "schema": schema},
                **kwargs,
            )
            parser = (
                PydanticOutputParser(pydantic_object=schema) if is_pydantic else JsonOutputParser()
            )
        elif schema is None:
            msg = f"with_structured_output(method={method!r}) needs a schema."
            raise ValueError(msg)
        elif method == "json_schema":
            response_format = cerebras_response_format(schema, strict=strict is not False)
            original_schema = json_schema_for(schema)[1]
            llm = self.bind(
                response_format=response_format,
                ls_structured_output_format={
                    "kwargs": {"method": method, "strict": strict is not False},
                    "schema": convert_to_json_schema(schema),
                },
                **kwargs,
            )
            parser = strict_json_parser(schema if is_pydantic else None, original_schema)
        elif method == "function_calling":
            tool_name = convert_to_openai_tool(schema)["function"]["name"]
            llm = self.bind_tools(
                [schema],
                tool_choice=tool_name,
                strict=strict,
                ls_structured_output_format={
                    "kwargs": {"method": method},
                    "schema": convert_to_openai_tool(schema),
                },
                **kwargs,
            )
            parser = tool_call_parser(schema, tool_name, is_pydantic=is_pydantic)
        else:
            msg = (
                f"Unknown method {method!r}: use 'json_schema', 'function_calling' or 'json_mode'."
            )
            raise ValueError(msg)
        return with_parser(llm, parser, include_raw=include_raw)
