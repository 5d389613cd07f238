"""Request validation and error bodies, as each provider answers them.

Cerebras answers 4xx errors with a flat body ``{"message", "type", "param", "code"}`` and 5xx
errors wrapped in ``{"error": {...}}``; Groq always wraps, without ``param``. Validation mirrors
what the real APIs reject: unknown top-level fields (the SDKs' ``create()`` arguments are the
accepted set), empty ``messages``, an assistant ``reasoning_content`` key on Cerebras, a tool
result without a matching tool call, strict JSON schemas that break the strict rules, a bad
``tool_choice``, and out-of-range parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from langchain_cerebras_router.testing.catalog import ModelSpec, Provider

_CEREBRAS_CHAT_FIELDS_TEXT: Final = (
    "messages model clear_thinking disable_reasoning frequency_penalty logit_bias logprobs "
    "max_completion_tokens max_tokens min_completion_tokens min_tokens model_parameters n "
    "parallel_tool_calls prediction presence_penalty prompt_cache_key reasoning_effort "
    "reasoning_format response_format seed service_tier stop stream stream_options "
    "temperature tool_choice tools top_logprobs top_p user"
)
CEREBRAS_CHAT_FIELDS: Final = frozenset(_CEREBRAS_CHAT_FIELDS_TEXT.split())
_GROQ_CHAT_FIELDS_TEXT: Final = (
    "messages model citation_options compound_custom disable_tool_validation documents "
    "exclude_domains frequency_penalty function_call functions include_domains "
    "include_reasoning logit_bias logprobs max_completion_tokens max_tokens metadata n "
    "parallel_tool_calls presence_penalty reasoning_effort reasoning_format response_format "
    "search_settings seed service_tier stop store stream stream_options temperature "
    "tool_choice tools top_logprobs top_p user"
)
GROQ_CHAT_FIELDS: Final = frozenset(_GROQ_CHAT_FIELDS_TEXT.split())
_CEREBRAS_COMPLETION_FIELDS_TEXT: Final = (
    "model prompt best_of echo frequency_penalty grammar_root logit_bias logprobs "
    "max_tokens min_tokens n presence_penalty prompt_cache_key reasoning_format "
    "return_raw_tokens seed stop stream stream_options suffix temperature top_p user"
)
CEREBRAS_COMPLETION_FIELDS: Final = frozenset(_CEREBRAS_COMPLETION_FIELDS_TEXT.split())

REASONING_EFFORTS: Final[dict[Provider, frozenset[str]]] = {
    "cerebras": frozenset({"none", "low", "medium", "high"}),
    "groq": frozenset({"none", "default", "low", "medium", "high"}),
}
REASONING_FORMATS: Final[dict[Provider, frozenset[str]]] = {
    "cerebras": frozenset({"parsed", "raw", "hidden", "none", "text_parsed"}),
    "groq": frozenset({"parsed", "raw", "hidden"}),
}
SERVICE_TIERS: Final[dict[Provider, frozenset[str]]] = {
    "cerebras": frozenset({"auto", "default", "flex", "priority"}),
    "groq": frozenset({"auto", "on_demand", "flex", "performance"}),
}
STRICT_FORBIDDEN_KEYWORDS: Final = (
    "minItems",
    "maxItems",
    "format",
    "pattern",
    "minLength",
    "maxLength",
)
_ROLES: Final = frozenset({"system", "developer", "user", "assistant", "tool"})
_TOOL_NAME_RE: Final = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

#: Default ``(type, code)`` of error bodies by status, per provider.
_ERROR_KINDS: Final[dict[Provider, dict[int, tuple[str, str]]]] = {
    "cerebras": {
        400: ("invalid_request_error", "wrong_api_format"),
        401: ("invalid_request_error", "wrong_api_key"),
        403: ("permission_denied_error", "permission_denied"),
        404: ("not_found_error", "model_not_found"),
        408: ("timeout_error", "request_timeout"),
        422: ("invalid_request_error", "unprocessable_entity"),
        429: ("too_many_requests_error", "request_quota_exceeded"),
        498: ("capacity_exceeded", "capacity_exceeded"),
        500: ("internal_server_error", "internal_server_error"),
        502: ("bad_gateway_error", "bad_gateway"),
        503: ("service_unavailable_error", "queue_exceeded"),
        504: ("gateway_timeout_error", "gateway_timeout"),
    },
    "groq": {
        400: ("invalid_request_error", "invalid_request"),
        401: ("invalid_request_error", "invalid_api_key"),
        403: ("permission_denied", "permission_denied"),
        404: ("invalid_request_error", "model_not_found"),
        408: ("timeout", "request_timeout"),
        422: ("invalid_request_error", "unprocessable_entity"),
        429: ("tokens", "rate_limit_exceeded"),
        498: ("capacity_exceeded", "capacity_exceeded"),
        500: ("internal_server_error", "internal_server_error"),
        502: ("bad_gateway", "bad_gateway"),
        503: ("service_unavailable", "service_unavailable"),
        504: ("gateway_timeout", "gateway_timeout"),
    },
}
_DEFAULT_MESSAGES: Final[dict[int, str]] = {
    400: "Bad request.",
    401: "Wrong API Key",
    403: "Permission denied.",
    404: "Not found.",
    408: "Request timed out.",
    422: "Unprocessable entity.",
    429: "Requests per minute limit exceeded - too many requests sent.",
    498: "The flex tier is at capacity. Please try again later.",
    500: "Internal server error. Please try again later.",
    502: "Bad gateway. Please try again later.",
    503: "We're experiencing high traffic right now! Please try again soon.",
    504: "Gateway timeout. Please try again later.",
}


class ApiError(Exception):
    """An error answer: status, message, and the fields of the provider's error body."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        param: str | None = None,
        type_: str | None = None,
        code: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Describe the error; ``type_`` and ``code`` default per status and provider."""
        super().__init__(message or _DEFAULT_MESSAGES.get(status, "Request failed."))
        self.status = status
        self.message = message or _DEFAULT_MESSAGES.get(status, "Request failed.")
        self.param = param
        self.type_ = type_
        self.code = code
        self.headers = list(headers)

    def body(self, provider: Provider) -> dict[str, Any]:
        """The JSON error body this provider sends."""
        return error_body(
            provider, self.status, self.message, param=self.param, type_=self.type_, code=self.code
        )


def error_fields(
    provider: Provider, status: int, type_: str | None, code: str | None
) -> tuple[str, str]:
    """The ``(type, code)`` pair of an error, with per-status defaults."""
    default_type, default_code = _ERROR_KINDS[provider].get(
        status, ("server_error" if status >= 500 else "invalid_request_error", f"http_{status}")
    )
    return type_ or default_type, code or default_code


def error_body(
    provider: Provider,
    status: int,
    message: str,
    *,
    param: str | None = None,
    type_: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """Cerebras: flat for 4xx, wrapped for 5xx. Groq: always ``{"error": {...}}``."""
    kind, error_code = error_fields(provider, status, type_, code)
    if provider == "groq":
        return {"error": {"message": message, "type": kind, "code": error_code}}
    if param is None:
        param = {401: "api_key", 429: "quota", 503: "queue"}.get(status)
    fields = {"message": message, "type": kind, "param": param, "code": error_code}
    return {"error": fields} if status >= 500 else fields


def _bad(message: str, param: str | None = None) -> ApiError:
    return ApiError(400, message, param=param)


def resolve_model(
    body: Mapping[str, Any], provider: Provider, models: Mapping[str, ModelSpec]
) -> ModelSpec:
    """The requested model, or a 400 (missing) / 404 (unknown) error."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("body.model: Field required", "model")
    spec = models.get(model)
    if spec is None:
        prefix = "The model" if provider == "groq" else "Model"
        shown = f"`{model}`" if provider == "groq" else model
        raise ApiError(
            404,
            f"{prefix} {shown} does not exist or you do not have access to it.",
            param="model",
            code="model_not_found",
        )
    return spec


