from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from langchain_cerebras_router.catalogue import (
    CATALOGUE_ENV_VAR,
    MAX_SUCCESSOR_HOPS,
    ModelCatalogue,
    ModelEntry,
    ResolvedModel,
)


@pytest.fixture
def catalogue(monkeypatch: pytest.MonkeyPatch) -> ModelCatalogue:
    monkeypatch.delenv(CATALOGUE_ENV_VAR, raising=False)
    return ModelCatalogue.default()


def _chain_catalogue(length: int) -> ModelCatalogue:
    """m0 -> m1 -> ... -> m{length}, all retired except the last."""
    models: dict[str, Any] = {}
    for i in range(length + 1):
        fields: dict[str, Any] = {"model_id": f"id-{i}"}
        if i < length:
            fields |= {"status": "retired", "successor": f"m{i + 1}"}
        models[f"m{i}"] = {"providers": {"p": fields}}
    return ModelCatalogue.from_dict({"models": models})


# --------------------------------------------------------------------------- packaged data


def test_packaged_metadata(catalogue: ModelCatalogue) -> None:
    assert catalogue.as_of == "2026-11"
    assert catalogue.source
    assert set(catalogue.providers) == {"cerebras", "groq", "openai"}
    assert ModelCatalogue.default() is catalogue  # loaded once


@pytest.mark.parametrize(
    ("logical", "provider", "model_id", "status", "speed", "prices", "reasoning"),
    [
        ("gpt-oss-120b", "cerebras", "gpt-oss-120b", "active", 3000, (0.35, 0.75), True),
        ("gpt-oss-120b", "groq", "openai/gpt-oss-120b", "active", 500, (0.15, 0.75), True),
        ("llama-3.3-70b", "groq", "llama-3.3-70b-versatile", "active", 276, (0.59, 0.79), False),
        ("llama-3.3-70b", "cerebras", "llama-3.3-70b", "retired", None, (None, None), False),
        ("llama-3.1-70b", "cerebras", "llama3.1-70b", "retired", 450, (None, None), False),
        ("llama-3.1-8b", "cerebras", "llama3.1-8b", "deprecated", 1800, (0.10, 0.10), False),
        ("llama-3.1-8b", "groq", "llama-3.1-8b-instant", "active", 560, (0.05, 0.08), False),
        (
            "llama-4-scout",
            "cerebras",
            "llama-4-scout-17b-16e-instruct",
            "retired",
            2648,
            (None, None),
            False,
        ),
        (
            "llama-4-scout",
            "groq",
            "meta-llama/llama-4-scout-17b-16e-instruct",
            "preview",
            594,
            (0.11, 0.34),
            False,
        ),
        (
            "llama-4-maverick",
            "cerebras",
            "llama-4-maverick-17b-128e-instruct",
            "retired",
            2522,
            (None, None),
            False,
        ),
        (
            "deepseek-r1-distill-llama-70b",
            "groq",
            "deepseek-r1-distill-llama-70b",
            "deprecated",
            None,
            (0.75, 0.99),
            True,
        ),
        (
            "qwen-3-235b-instruct",
            "cerebras",
            "qwen-3-235b-a22b-instruct-2507",
            "active",
            1400,
            (0.60, 1.20),
            False,
        ),
        ("zai-glm-4.7", "cerebras", "zai-glm-4.7", "preview", 1000, (None, None), True),
        ("gpt-4o", "openai", "gpt-4o", "active", None, (2.50, 10.00), False),
    ],
)
def test_packaged_entries(
    catalogue: ModelCatalogue,
    logical: str,
    provider: str,
    model_id: str,
    status: str,
    speed: float | None,
    prices: tuple[float | None, float | None],
    reasoning: bool,
) -> None:
    entry = catalogue.entry(provider, model_id)
    assert entry is not None
    assert entry.logical == logical
    assert entry.status == status
    assert entry.advertised_tokens_per_second == speed
    assert catalogue.advertised_tokens_per_second(provider, model_id) == speed
    assert (entry.price_input_per_million, entry.price_output_per_million) == prices
    assert entry.reasoning is reasoning
    assert catalogue.logical_name(f"{provider}:{model_id}") == logical


