"""Tool formatting and ``tool_choice`` normalisation shared by the chat models.

Validation happens here, at ``bind_tools`` time, so that a bad ``tool_choice`` is a
clear :class:`~langchain_cerebras_router.errors.InvalidToolChoiceError` before any
network call rather than a 400 from the API.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel

from langchain_cerebras_router.errors import InvalidToolChoiceError
from langchain_cerebras_router.strict_schema import to_strict_json_schema

__all__ = ["ToolLike", "format_tools", "normalize_tool_choice", "original_tool_schemas"]

ToolLike = dict[str, Any] | type[BaseModel] | Callable[..., Any] | BaseTool

_CHOICE_KEYWORDS = {"auto": "auto", "none": "none", "required": "required", "any": "required"}


def format_tools(tools: Sequence[ToolLike], *, strict: bool | None = None) -> list[dict[str, Any]]:
    """Convert tool-like objects to OpenAI/Cerebras ``tools`` entries.

    Args:
        tools: Pydantic models, ``@tool`` functions, ``BaseTool``s, callables or dicts.
        strict: When ``True``, mark each function ``strict`` and sanitise its parameter
            schema to Cerebras' strict rules (raises ``StrictSchemaError`` if impossible).

    Returns:
        The list of ``{"type": "function", "function": {...}}`` dicts.
    """
    formatted: list[dict[str, Any]] = []
    for tool in tools:
        entry = convert_to_openai_tool(tool)
        if strict:
            function = dict(entry["function"])
            function["parameters"] = to_strict_json_schema(
                function.get("parameters") or {"type": "object", "properties": {}}
            )
            function["strict"] = True
            entry = {**entry, "function": function}
        formatted.append(entry)
    return formatted


def original_tool_schemas(tools: Sequence[ToolLike]) -> dict[str, dict[str, Any]]:
    """Each tool's parameters schema as LangChain builds it (before strict sanitising)."""
    schemas: dict[str, dict[str, Any]] = {}
    for tool in tools:
        function = convert_to_openai_tool(tool)["function"]
        schemas[str(function["name"])] = dict(function.get("parameters") or {})
    return schemas


def _tool_names(formatted_tools: Sequence[dict[str, Any]]) -> list[str]:
    return [str(t.get("function", {}).get("name")) for t in formatted_tools if t.get("function")]


def normalize_tool_choice(
    tool_choice: dict[str, Any] | str | bool | None,
    formatted_tools: Sequence[dict[str, Any]],
) -> str | dict[str, Any] | None:
    """Validate ``tool_choice`` and convert it to the wire form.

    Accepted: ``None``/``False`` (not sent), ``"auto"``, ``"none"``, ``"any"`` or
    ``"required"``, ``True`` (the single bound tool), a bound tool's name, or
    ``{"type": "function", "function": {"name": <bound tool>}}``.

    Args:
        tool_choice: What the caller passed.
        formatted_tools: The tools being bound.

    Returns:
        ``None``, a keyword, or a ``{"type": "function", ...}`` dict.

    Raises:
        InvalidToolChoiceError: For anything else, or a name that is not bound.
    """
    names = _tool_names(formatted_tools)
    if tool_choice is None or tool_choice is False:
        return None
    if tool_choice is True:
        if len(names) != 1:
            msg = f"tool_choice=True needs exactly one bound tool; got {len(names)}: {names}."
            raise InvalidToolChoiceError(msg)
        return {"type": "function", "function": {"name": names[0]}}
    if isinstance(tool_choice, str):
        if tool_choice in _CHOICE_KEYWORDS:
            if not names and _CHOICE_KEYWORDS[tool_choice] == "required":
                msg = f"tool_choice={tool_choice!r} needs at least one bound tool; none given."
                raise InvalidToolChoiceError(msg)
            return _CHOICE_KEYWORDS[tool_choice]
        if tool_choice in names:
            return {"type": "function", "function": {"name": tool_choice}}
        msg = (
            f"tool_choice={tool_choice!r} is neither 'auto', 'none', 'any', 'required' nor "
            f"the name of a bound tool ({', '.join(names) or 'no tools bound'})."
        )
        raise InvalidToolChoiceError(msg)
    if isinstance(tool_choice, dict):
        name = (tool_choice.get("function") or {}).get("name") or tool_choice.get("name")
        if tool_choice.get("type", "function") == "function" and name in names:
            return {"type": "function", "function": {"name": name}}
        msg = (
            f"tool_choice={tool_choice!r} must look like "
            "{'type': 'function', 'function': {'name': <bound tool>}}; bound tools: "
            f"{', '.join(names) or 'none'}."
        )
        raise InvalidToolChoiceError(msg)
    msg = f"tool_choice must be a string, a dict, a bool or None; got {type(tool_choice).__name__}."
    raise InvalidToolChoiceError(msg)