def _check_fields(body: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(key for key in body if key not in allowed)
    if unknown:
        raise _bad(
            f"body: Unrecognized request argument supplied: {', '.join(unknown)}", unknown[0]
        )


def _check_number(
    body: Mapping[str, Any], key: str, low: float, high: float, *, integer: bool = False
) -> None:
    value = body.get(key)
    if value is None:
        return
    numeric = isinstance(value, int) or (isinstance(value, float) and not integer)
    if isinstance(value, bool) or not numeric or not low <= value <= high:
        kind = "an integer" if integer else "a number"
        raise _bad(f"body.{key}: must be {kind} between {low:g} and {high:g}", key)


def validate_chat(
    body: Mapping[str, Any], provider: Provider, models: Mapping[str, ModelSpec]
) -> ModelSpec:
    """Check a chat request as the provider would; returns the model or raises ApiError."""
    _check_fields(body, CEREBRAS_CHAT_FIELDS if provider == "cerebras" else GROQ_CHAT_FIELDS)
    spec = resolve_model(body, provider, models)
    _check_messages(body.get("messages"), provider)
    tool_names = _check_tools(body.get("tools"), provider)
    _check_tool_choice(body.get("tool_choice"), tool_names)
    _check_response_format(body.get("response_format"), provider)
    _check_common(body, provider)
    if body.get("parallel_tool_calls") not in (None, True, False):
        raise _bad("body.parallel_tool_calls: must be a boolean", "parallel_tool_calls")
    tier = body.get("service_tier")
    if tier is not None and tier not in SERVICE_TIERS[provider]:
        allowed = "|".join(sorted(SERVICE_TIERS[provider]))
        raise _bad(f"body.service_tier: must be one of {allowed}", "service_tier")
    effort = body.get("reasoning_effort")
    if effort is not None and effort not in REASONING_EFFORTS[provider]:
        allowed = "|".join(sorted(REASONING_EFFORTS[provider]))
        raise _bad(f"body.reasoning_effort: must be one of {allowed}", "reasoning_effort")
    fmt = body.get("reasoning_format")
    if fmt is not None and fmt not in REASONING_FORMATS[provider]:
        allowed = "|".join(sorted(REASONING_FORMATS[provider]))
        raise _bad(f"body.reasoning_format: must be one of {allowed}", "reasoning_format")
    if provider == "groq" and fmt is not None:
        if body.get("include_reasoning") is not None:
            raise _bad(
                "reasoning_format and include_reasoning cannot be used together", "reasoning_format"
            )
        if not spec.reasoning:
            raise _bad("reasoning_format is not supported with this model", "reasoning_format")
    return spec


def validate_completion(body: Mapping[str, Any], models: Mapping[str, ModelSpec]) -> ModelSpec:
    """Check a legacy ``/v1/completions`` request (Cerebras only)."""
    _check_fields(body, CEREBRAS_COMPLETION_FIELDS)
    spec = resolve_model(body, "cerebras", models)
    prompt = body.get("prompt")
    if not isinstance(prompt, (str, list)) or (isinstance(prompt, (str, list)) and not prompt):
        raise _bad("body.prompt: must be a non-empty string or list", "prompt")
    _check_common(body, "cerebras")
    return spec


def _check_common(body: Mapping[str, Any], provider: Provider) -> None:
    _check_number(body, "temperature", 0.0, 2.0)
    _check_number(body, "top_p", 0.0, 1.0)
    _check_number(body, "frequency_penalty", -2.0, 2.0)
    _check_number(body, "presence_penalty", -2.0, 2.0)
    _check_number(body, "max_completion_tokens", 1, 10_000_000, integer=True)
    _check_number(body, "max_tokens", 1, 10_000_000, integer=True)
    _check_number(body, "seed", -(2**63), 2**64, integer=True)
    if body.get("n") not in (None, 1):
        raise _bad("body.n: only n = 1 is supported", "n")
    if body.get("stream") not in (None, True, False):
        raise _bad("body.stream: must be a boolean", "stream")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, Mapping):
        raise _bad("body.stream_options: must be an object", "stream_options")
    stop = body.get("stop")
    if stop is not None:
        stops = [stop] if isinstance(stop, str) else stop
        if (
            not isinstance(stops, list)
            or len(stops) > 4
            or not all(isinstance(item, str) for item in stops)
        ):
            raise _bad("body.stop: must be a string or a list of up to 4 strings", "stop")