def test_estimates_are_marked(catalogue: ModelCatalogue) -> None:
    groq = catalogue.entry("groq", "openai/gpt-oss-120b")
    assert groq is not None
    assert groq.notes
    assert "estimate" in groq.notes


@pytest.mark.parametrize(
    ("name", "provider", "model_id", "substituted"),
    [
        # retired Cerebras Llama ids -> gpt-oss-120b
        ("llama-3.3-70b", "cerebras", "gpt-oss-120b", True),
        ("llama-3.1-70b", "cerebras", "gpt-oss-120b", True),
        ("llama3.1-70b", "cerebras", "gpt-oss-120b", True),
        ("llama-4-maverick", "cerebras", "gpt-oss-120b", True),
        ("llama-4-scout-17b-16e-instruct", "cerebras", "qwen-3-235b-a22b-instruct-2507", True),
        ("deepseek-r1-distill-llama-70b", "cerebras", "gpt-oss-120b", True),
        # Groq ids map to their Cerebras counterparts and back
        ("llama-3.3-70b-versatile", "cerebras", "gpt-oss-120b", True),
        ("openai/gpt-oss-120b", "cerebras", "gpt-oss-120b", False),
        ("gpt-oss-120b", "groq", "openai/gpt-oss-120b", False),
        ("llama-3.1-70b", "groq", "llama-3.3-70b-versatile", True),
        ("llama3.1-8b", "groq", "llama-3.1-8b-instant", False),
        ("llama-3.1-8b-instant", "cerebras", "llama3.1-8b", False),
        ("llama-4-scout", "groq", "meta-llama/llama-4-scout-17b-16e-instruct", False),
        ("deepseek-r1-distill-llama-70b", "groq", "deepseek-r1-distill-llama-70b", False),
        ("qwen-3-235b-instruct", "cerebras", "qwen-3-235b-a22b-instruct-2507", False),
        ("zai-glm-4.7", "cerebras", "zai-glm-4.7", False),
        ("gpt-4o", "openai", "gpt-4o", False),
    ],
)
def test_resolve_mappings(
    catalogue: ModelCatalogue, name: str, provider: str, model_id: str, substituted: bool
) -> None:
    resolved = catalogue.resolve(name, provider)
    assert resolved is not None
    assert (resolved.model_id, resolved.provider, resolved.requested) == (model_id, provider, name)
    assert resolved.substituted is substituted
    entry = catalogue.entry(provider, model_id)
    assert entry is not None
    assert resolved.logical == entry.logical
    assert resolved.advertised_tokens_per_second == entry.advertised_tokens_per_second
    assert resolved.reasoning is entry.reasoning


def test_resolve_reasons(catalogue: ModelCatalogue) -> None:
    retired = catalogue.resolve("llama-3.3-70b", "cerebras")
    assert retired is not None
    assert retired.reason == "llama-3.3-70b is retired on cerebras; using gpt-oss-120b"
    assert retired.logical == "gpt-oss-120b"
    assert retired.reasoning is True
    deprecated = catalogue.resolve("llama3.1-8b", "cerebras")
    assert deprecated is not None
    assert deprecated.reason == "llama3.1-8b is deprecated on cerebras"
    preview = catalogue.resolve("zai-glm-4.7", "cerebras")
    assert preview is not None
    assert preview.reason == "zai-glm-4.7 is a preview model on cerebras"
    active = catalogue.resolve("gpt-oss-120b", "cerebras")
    assert active is not None
    assert active.reason is None
    assert not active.substituted


def test_resolve_unknown_and_unserved(catalogue: ModelCatalogue) -> None:
    # Known only for other providers, no mapping: None.
    assert catalogue.resolve("gpt-4o", "cerebras") is None
    assert catalogue.resolve("qwen-3-235b-a22b-instruct-2507", "groq") is None
    assert catalogue.resolve("llama-4-maverick", "groq") is None
    # Unknown everywhere: passed through for any provider.
    unknown = catalogue.resolve("brand-new-model", "cerebras")
    assert unknown == ResolvedModel(
        logical="brand-new-model",
        provider="cerebras",
        model_id="brand-new-model",
        requested="brand-new-model",
        advertised_tokens_per_second=None,
        price_input_per_million=None,
        price_output_per_million=None,
        reasoning=False,
        substituted=False,
        reason="brand-new-model is not in the model catalogue (as of 2026-11); used as is",
    )
    # "provider:id" syntax: the prefix names the provider that id belongs to.
    explicit = catalogue.resolve("cerebras:brand-new-model", "cerebras")
    assert explicit is not None
    assert explicit.model_id == "brand-new-model"
    assert catalogue.resolve("groq:brand-new-model", "cerebras") is None
    assert catalogue.resolve("cerebras:", "cerebras") is None
    assert catalogue.resolve("", "cerebras") is None
    # A colon that is not a provider prefix is part of the id (e.g. fine-tunes).
    tuned = catalogue.resolve("ft:gpt-4o:org:x", "openai")
    assert tuned is not None
    assert tuned.model_id == "ft:gpt-4o:org:x"


