"""Output parsers for ``with_structured_output``, shared by ChatCerebras and the router.

* :func:`strict_json_parser` — JSON from strict structured outputs, into the caller's type;
* :func:`tool_call_parser` — the arguments of a forced tool call (``function_calling``),
  failing loudly when the only tool call's arguments are not JSON;
* :func:`with_parser` — attach a parser, optionally keeping the raw message
  (``include_raw=True``) as LangChain partner models do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Any

from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import JsonOutputParser
from langchain_core.output_parsers.base import OutputParserLike
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.runnables import Runnable, RunnableLambda, RunnableMap, RunnablePassthrough

from langchain_cerebras_router.strict_schema import strip_optional_nulls

__all__ = ["strict_json_parser", "tool_call_parser", "with_parser"]


def strict_json_parser(
    model_class: Any, original_schema: Mapping[str, Any]
) -> OutputParserLike[Any]:
    """Parse strict-mode JSON into the caller's type.

    Drops the nulls strict mode allowed for optional fields, then validates with the
    Pydantic class (if any) so that field defaults apply.
    """

    def finish(value: Any) -> Any:
        cleaned = strip_optional_nulls(value, original_schema)
        if model_class is None:
            return cleaned
        validate = getattr(model_class, "model_validate", None) or model_class.parse_obj
        return validate(cleaned)

    return JsonOutputParser() | RunnableLambda(finish)


def _require_valid_tool_call(message: Any) -> Any:
    """Fail parsing loudly when the only tool calls have arguments that are not JSON."""
    if isinstance(message, AIMessage) and message.invalid_tool_calls and not message.tool_calls:
        bad = message.invalid_tool_calls[0]
        msg = (
            f"Tool call {bad.get('name')!r} has arguments that are not valid JSON: "
            f"{bad.get('error')}"
        )
        raise OutputParserException(msg, llm_output=str(bad.get("args")))
    return message


def tool_call_parser(schema: Any, tool_name: str, *, is_pydantic: bool) -> OutputParserLike[Any]:
    """Parser for ``method="function_calling"``: the forced tool call's arguments.

    (With ``strict=True``, nulls that strict mode allowed only for defaulted fields are
    already gone from the tool call: see ``ChatCerebras.bind_tools``.)
    """
    parser: OutputParserLike[Any] = (
        PydanticToolsParser(tools=[schema], first_tool_only=True)
        if is_pydantic
        else JsonOutputKeyToolsParser(key_name=tool_name, first_tool_only=True)
    )
    return RunnableLambda(_require_valid_tool_call) | parser


def with_parser(
    llm: Runnable[LanguageModelInput, Any],
    parser: OutputParserLike[Any],
    *,
    include_raw: bool,
) -> Runnable[LanguageModelInput, Any]:
    """Attach an output parser, optionally keeping the raw message and parse errors."""
    if not include_raw:
        return llm | parser
    parse_raw: Callable[[Any], Any] = itemgetter("raw")
    parser_assign = RunnablePassthrough.assign(
        parsed=parse_raw | parser, parsing_error=lambda _: None
    )
    parser_none = RunnablePassthrough.assign(parsed=lambda _: None)
    parser_with_fallback = parser_assign.with_fallbacks(
        [parser_none], exception_key="parsing_error"
    )
    return RunnableMap(raw=llm) | parser_with_fallback