def _check_messages(messages: Any, provider: Provider) -> None:
    if messages is None:
        raise _bad("body.messages: Field required", "messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("body.messages: must be a non-empty list of messages", "messages")
    call_ids: set[str] = set()
    for index, message in enumerate(messages):
        where = f"messages.{index}"
        if not isinstance(message, Mapping):
            raise _bad(f"body.{where}: must be an object", "messages")
        role = message.get("role")
        if role not in _ROLES:
            raise _bad(f"body.{where}.role: must be one of {'|'.join(sorted(_ROLES))}", "messages")
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise _bad(f"body.{where}.content: must be a string or a list of parts", "messages")
        if isinstance(content, list) and not all(
            isinstance(part, Mapping) and isinstance(part.get("type"), str) for part in content
        ):
            raise _bad(f"body.{where}.content: every part needs a type", "messages")
        if role == "assistant":
            if provider == "cerebras" and "reasoning_content" in message:
                raise _bad(
                    f"body.{where}: Extra inputs are not permitted: 'reasoning_content' "
                    "(send prior reasoning as 'reasoning')",
                    "messages",
                )
            call_ids.update(_check_assistant_calls(message.get("tool_calls"), where))
        elif role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str) or not call_id:
                raise _bad(f"body.{where}.tool_call_id: Field required", "messages")
            if call_id not in call_ids:
                raise _bad(
                    f"body.{where}: tool_call_id {call_id!r} does not match any tool call of an "
                    "earlier assistant message",
                    "messages",
                )
        elif content is None:
            raise _bad(f"body.{where}.content: Field required", "messages")