def test_logical_name(catalogue: ModelCatalogue) -> None:
    assert catalogue.logical_name("llama-3.3-70b") == "llama-3.3-70b"
    assert catalogue.logical_name("llama-3.3-70b-versatile") == "llama-3.3-70b"
    assert catalogue.logical_name("llama3.1-70b") == "llama-3.1-70b"
    assert catalogue.logical_name("llama-3.1-70b-versatile") == "llama-3.1-70b"
    assert catalogue.logical_name("groq:openai/gpt-oss-120b") == "gpt-oss-120b"
    assert catalogue.logical_name("groq:llama-3.1-8b") == "llama-3.1-8b"  # logical after prefix
    assert catalogue.logical_name("cerebras:openai/gpt-oss-120b") is None  # not a cerebras id
    assert catalogue.logical_name("nope") is None
    assert catalogue.entry("cerebras", "nope") is None
    assert catalogue.advertised_tokens_per_second("cerebras", "nope") is None


def test_models_listing(catalogue: ModelCatalogue) -> None:
    cerebras = catalogue.models("cerebras")
    assert {e.provider for e in cerebras} == {"cerebras"}
    assert "gpt-oss-120b" in {e.model_id for e in cerebras}
    assert len(catalogue.models()) == sum(len(catalogue.models(p)) for p in catalogue.providers)
    assert catalogue.models("together") == []


# --------------------------------------------------------------------------- successor chains


def test_successor_chain_followed_up_to_limit() -> None:
    chain = _chain_catalogue(MAX_SUCCESSOR_HOPS)
    resolved = chain.resolve("m0", "p")
    assert resolved is not None
    assert resolved.model_id == f"id-{MAX_SUCCESSOR_HOPS}"
    assert resolved.reason == f"id-0 is retired on p; using id-{MAX_SUCCESSOR_HOPS}"
    too_long = _chain_catalogue(MAX_SUCCESSOR_HOPS + 1)
    assert too_long.resolve("m0", "p") is None
    assert too_long.resolve("m1", "p") is not None


def test_retired_without_successor_is_unavailable() -> None:
    cat = ModelCatalogue.from_dict(
        {"models": {"old": {"providers": {"p": {"model_id": "old-1", "status": "retired"}}}}}
    )
    assert cat.resolve("old", "p") is None


def test_successor_may_be_provider_id() -> None:
    cat = ModelCatalogue.from_dict(
        {
            "models": {
                "a": {
                    "providers": {"p": {"model_id": "a-1", "status": "retired", "successor": "b-2"}}
                },
                "b": {"providers": {"p": {"model_id": "b-2"}}},
            }
        }
    )
    resolved = cat.resolve("a", "p")
    assert resolved is not None
    assert (resolved.model_id, resolved.logical) == ("b-2", "b")


