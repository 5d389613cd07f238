from __future__ import annotations

import copy
import json
from enum import Enum
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field, conint, constr
from typing_extensions import TypedDict

from langchain_cerebras_router.strict_schema import (
    MAX_ANY_OF_BRANCHES,
    UNSUPPORTED_KEYWORDS,
    StrictSchemaError,
    cerebras_response_format,
    json_schema_for,
    strip_optional_nulls,
    to_strict_json_schema,
)

# --------------------------------------------------------------------------- helpers

_JSON_TYPES: dict[str, Any] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


def assert_strict(schema: Any, path: str = "#") -> None:
    """Check the three strict-mode rules (and a few more) on every sub-schema."""
    assert isinstance(schema, dict), path
    assert schema, f"{path}: empty schema"
    for forbidden in ("$ref", "$defs", "definitions", "allOf", "oneOf"):
        assert forbidden not in schema, f"{path}: {forbidden}"
    assert not (UNSUPPORTED_KEYWORDS & schema.keys()), (
        f"{path}: {UNSUPPORTED_KEYWORDS & schema.keys()}"
    )
    assert not isinstance(schema.get("type"), list), f"{path}: type list"
    if path != "#":
        assert "title" not in schema, f"{path}: nested title"
    if schema.get("type") == "object":
        assert schema.get("additionalProperties") is False, path
        assert schema.get("required") == list(schema["properties"]), path
        for name, sub in schema["properties"].items():
            assert_strict(sub, f"{path}/properties/{name}")
    if schema.get("type") == "array":
        assert_strict(schema["items"], f"{path}/items")
    if "anyOf" in schema:
        assert 1 <= len(schema["anyOf"]) <= MAX_ANY_OF_BRANCHES, path
        for index, branch in enumerate(schema["anyOf"]):
            assert_strict(branch, f"{path}/anyOf/{index}")


def conforms(value: Any, schema: dict[str, Any]) -> bool:
    """Minimal validator for the strict subset (no jsonschema dependency)."""
    if "anyOf" in schema:
        return any(conforms(value, branch) for branch in schema["anyOf"])
    if "const" in schema and value != schema["const"]:
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    type_ = schema.get("type")
    if type_ == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_ == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if type_ is not None and not isinstance(value, _JSON_TYPES[type_]):
        return False
    if type_ == "object":
        props = schema["properties"]
        return set(value) == set(props) and all(conforms(value[k], props[k]) for k in props)
    if type_ == "array":
        return all(conforms(item, schema["items"]) for item in value)
    return True


# --------------------------------------------------------------------------- models