def _check_assistant_calls(calls: Any, where: str) -> list[str]:
    if calls is None:
        return []
    if not isinstance(calls, list):
        raise _bad(f"body.{where}.tool_calls: must be a list", "messages")
    ids: list[str] = []
    for position, call in enumerate(calls):
        at = f"body.{where}.tool_calls.{position}"
        function = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
            raise _bad(f"{at}.function.name: Field required", "messages")
        if not isinstance(function.get("arguments"), str):
            raise _bad(f"{at}.function.arguments: must be a JSON string", "messages")
        call_id = call.get("id") if isinstance(call, Mapping) else None
        if not isinstance(call_id, str) or not call_id:
            raise _bad(f"{at}.id: Field required", "messages")
        ids.append(call_id)
    return ids


def _check_tools(tools: Any, provider: Provider) -> set[str]:
    if tools is None:
        return set()
    if not isinstance(tools, list):
        raise _bad("body.tools: must be a list", "tools")
    names: set[str] = set()
    for index, tool in enumerate(tools):
        at = f"body.tools.{index}"
        if not isinstance(tool, Mapping) or tool.get("type") != "function":
            raise _bad(f"{at}.type: must be 'function'", "tools")
        function = tool.get("function")
        if not isinstance(function, Mapping):
            raise _bad(f"{at}.function: Field required", "tools")
        name = function.get("name")
        if not isinstance(name, str) or not _TOOL_NAME_RE.match(name):
            raise _bad(f"{at}.function.name: must match ^[A-Za-z0-9_.:-]{{1,64}}$", "tools")
        parameters = function.get("parameters")
        if parameters is not None and not isinstance(parameters, Mapping):
            raise _bad(f"{at}.function.parameters: must be a JSON schema object", "tools")
        if provider == "cerebras" and function.get("strict") is True and parameters is not None:
            problem = strict_schema_problem(parameters)
            if problem:
                raise _bad(f"{at}.function.parameters: {problem}", "tools")
        names.add(name)
    return names