@pytest.mark.parametrize(
    ("models", "message"),
    [
        (
            {
                "a": {
                    "providers": {
                        "p": {"model_id": "x", "status": "retired", "successor": "nowhere"}
                    }
                }
            },
            "neither a logical model",
        ),
        (
            {
                "a": {"providers": {"p": {"model_id": "x", "status": "retired", "successor": "b"}}},
                "b": {"providers": {"p": {"model_id": "y", "status": "retired", "successor": "a"}}},
            },
            "loops back",
        ),
        (
            {
                "a": {"providers": {"p": {"model_id": "x"}}},
                "b": {"providers": {"p": {"model_id": "x"}}},
            },
            "belongs to both",
        ),
        ({"a": {"providers": {"p": {"model_id": "x", "speed": 3}}}}, "speed"),
        ({"a": {"providers": {"p": {"model_id": "x", "status": "gone"}}}}, "status"),
        (
            {"a": {"providers": {"p": {"model_id": "x", "advertised_tokens_per_second": -1}}}},
            "greater",
        ),
        ({"a": {"providers": {"p": {}}}}, "model_id"),
        ({"a": {}}, "providers"),
    ],
)
def test_invalid_data_rejected(models: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ModelCatalogue.from_dict({"models": models})


def test_missing_models_key() -> None:
    with pytest.raises(ValueError, match="'models'"):
        ModelCatalogue.from_dict({"as_of": "x"})


# --------------------------------------------------------------------------- files and env


def test_env_override_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    override = {
        "as_of": "2026-12",
        "models": {
            "gpt-oss-120b": {"providers": {"cerebras": {"advertised_tokens_per_second": 2500}}},
            "my-model": {"providers": {"cerebras": {"model_id": "my-model-v1", "reasoning": True}}},
        },
    }
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(override), encoding="utf-8")
    monkeypatch.setenv(CATALOGUE_ENV_VAR, str(path))
    cat = ModelCatalogue.default()
    assert cat.as_of == "2026-12"
    assert cat.advertised_tokens_per_second("cerebras", "gpt-oss-120b") == 2500
    # The other fields of the overridden entry are kept.
    entry = cat.entry("cerebras", "gpt-oss-120b")
    assert entry is not None
    assert entry.price_input_per_million == 0.35
    assert entry.reasoning
    assert cat.logical_name("my-model-v1") == "my-model"
    assert cat.entry("groq", "llama-3.3-70b-versatile") is not None  # packaged data kept
    assert ModelCatalogue.default() is cat
    # The packaged catalogue itself is untouched.
    monkeypatch.delenv(CATALOGUE_ENV_VAR)
    assert ModelCatalogue.default().advertised_tokens_per_second("cerebras", "gpt-oss-120b") == 3000


def test_env_override_file_edited_is_reloaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "catalogue.json"
    speed = {"models": {"gpt-4o": {"providers": {"openai": {"advertised_tokens_per_second": 90}}}}}
    path.write_text(json.dumps(speed), encoding="utf-8")
    monkeypatch.setenv(CATALOGUE_ENV_VAR, str(path))
    assert ModelCatalogue.default().advertised_tokens_per_second("openai", "gpt-4o") == 90
    speed["models"]["gpt-4o"]["providers"]["openai"]["advertised_tokens_per_second"] = 120
    path.write_text(json.dumps(speed), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert ModelCatalogue.default().advertised_tokens_per_second("openai", "gpt-4o") == 120


def test_env_override_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CATALOGUE_ENV_VAR, str(tmp_path / "missing.json"))
    with pytest.raises(ValueError, match=CATALOGUE_ENV_VAR):
        ModelCatalogue.default()
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    monkeypatch.setenv(CATALOGUE_ENV_VAR, str(bad))
    with pytest.raises(ValueError, match="cannot load"):
        ModelCatalogue.default()


def test_from_file_and_round_trip(catalogue: ModelCatalogue, tmp_path: Path) -> None:
    exported = catalogue.to_dict()
    path = tmp_path / "full.json"
    path.write_text(json.dumps(exported), encoding="utf-8")
    loaded = ModelCatalogue.from_file(path)
    assert loaded.to_dict() == exported
    assert loaded.models() == catalogue.models()
    packaged = Path(__file__).parents[2] / "langchain_cerebras_router" / "data" / "catalogue.json"
    assert ModelCatalogue.from_file(packaged).to_dict() == exported


def test_with_overrides(catalogue: ModelCatalogue) -> None:
    updated = catalogue.with_overrides(
        {
            "models": {
                "llama-3.1-8b": {
                    "providers": {"cerebras": {"status": "retired", "successor": "gpt-oss-120b"}}
                }
            }
        }
    )
    resolved = updated.resolve("llama3.1-8b", "cerebras")
    assert resolved is not None
    assert resolved.model_id == "gpt-oss-120b"
    original = catalogue.resolve("llama3.1-8b", "cerebras")
    assert original is not None
    assert original.model_id == "llama3.1-8b"


# --------------------------------------------------------------------------- refresh