class Color(str, Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    """A postal address."""

    street: str = Field(min_length=2, description="Street and number")
    zip_code: str | None = Field(default=None, pattern=r"^\d{5}$")


class Person(BaseModel):
    """A person."""

    name: constr(max_length=20)  # type: ignore[valid-type]
    age: conint(ge=0, le=150)  # type: ignore[valid-type]
    color: Color
    kind: Literal["friend", "foe"]
    home: Address
    previous: list[Address] = Field(default_factory=list, min_length=0, max_length=5)
    nickname: str | None = None
    score: float = 0.5
    tags: list[str] = Field(default_factory=list, min_length=1)


class Node(BaseModel):
    value: int
    children: list[Node] = []


class Loose(BaseModel):
    name: str
    extra: dict[str, int]


class Envelope(TypedDict, total=False):
    """An envelope."""

    sender: str
    weight: Annotated[float, ..., "grams"]


class Inner(TypedDict):
    x: int


class Outer(TypedDict):
    """Outer.

    Args:
        inner: the inner value.
    """

    inner: Inner
    maybe: Inner | None
    many: list[Inner]


class Tree(TypedDict):
    value: int
    children: list[Tree]


# --------------------------------------------------------------------------- tests


def test_pydantic_model_is_sanitised() -> None:
    name, schema = json_schema_for(Person)
    strict = to_strict_json_schema(schema)
    assert name == "Person"
    assert_strict(strict)
    props = strict["properties"]
    assert list(props) == list(Person.model_fields)
    assert props["age"] == {"type": "integer"}  # ge/le removed
    assert props["name"] == {"type": "string"}  # max_length removed
    assert props["color"] == {"enum": ["red", "blue"], "type": "string"}
    assert props["kind"] == {"enum": ["friend", "foe"], "type": "string"}
    # Nested model inlined, its optional field nullable, constraints removed.
    home = props["home"]
    assert home["description"] == "A postal address."
    assert home["properties"]["street"] == {"description": "Street and number", "type": "string"}
    assert home["properties"]["zip_code"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    # Optional list of models: nullable, items inlined.
    assert props["previous"]["anyOf"][1] == {"type": "null"}
    assert props["previous"]["anyOf"][0]["items"] == home
    # Already-nullable optional field is not wrapped twice.
    assert props["nickname"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert props["score"] == {"anyOf": [{"type": "number"}, {"type": "null"}]}
    assert strict["title"] == "Person"
    assert strict["description"] == "A person."


def test_round_trip_through_original_model() -> None:
    strict = to_strict_json_schema(json_schema_for(Person)[1])
    person = Person(
        name="Ada",
        age=36,
        color=Color.BLUE,
        kind="friend",
        home=Address(street="1 Main St"),
        previous=[Address(street="2 Side St", zip_code="12345")],
        tags=["math"],
    )
    instance = json.loads(person.model_dump_json())
    assert conforms(instance, strict)
    assert Person.model_validate(instance) == person
    # A value the model may produce for an optional nullable field also round-trips.
    instance["nickname"] = None
    assert conforms(instance, strict)
    assert Person.model_validate(instance).nickname is None
    # The checker can fail: an unknown key or a wrong type is rejected.
    assert not conforms({**instance, "unexpected": 1}, strict)
    assert not conforms({**instance, "age": "36"}, strict)


def test_input_is_not_mutated() -> None:
    _, schema = json_schema_for(Person)
    before = copy.deepcopy(schema)
    strict = to_strict_json_schema(schema)
    assert schema == before
    strict["properties"]["home"]["properties"]["street"]["description"] = "changed"
    assert schema == before


def test_recursive_model_raises() -> None:
    with pytest.raises(StrictSchemaError) as info:
        cerebras_response_format(Node)
    assert info.value.path == "#/properties/children/items"
    assert "recursive" in str(info.value)
    assert "json_mode" in str(info.value)
    # Non-strict mode keeps the recursive schema as generated.
    fmt = cerebras_response_format(Node, strict=False)
    assert fmt["json_schema"]["strict"] is False
    assert "$defs" in fmt["json_schema"]["schema"]


def test_free_form_dict_raises() -> None:
    with pytest.raises(StrictSchemaError) as info:
        cerebras_response_format(Loose)
    assert info.value.path == "#/properties/extra"
    assert "additional properties" in str(info.value)


@pytest.mark.parametrize(
    ("schema", "path", "fragment"),
    [
        (
            {"type": "object", "properties": {"a": {"type": "object"}}},
            "#/properties/a",
            "free-form",
        ),
        ({"type": "object", "properties": {"a": {}}}, "#/properties/a", "any value"),
        ({"type": "object", "properties": {"a": {"type": "array"}}}, "#/properties/a", "items"),
        ({"type": "object", "additionalProperties": True, "properties": {}}, "#", "additional"),
        ({"type": "string"}, "#", "top level"),
        ({"$ref": "#/$defs/Missing", "$defs": {}}, "#", "unresolvable"),
        (
            {"type": "object", "properties": {"a": {"$ref": "other.json#/x"}}},
            "#/properties/a",
            "non-local",
        ),
        (
            {"type": "object", "properties": {"t": {"type": "array", "prefixItems": []}}},
            "#/properties/t",
            "prefixItems",
        ),
        (
            {
                "type": "object",
                "properties": {"u": {"allOf": [{"type": "string"}, {"type": "integer"}]}},
            },
            "#/properties/u",
            "allOf",
        ),
        (
            {
                "type": "object",
                "properties": {
                    "u": {"anyOf": [{"const": i} for i in range(MAX_ANY_OF_BRANCHES + 1)]}
                },
            },
            "#/properties/u",
            "union of 6",
        ),
    ],
)
def test_invalid_schemas(schema: dict[str, Any], path: str, fragment: str) -> None:
    with pytest.raises(StrictSchemaError) as info:
        to_strict_json_schema(schema)
    assert info.value.path == path
    assert fragment in str(info.value)


def test_dict_schema_input_and_shorthands() -> None:
    schema = {
        "title": "my schema!",
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date-time", "title": "When"},
            "maybe": {"type": ["integer", "null"], "minimum": 3, "description": "n"},
            "choice": {"oneOf": [{"$ref": "#/definitions/A"}, {"type": "string"}]},
            "wrapped": {"allOf": [{"$ref": "#/definitions/A"}], "description": "the A"},
            "level": {"type": ["string", "null"], "enum": ["low", "high", None]},
            "empty": {"type": "object", "properties": {}},
        },
        "required": ["when", "choice", "wrapped", "level", "empty"],
        "definitions": {
            "A": {
                "type": "object",
                "title": "A",
                "properties": {"a": {"type": "boolean"}},
                "required": ["a"],
            }
        },
    }
    name, raw = json_schema_for(schema)
    assert name == "my_schema_"
    strict = to_strict_json_schema(raw)
    assert_strict(strict)
    props = strict["properties"]
    assert props["when"] == {"type": "string"}
    assert props["maybe"] == {"description": "n", "anyOf": [{"type": "integer"}, {"type": "null"}]}
    a_schema = {
        "type": "object",
        "properties": {"a": {"type": "boolean"}},
        "required": ["a"],
        "additionalProperties": False,
    }
    assert props["choice"] == {"anyOf": [a_schema, {"type": "string"}]}
    assert props["wrapped"] == {**a_schema, "description": "the A"}
    assert props["level"] == {"enum": ["low", "high", None]}  # already nullable: not wrapped
    assert props["empty"] == {
        "type": "object",
        "properties": {},
        "required": [],
        "additionalProperties": False,
    }


def test_schema_without_title_gets_default_name() -> None:
    name, schema = json_schema_for({"type": "object", "properties": {"a": {"type": "string"}}})
    assert name == "response"
    assert "title" not in schema


def test_openai_function_dict_input() -> None:
    function = {
        "name": "get weather",
        "description": "Weather of a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "minLength": 1}},
        },
    }
    fmt = cerebras_response_format(function)
    assert fmt["json_schema"]["name"] == "get_weather"
    schema = fmt["json_schema"]["schema"]
    assert_strict(schema)
    assert schema["properties"] == {"city": {"anyOf": [{"type": "string"}, {"type": "null"}]}}
    assert schema["description"] == "Weather of a city."


def test_long_name_is_truncated() -> None:
    name, _ = json_schema_for({"title": "x" * 100, "type": "object", "properties": {}})
    assert name == "x" * 64


def test_typed_dict_total_false() -> None:
    name, schema = json_schema_for(Envelope)
    assert name == "Envelope"
    assert schema["required"] == []
    strict = to_strict_json_schema(schema)
    assert_strict(strict)
    assert strict["properties"]["sender"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert strict["properties"]["weight"] == {
        "anyOf": [{"type": "number"}, {"type": "null"}],
        "description": "grams",
    }


def test_nested_typed_dicts() -> None:
    _, schema = json_schema_for(Outer)
    strict = to_strict_json_schema(schema)
    assert_strict(strict)
    inner = {
        "type": "object",
        "properties": {"x": {"type": "integer"}},
        "required": ["x"],
        "additionalProperties": False,
    }
    props = strict["properties"]
    assert props["inner"] == {**inner, "description": "the inner value."}
    assert props["maybe"] == {"anyOf": [inner, {"type": "null"}]}  # Optional kept nullable
    assert props["many"] == {"type": "array", "items": inner}
    # No nested TypedDict inherits dict's docstring as its description.
    assert "dict()" not in json.dumps(schema)


def test_recursive_typed_dict_raises_value_error() -> None:
    with pytest.raises(ValueError, match="Tree refers to itself"):
        json_schema_for(Tree)


def test_function_input() -> None:
    def lookup(city: str, days: int = 1) -> None:
        """Look up a forecast.

        Args:
            city: the city.
            days: how many days.
        """

    fmt = cerebras_response_format(lookup)
    schema = fmt["json_schema"]["schema"]
    assert fmt["json_schema"]["name"] == "lookup"
    assert_strict(schema)
    assert schema["properties"]["days"] == {
        "anyOf": [{"type": "integer"}, {"type": "null"}],
        "description": "how many days.",
    }


def test_response_format_shape() -> None:
    fmt = cerebras_response_format(Address)
    assert fmt == {
        "type": "json_schema",
        "json_schema": {
            "name": "Address",
            "schema": to_strict_json_schema(Address.model_json_schema()),
            "strict": True,
        },
    }
    loose = cerebras_response_format(Address, strict=False)
    assert loose["json_schema"]["schema"] == Address.model_json_schema()


def test_error_is_value_error_with_fix() -> None:
    err = StrictSchemaError("#/a", "a problem", "do this")
    assert isinstance(err, ValueError)
    assert str(err).startswith(
        "Schema at '#/a' cannot be used with strict=True: a problem. Fix: do this"
    )
    assert "strict=False" in str(err)


def test_checker_rejects_unsanitised_schemas() -> None:
    with pytest.raises(AssertionError):
        assert_strict(Person.model_json_schema())
    with pytest.raises(AssertionError):
        assert_strict({"type": "object", "properties": {"a": {"type": "string"}}})


def test_dict_input_is_not_mutated() -> None:
    schema = {
        "title": "Thing",
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/A"}},
        "$defs": {"A": {"type": "object", "properties": {"b": {"type": "string"}}}},
    }
    before = copy.deepcopy(schema)
    fmt = cerebras_response_format(schema)
    assert schema == before
    _, raw = json_schema_for(schema)
    raw["$defs"]["A"]["properties"]["b"]["type"] = "integer"
    assert schema == before
    assert fmt["json_schema"]["schema"]["properties"]["a"]["anyOf"][0]["properties"]["b"] == {
        "anyOf": [{"type": "string"}, {"type": "null"}]
    }


def test_strip_optional_nulls_lets_defaults_apply() -> None:
    _, original = json_schema_for(Person)
    strict = to_strict_json_schema(original)
    output = {
        "name": "Ada",
        "age": 36,
        "color": "red",
        "kind": "foe",
        "home": {"street": "1 Main St", "zip_code": None},
        "previous": [{"street": "2 Side St", "zip_code": None}],
        "nickname": None,
        "score": None,
        "tags": None,
    }
    assert conforms(output, strict)  # what strict decoding may produce
    with pytest.raises(ValueError):
        Person.model_validate(output)
    before = copy.deepcopy(output)
    cleaned = strip_optional_nulls(output, original)
    assert output == before
    # Nullable fields keep their null; non-nullable optional ones are dropped.
    assert cleaned["nickname"] is None
    assert cleaned["home"] == {"street": "1 Main St", "zip_code": None}
    assert cleaned["previous"] == [{"street": "2 Side St", "zip_code": None}]
    assert "score" not in cleaned
    assert "tags" not in cleaned
    person = Person.model_validate(cleaned)
    assert person.score == 0.5
    assert person.tags == []


def test_strip_optional_nulls_inside_unions_and_required() -> None:
    schema = {
        "type": "object",
        "properties": {
            "req": {"type": "integer"},
            "choice": {
                "anyOf": [
                    {"$ref": "#/$defs/A"},
                    {"type": "array", "items": {"$ref": "#/$defs/A"}},
                ]
            },
        },
        "required": ["req"],
        "$defs": {"A": {"type": "object", "properties": {"x": {"type": "integer"}}}},
    }
    # A null for a required field is left for validation to report.
    assert strip_optional_nulls({"req": None, "extra": None}, schema) == {
        "req": None,
        "extra": None,
    }
    assert strip_optional_nulls({"req": 1, "choice": {"x": None}}, schema) == {
        "req": 1,
        "choice": {},
    }
    assert strip_optional_nulls({"req": 1, "choice": [{"x": None}, {"x": 2}]}, schema) == {
        "req": 1,
        "choice": [{}, {"x": 2}],
    }
    assert strip_optional_nulls("text", schema) == "text"
