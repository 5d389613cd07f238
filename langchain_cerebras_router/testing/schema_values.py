"""Deterministic values that validate against a JSON Schema, filled from the prompt's text.

Used for tool-call arguments and for ``response_format`` JSON. Values come, where the type fits,
from what the user wrote: quoted strings and capitalised phrases for strings, numbers for
integers and numbers (``"magic_function(3)"`` gives ``{"input": 3}``). Everything else is
generated from the schema: required and optional properties, enums (first value), ``const``,
``$ref`` into ``$defs``/``definitions``, ``anyOf``/``oneOf`` (first non-null branch), ``allOf``,
numeric bounds, string lengths and common formats, array sizes.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Final

_QUOTED_RE: Final = re.compile(
    r"(?<!\w)(?:\"([^\"\n]{1,200})\"|'([^'\n]{1,200})'"
    "|\u201c([^\u201d\n]{1,200})\u201d|\u2018([^\u2019\n]{1,200})\u2019)(?!\\w)"
)
_NUMBER_RE: Final = re.compile(r"(?<![\w.-])-?\d+(?:\.\d+)?(?![\w])")
_PHRASE_RE: Final = re.compile(r"[A-Z][\w'-]*(?:(?:,\s*|\s+)[A-Z][\w'-]*)*")
_SENTENCE_END_RE: Final = re.compile(r"[.!?:;\n]\s*$")
_MAX_DEPTH: Final = 12

_FORMAT_VALUES: Final[dict[str, str]] = {
    "date": "2025-01-15",
    "date-time": "2025-01-15T12:00:00Z",
    "time": "12:00:00",
    "duration": "PT1H",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "https://example.com/",
    "uuid": "123e4567-e89b-42d3-a456-426614174000",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
}


def quoted_strings(text: str) -> list[str]:
    """Strings the user put in quotes, in order."""
    return [next(group for group in match.groups() if group) for match in _QUOTED_RE.finditer(text)]


def numbers_in(text: str) -> list[float]:
    """Numbers written in the text, in order (``"3 + 4"`` -> ``[3.0, 4.0]``)."""
    return [float(match.group()) for match in _NUMBER_RE.finditer(text)]


def capitalised_phrases(text: str) -> list[str]:
    """Runs of capitalised words that do not merely start a sentence (``"San Francisco, CA"``)."""
    phrases: list[str] = []
    for match in _PHRASE_RE.finditer(text):
        phrase = match.group()
        before = text[: match.start()]
        if not before.strip() or _SENTENCE_END_RE.search(before):
            _, _, phrase = phrase.partition(" ")
            phrase = phrase.lstrip(", ")
        if phrase and phrase != "I":
            phrases.append(phrase.rstrip(","))
    return phrases


class TextFacts:
    """Values found in the user's text, handed out in order as a schema asks for them.

    Example:
        ```python
        from langchain_cerebras_router.testing.schema_values import TextFacts, value_for_schema

        facts = TextFacts("Add 3 and 4", filler=lambda path: path)
        schema = {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        }
        assert value_for_schema(schema, facts) == {"a": 3, "b": 4}
        ```
    """

    def __init__(self, text: str, filler: Callable[[str], str]) -> None:
        """Collect quoted strings, capitalised phrases and numbers from ``text``.

        Args:
            text: The text to mine (usually the last user message).
            filler: Makes a deterministic fallback string from a property path.
        """
        self._strings: deque[str] = deque([*quoted_strings(text), *capitalised_phrases(text)])
        self._numbers: list[float] = numbers_in(text)
        self._filler = filler

    def take_string(self, path: str) -> str:
        """The next string from the text, else a deterministic filler for ``path``."""
        return self._strings.popleft() if self._strings else self._filler(path)

    def take_number(self, low: float, high: float, *, integer: bool) -> float | None:
        """The first unused number from the text within ``[low, high]``, if any."""
        for index, value in enumerate(self._numbers):
            if integer and not value.is_integer():
                continue
            if low <= value <= high:
                del self._numbers[index]
                return value
        return None


class SchemaValueGenerator:
    """Generates one value for a schema (and its ``$defs``) from :class:`TextFacts`.

    Use it through :func:`value_for_schema` (see :class:`TextFacts` for an example).
    """

    def __init__(self, root: Mapping[str, Any], facts: TextFacts) -> None:
        """Bind the root schema (for ``$ref``) and the facts to draw from."""
        self._root = root
        self._facts = facts

    def generate(self) -> Any:
        """A value for the root schema."""
        return self._value(self._root, "", 0)

    # ------------------------------------------------------------------ dispatch
    def _resolve(self, schema: Mapping[str, Any], depth: int) -> Mapping[str, Any]:
        seen = 0
        while isinstance(schema.get("$ref"), str) and seen < _MAX_DEPTH:
            target = self._pointer(schema["$ref"])
            merged = {key: value for key, value in schema.items() if key != "$ref"}
            schema = {**target, **merged}
            seen += 1
        if "allOf" in schema and isinstance(schema["allOf"], list):
            merged_all: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                if isinstance(part, Mapping):
                    part = self._resolve(part, depth + 1)
                    for key, value in part.items():
                        if key == "properties" and isinstance(value, Mapping):
                            merged_all["properties"] = {**merged_all.get("properties", {}), **value}
                        elif key == "required" and isinstance(value, list):
                            merged_all["required"] = [*merged_all.get("required", []), *value]
                        else:
                            merged_all.setdefault(key, value)
            schema = merged_all
        return schema

    def _pointer(self, ref: str) -> Mapping[str, Any]:
        if not ref.startswith("#"):
            return {}
        node: Any = self._root
        for raw in ref[1:].split("/"):
            if not raw:
                continue
            key = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                return {}
        return node if isinstance(node, Mapping) else {}

    def _value(self, schema: Any, path: str, depth: int) -> Any:
        if schema is True or not isinstance(schema, Mapping):
            return self._facts.take_string(path or "value")
        schema = self._resolve(schema, depth)
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            non_null = [item for item in enum if item is not None]
            return non_null[0] if non_null else enum[0]
        for key in ("anyOf", "oneOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                return self._value(self._pick_branch(branches, depth), path, depth + 1)
        kind = self._type_of(schema)
        if depth >= _MAX_DEPTH:
            return self._minimal(schema, kind)
        if kind == "object":
            return self._object(schema, path, depth)
        if kind == "array":
            return self._array(schema, path, depth)
        if kind == "integer":
            return int(self._number(schema, integer=True))
        if kind == "number":
            return self._number(schema, integer=False)
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return self._string(schema, path)

    def _pick_branch(self, branches: list[Any], depth: int) -> Any:
        for branch in branches:
            if isinstance(branch, Mapping):
                resolved = self._resolve(branch, depth + 1)
                if self._type_of(resolved) != "null":
                    return branch
        return branches[0]

    @staticmethod
    def _type_of(schema: Mapping[str, Any]) -> str:
        kind = schema.get("type")
        if isinstance(kind, list):
            non_null = [item for item in kind if item != "null"]
            kind = non_null[0] if non_null else "null"
        if isinstance(kind, str):
            return kind
        if "properties" in schema or "additionalProperties" in schema or "required" in schema:
            return "object"
        if "items" in schema or "prefixItems" in schema:
            return "array"
        return "string"

    @staticmethod
    def _minimal(schema: Mapping[str, Any], kind: str) -> Any:
        types = schema.get("type")
        if isinstance(types, list) and "null" in types:
            return None
        return {"object": {}, "array": [], "integer": 0, "number": 0.0, "boolean": False}.get(
            kind, ""
        )

    # ------------------------------------------------------------------ kinds
    def _object(self, schema: Mapping[str, Any], path: str, depth: int) -> dict[str, Any]:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        result: dict[str, Any] = {}
        for name, sub in properties.items():
            result[name] = self._value(sub, f"{path}.{name}" if path else name, depth + 1)
        required = schema.get("required")
        for name in required if isinstance(required, list) else []:
            if isinstance(name, str) and name not in result:
                result[name] = self._facts.take_string(f"{path}.{name}" if path else name)
        min_properties = schema.get("minProperties")
        extra = schema.get("additionalProperties")
        if isinstance(min_properties, int) and len(result) < min_properties:
            for index in range(len(result), min_properties):
                key = f"key{index + 1}"
                sub_path = f"{path}.{key}" if path else key
                sub = extra if isinstance(extra, Mapping) else {}
                result[key] = self._value(sub, sub_path, depth + 1)
        return result

    def _array(self, schema: Mapping[str, Any], path: str, depth: int) -> list[Any]:
        prefix = schema.get("prefixItems")
        items = schema.get("items")
        if isinstance(items, list):  # draft-4 tuple form
            prefix, items = items, schema.get("additionalItems")
        prefix = prefix if isinstance(prefix, list) else []
        min_items = schema.get("minItems")
        max_items = schema.get("maxItems")
        count = max(int(min_items) if isinstance(min_items, int) else 0, len(prefix), 1)
        if isinstance(max_items, int):
            count = min(count, max_items)
        values: list[Any] = []
        for index in range(count):
            sub = prefix[index] if index < len(prefix) else items
            sub = sub if isinstance(sub, Mapping) else {}
            values.append(self._value(sub, f"{path}[{index}]", depth + 1))
        if schema.get("uniqueItems") and len(values) > 1:
            values = [_distinct(value, index) for index, value in enumerate(values)]
        return values

    def _number(self, schema: Mapping[str, Any], *, integer: bool) -> float:
        low, high = _bounds(schema, integer=integer)
        multiple = schema.get("multipleOf")
        found = self._facts.take_number(low, high, integer=integer)
        value = found if found is not None else min(max(1.0, low), high)
        if isinstance(multiple, (int, float)) and multiple > 0:
            value = math.ceil(value / multiple) * multiple
            if value > high:
                value = math.floor(high / multiple) * multiple
        return float(int(value)) if integer else float(value)

    def _string(self, schema: Mapping[str, Any], path: str) -> str:
        fmt = schema.get("format")
        value = _FORMAT_VALUES.get(fmt) if isinstance(fmt, str) else None
        if value is None:
            value = self._facts.take_string(path or "value")
        min_length = schema.get("minLength")
        max_length = schema.get("maxLength")
        if isinstance(min_length, int) and len(value) < min_length:
            value = value + "x" * (min_length - len(value))
        if isinstance(max_length, int) and len(value) > max_length:
            value = value[:max_length]
        return value


def _bounds(schema: Mapping[str, Any], *, integer: bool) -> tuple[float, float]:
    low, high = -math.inf, math.inf
    minimum, maximum = schema.get("minimum"), schema.get("maximum")
    ex_min, ex_max = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    step = 1.0 if integer else 1e-6
    if isinstance(minimum, (int, float)) and not isinstance(minimum, bool):
        low = float(minimum) + (step if ex_min is True else 0.0)
    if isinstance(ex_min, (int, float)) and not isinstance(ex_min, bool):
        low = max(low, float(ex_min) + step)
    if isinstance(maximum, (int, float)) and not isinstance(maximum, bool):
        high = float(maximum) - (step if ex_max is True else 0.0)
    if isinstance(ex_max, (int, float)) and not isinstance(ex_max, bool):
        high = min(high, float(ex_max) - step)
    if integer:
        low, high = (
            math.ceil(low) if low > -math.inf else low,
            (math.floor(high) if high < math.inf else high),
        )
    if low > high:
        high = low
    return low, high


def _distinct(value: Any, index: int) -> Any:
    if index == 0:
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value + index
    if isinstance(value, str):
        return f"{value} {index + 1}"
    return value


def value_for_schema(schema: Mapping[str, Any], facts: TextFacts) -> Any:
    """Generate one value that validates against ``schema``, drawing on ``facts``."""
    return SchemaValueGenerator(schema, facts).generate()