def test_refresh(catalogue: ModelCatalogue) -> None:
    live = [
        "gpt-oss-120b",
        "qwen-3-235b-a22b-instruct-2507",
        "llama3.1-70b",
        "brand-new",
        "gpt-oss-120b",
    ]
    fresh = catalogue.refresh("cerebras", live)
    assert fresh is not catalogue

    def status(cat: ModelCatalogue, model_id: str) -> str | None:
        entry = cat.entry("cerebras", model_id)
        return entry.status if entry else None

    # Not listed: marked retired (llama3.1-8b was deprecated, zai-glm-4.7 preview).
    assert status(fresh, "llama3.1-8b") == "retired"
    assert status(fresh, "zai-glm-4.7") == "retired"
    assert fresh.resolve("zai-glm-4.7", "cerebras") is None
    # Listed again although the catalogue had it retired: served, but deprecated.
    assert status(fresh, "llama3.1-70b") == "deprecated"
    resolved = fresh.resolve("llama-3.1-70b", "cerebras")
    assert resolved is not None
    assert resolved.model_id == "llama3.1-70b"
    assert not resolved.substituted
    # Unknown live id: added under its own logical name.
    new = fresh.entry("cerebras", "brand-new")
    assert new is not None
    assert new.logical == "brand-new"
    assert new.status == "active"
    assert new.advertised_tokens_per_second is None
    assert fresh.logical_name("brand-new") == "brand-new"
    # Other providers untouched; the original catalogue unchanged.
    assert fresh.models("groq") == catalogue.models("groq")
    assert status(catalogue, "llama3.1-8b") == "deprecated"
    assert catalogue.entry("cerebras", "brand-new") is None
    # Retiring an entry keeps successor chains valid.
    assert fresh.resolve("llama-3.3-70b", "cerebras") is not None


def test_refresh_attaches_to_existing_logical_and_avoids_clashes(catalogue: ModelCatalogue) -> None:
    # "gpt-oss-120b" is a logical name with no openai entry: attached to it.
    fresh = catalogue.refresh("openai", ["gpt-4o", "gpt-oss-120b"])
    entry = fresh.entry("openai", "gpt-oss-120b")
    assert entry is not None
    assert entry.logical == "gpt-oss-120b"
    # "llama-3.3-70b" is a logical name that already has a groq entry: a new logical name.
    fresh = catalogue.refresh("groq", ["llama-3.3-70b", "llama-3.3-70b-versatile"])
    entry = fresh.entry("groq", "llama-3.3-70b")
    assert entry is not None
    assert entry.logical == "groq:llama-3.3-70b"
    assert fresh.resolve("groq:llama-3.3-70b", "groq") is not None
    # Everything not listed on groq is retired, chains still resolve or end in None.
    assert fresh.resolve("gpt-oss-120b", "groq") is None


def test_refresh_all_gone() -> None:
    cat = _chain_catalogue(1).refresh("p", [])
    assert all(e.status == "retired" for e in cat.models())
    assert cat.resolve("m0", "p") is None


# --------------------------------------------------------------------------- immutability


def test_immutability(catalogue: ModelCatalogue) -> None:
    entry = catalogue.entry("cerebras", "gpt-oss-120b")
    assert entry is not None
    with pytest.raises(ValidationError):
        entry.advertised_tokens_per_second = 1.0  # type: ignore[misc]
    with pytest.raises(AttributeError):
        catalogue._models = {}  # type: ignore[misc]
    resolved = catalogue.resolve("gpt-oss-120b", "cerebras")
    assert resolved is not None
    with pytest.raises(AttributeError):
        resolved.model_id = "x"  # type: ignore[misc]
    listing = catalogue.models()
    listing.clear()
    assert catalogue.models()
    exported = catalogue.to_dict()
    exported["models"]["gpt-oss-120b"]["providers"]["cerebras"]["status"] = "retired"
    assert catalogue.entry("cerebras", "gpt-oss-120b") == entry
    assert entry.available


def test_entry_model() -> None:
    entry = ModelEntry(logical="l", provider="p", model_id="m", status="retired")
    assert not entry.available
    assert entry.reasoning is False
    assert entry.successor is None
    with pytest.raises(ValidationError):
        ModelEntry(logical="l", provider="p", model_id="")