def _check_tool_choice(choice: Any, tool_names: set[str]) -> None:
    if choice is None or choice in ("none", "auto"):
        return
    if choice == "required":
        if not tool_names:
            raise _bad("body.tool_choice: 'required' needs tools", "tool_choice")
        return
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        function = choice.get("function")
        name = function.get("name") if isinstance(function, Mapping) else None
        if isinstance(name, str) and name in tool_names:
            return
        raise _bad(f"body.tool_choice: function {name!r} is not among the tools", "tool_choice")
    raise _bad(
        "body.tool_choice: must be 'none', 'auto', 'required' or "
        '{"type": "function", "function": {"name": ...}}',
        "tool_choice",
    )


def _check_response_format(response_format: Any, provider: Provider) -> None:
    if response_format is None:
        return
    kind = response_format.get("type") if isinstance(response_format, Mapping) else None
    if kind in ("text", "json_object"):
        return
    if kind != "json_schema":
        raise _bad(
            "body.response_format.type: must be one of text|json_object|json_schema",
            "response_format",
        )
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, Mapping) else None
    if not isinstance(schema, Mapping):
        raise _bad("body.response_format.json_schema.schema: Field required", "response_format")
    if provider == "cerebras" and isinstance(spec, Mapping) and spec.get("strict") is True:
        problem = strict_schema_problem(schema)
        if problem:
            raise _bad(f"body.response_format.json_schema.schema: {problem}", "response_format")


def strict_schema_problem(schema: Mapping[str, Any]) -> str | None:
    """Why ``schema`` breaks Cerebras strict mode, or ``None`` if it complies.

    Strict mode needs ``additionalProperties: false`` and every property in ``required`` on
    every object, and rejects ``minItems``, ``maxItems``, ``format``, ``pattern``,
    ``minLength`` and ``maxLength``.
    """
    if schema.get("type") != "object" and "$ref" not in schema:
        return "the root of a strict schema must be an object"
    return _strict_walk(schema, "#")


def _strict_walk(node: Any, path: str) -> str | None:
    if isinstance(node, list):
        for index, item in enumerate(node):
            problem = _strict_walk(item, f"{path}/{index}")
            if problem:
                return problem
        return None
    if not isinstance(node, Mapping):
        return None
    for keyword in STRICT_FORBIDDEN_KEYWORDS:
        if keyword in node:
            return f"keyword '{keyword}' at '{path}' is not supported in strict mode"
    types = node.get("type")
    is_object = types == "object" or (isinstance(types, list) and "object" in types)
    if is_object or "properties" in node:
        if node.get("additionalProperties") is not False:
            return f"object at '{path}' must set additionalProperties to false in strict mode"
        properties = node.get("properties")
        required = node.get("required")
        required_set = set(required) if isinstance(required, list) else set()
        if isinstance(properties, Mapping):
            missing = [name for name in properties if name not in required_set]
            if missing:
                return (
                    f"object at '{path}' must list every property in 'required' in strict mode "
                    f"(missing: {', '.join(missing)})"
                )
            for name, sub in properties.items():
                problem = _strict_walk(sub, f"{path}/properties/{name}")
                if problem:
                    return problem
    for key in ("items", "prefixItems", "anyOf", "oneOf", "allOf", "not"):
        if key in node:
            problem = _strict_walk(node[key], f"{path}/{key}")
            if problem:
                return problem
    for key in ("$defs", "definitions"):
        defs = node.get(key)
        if isinstance(defs, Mapping):
            for name, sub in defs.items():
                problem = _strict_walk(sub, f"{path}/{key}/{name}")
                if problem:
                    return problem
    return None
