"""Model catalogue: logical model names, provider ids, advertised speeds, prices, lifecycle.

The catalogue is data, not code: the packaged ``data/catalogue.json`` (a late-2026
snapshot) can be overridden or extended by a user JSON file named in the
``LANGCHAIN_CEREBRAS_ROUTER_CATALOGUE`` environment variable, and refreshed at run time from
a provider's live ``GET /v1/models`` list with :meth:`ModelCatalogue.refresh`.

File format::

    {"as_of": "2026-11", "source": "...",
     "models": {"<logical>": {"description": "...",
                              "providers": {"<provider>": {"model_id": "...", ...}}}}}

Each provider entry has the fields of :class:`ModelEntry` (without ``logical`` and
``provider``). An override file is merged field by field: to correct one speed, give only
that field of that entry.

Resolution rules (:meth:`ModelCatalogue.resolve`):

* a name is a logical name, any provider's model id, or ``"provider:model_id"``;
* a retired entry is replaced by its ``successor`` (a logical name or a model id of the
  same provider), following chains of at most :data:`MAX_SUCCESSOR_HOPS`;
* a name the catalogue does not know at all is passed through unchanged (providers add
  models faster than any catalogue); a name known only for other providers resolves to
  ``None``: the catalogue knows that model and knows this provider does not serve it.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CATALOGUE_ENV_VAR",
    "MAX_SUCCESSOR_HOPS",
    "ModelCatalogue",
    "ModelEntry",
    "ModelStatus",
    "ResolvedModel",
]

CATALOGUE_ENV_VAR = "LANGCHAIN_CEREBRAS_ROUTER_CATALOGUE"
"""Environment variable naming a JSON file merged over the packaged catalogue."""

MAX_SUCCESSOR_HOPS = 8
"""Longest chain of retired -> successor entries that :meth:`ModelCatalogue.resolve` follows."""

ModelStatus = Literal["active", "preview", "deprecated", "retired"]
"""Lifecycle of a provider's model id; only ``retired`` ids are no longer served."""

_PositiveFloat = Annotated[float, Field(gt=0)]
_Price = Annotated[float, Field(ge=0)]


class ModelEntry(BaseModel):
    """One provider's id for one logical model, with advertised speed, prices and status.

    Example:
        .. code-block:: python

            entry = ModelCatalogue.default().entry("cerebras", "gpt-oss-120b")
            assert entry is not None and entry.reasoning
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    logical: str = Field(min_length=1)
    """Logical model name the entry belongs to."""
    provider: str = Field(min_length=1)
    """Provider name, e.g. ``"cerebras"``, ``"groq"``, ``"openai"``."""
    model_id: str = Field(min_length=1)
    """Id to send to the provider's API."""
    advertised_tokens_per_second: _PositiveFloat | None = None
    """Output speed advertised by the provider (``None`` when unknown)."""
    price_input_per_million: _Price | None = None
    """USD per million input tokens."""
    price_output_per_million: _Price | None = None
    """USD per million output tokens."""
    status: ModelStatus = "active"
    successor: str | None = None
    """Replacement for a retired (or soon retired) id: a logical name or a model id."""
    reasoning: bool = False
    """Whether the model produces a reasoning phase (``message.reasoning``)."""
    notes: str | None = None

    @property
    def available(self) -> bool:
        """Whether the provider still serves this id."""
        return self.status != "retired"


@dataclass(frozen=True)
class ResolvedModel:
    """The outcome of :meth:`ModelCatalogue.resolve`: what to call, and why.

    Example:
        .. code-block:: python

            resolved = ModelCatalogue.default().resolve("llama-3.3-70b", "cerebras")
            assert resolved is not None and resolved.model_id == "gpt-oss-120b"
    """

    logical: str
    """Logical name of the model actually used (the successor's, after a substitution)."""
    provider: str
    model_id: str
    """Id to send to the provider."""
    requested: str
    """The name that was asked for."""
    advertised_tokens_per_second: float | None
    price_input_per_million: float | None
    price_output_per_million: float | None
    reasoning: bool
    substituted: bool
    """A different model replaces the requested one (the requested id is retired)."""
    reason: str | None
    """Human-readable note: substitution, deprecation, preview or unknown name."""

    @classmethod
    def of(
        cls, entry: ModelEntry, *, requested: str, substituted: bool, reason: str | None
    ) -> ResolvedModel:
        """The resolution of ``requested`` to ``entry``."""
        return cls(
            logical=entry.logical,
            provider=entry.provider,
            model_id=entry.model_id,
            requested=requested,
            advertised_tokens_per_second=entry.advertised_tokens_per_second,
            price_input_per_million=entry.price_input_per_million,
            price_output_per_million=entry.price_output_per_million,
            reasoning=entry.reasoning,
            substituted=substituted,
            reason=reason,
        )


@dataclass(frozen=True, eq=False, init=False, repr=False)
class ModelCatalogue:
    """Immutable catalogue of logical models and their per-provider entries.

    Example:
        .. code-block:: python

            catalogue = ModelCatalogue.default()
            catalogue.logical_name("llama-3.3-70b-versatile")  # "llama-3.3-70b"
            catalogue.resolve("openai/gpt-oss-120b", "cerebras").model_id  # "gpt-oss-120b"
            live = catalogue.refresh("cerebras", ["gpt-oss-120b", "new-model"])
    """

    _models: dict[str, dict[str, ModelEntry]]
    _by_id: dict[tuple[str, str], ModelEntry]
    _logical_by_id: dict[str, str]
    _providers: tuple[str, ...]
    _as_of: str | None
    _source: str | None
    _descriptions: dict[str, str]

    def __init__(
        self,
        entries: Iterable[ModelEntry],
        *,
        as_of: str | None = None,
        source: str | None = None,
        descriptions: Mapping[str, str] | None = None,
    ) -> None:
        """Build a catalogue; raises ``ValueError`` for duplicates or broken successors."""
        models: dict[str, dict[str, ModelEntry]] = {}
        by_id: dict[tuple[str, str], ModelEntry] = {}
        logical_by_id: dict[str, str] = {}
        for entry in entries:
            per_provider = models.setdefault(entry.logical, {})
            if entry.provider in per_provider:
                msg = f"{entry.logical!r} has two entries for provider {entry.provider!r}"
                raise ValueError(msg)
            key = (entry.provider, entry.model_id)
            if key in by_id:
                msg = (
                    f"{entry.provider}:{entry.model_id} belongs to both "
                    f"{by_id[key].logical!r} and {entry.logical!r}"
                )
                raise ValueError(msg)
            per_provider[entry.provider] = entry
            by_id[key] = entry
            logical_by_id.setdefault(entry.model_id, entry.logical)
        for name, value in (
            ("_models", models),
            ("_by_id", by_id),
            ("_logical_by_id", logical_by_id),
            ("_providers", tuple(dict.fromkeys(provider for provider, _ in by_id))),
            ("_as_of", as_of),
            ("_source", source),
            ("_descriptions", dict(descriptions or {})),
        ):
            object.__setattr__(self, name, value)
        for entry in by_id.values():
            self._check_successors(entry)

    def __repr__(self) -> str:
        counts = f"models={len(self._models)}, entries={len(self._by_id)}"
        return f"ModelCatalogue(as_of={self._as_of!r}, {counts})"

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelCatalogue:
        """Build a catalogue from the JSON file format (see the module docstring).

        Raises:
            ValueError: for a malformed document (including pydantic's ValidationError).
        """
        models = data.get("models")
        if not isinstance(models, Mapping):
            raise ValueError("catalogue data needs a 'models' object")
        entries: list[ModelEntry] = []
        descriptions: dict[str, str] = {}
        for logical, spec in models.items():
            providers = spec.get("providers") if isinstance(spec, Mapping) else None
            if not isinstance(providers, Mapping):
                raise ValueError(f"model {logical!r} needs a 'providers' object")
            if isinstance(spec.get("description"), str):
                descriptions[logical] = spec["description"]
            for provider, fields in providers.items():
                if not isinstance(fields, Mapping):
                    raise ValueError(f"entry {logical!r}/{provider!r} is not an object")
                entries.append(
                    ModelEntry.model_validate({**fields, "logical": logical, "provider": provider})
                )
        return cls(
            entries, as_of=data.get("as_of"), source=data.get("source"), descriptions=descriptions
        )

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> ModelCatalogue:
        """Load a complete catalogue from a JSON file."""
        return cls.from_dict(_read_json(Path(path)))

    @classmethod
    def default(cls) -> ModelCatalogue:
        """The packaged catalogue, merged with the file named by ``CATALOGUE_ENV_VAR`` if set.

        Loaded once and cached (per override file path and modification time).
        """
        override = os.environ.get(CATALOGUE_ENV_VAR)
        if not override:
            return _default_catalogue(None, None)
        path = Path(override)
        try:
            stamp = path.stat().st_mtime_ns
        except OSError as err:
            msg = f"{CATALOGUE_ENV_VAR} names {override!r}, which cannot be read: {err}"
            raise ValueError(msg) from err
        return _default_catalogue(str(path), stamp)

    def with_overrides(self, data: Mapping[str, Any]) -> ModelCatalogue:
        """A new catalogue with ``data`` (same format, fields optional) merged field by field."""
        return ModelCatalogue.from_dict(_merge(self.to_dict(), data))

    def to_dict(self) -> dict[str, Any]:
        """Export in the JSON file format; ``from_dict(c.to_dict())`` rebuilds ``c``."""
        models: dict[str, Any] = {}
        for logical, per_provider in self._models.items():
            spec: dict[str, Any] = {}
            if logical in self._descriptions:
                spec["description"] = self._descriptions[logical]
            spec["providers"] = {
                provider: entry.model_dump(exclude={"logical", "provider"}, exclude_none=True)
                for provider, entry in per_provider.items()
            }
            models[logical] = spec
        return {"as_of": self._as_of, "source": self._source, "models": models}

    # ------------------------------------------------------------------ queries

    @property
    def as_of(self) -> str | None:
        """Date of the snapshot, e.g. ``"2026-11"``."""
        return self._as_of

    @property
    def source(self) -> str | None:
        """Where the data comes from."""
        return self._source

    @property
    def logical_names(self) -> tuple[str, ...]:
        """All logical model names, in catalogue order."""
        return tuple(self._models)

    @property
    def providers(self) -> tuple[str, ...]:
        """All providers with at least one entry."""
        return self._providers

    def models(self, provider: str | None = None) -> list[ModelEntry]:
        """All entries (of one provider, if given), in catalogue order."""
        return [e for e in self._by_id.values() if provider is None or e.provider == provider]

    def entry(self, provider: str, model_id: str) -> ModelEntry | None:
        """The entry of ``provider``'s id ``model_id``, if catalogued."""
        return self._by_id.get((provider, model_id))

    def advertised_tokens_per_second(self, provider: str, model_id: str) -> float | None:
        """Advertised output speed of ``provider``'s id ``model_id``, if known."""
        entry = self.entry(provider, model_id)
        return entry.advertised_tokens_per_second if entry else None

    def logical_name(self, name_or_id: str) -> str | None:
        """Logical name of a logical name, any provider's id, or ``"provider:id"``.

        A plain id used by several logical models (across providers) maps to the first in
        catalogue order; use ``"provider:id"`` to be explicit.
        """
        if name_or_id in self._models:
            return name_or_id
        prefix, sep, rest = name_or_id.partition(":")
        if sep and prefix in self._providers:
            entry = self._by_id.get((prefix, rest))
            if entry is not None:
                return entry.logical
            return rest if rest in self._models else None
        return self._logical_by_id.get(name_or_id)

    def resolve(self, name: str, provider: str) -> ResolvedModel | None:
        """What to call on ``provider`` for ``name``, following retired -> successor chains.

        Returns:
            ``None`` when ``provider`` cannot serve the model: the name is known only for
            other providers, or its entry is retired without a usable successor. A name
            unknown to the catalogue resolves to itself (``"provider:id"`` only for that
            provider).
        """
        logical = self.logical_name(name)
        if logical is None:
            prefix, sep, rest = name.partition(":")
            explicit = bool(sep) and (prefix == provider or prefix in self._providers)
            model_id = rest if explicit else name
            if (explicit and prefix != provider) or not model_id:
                return None
            unknown = ModelEntry(logical=model_id, provider=provider, model_id=model_id)
            note = f"{model_id} is not in the model catalogue (as of {self._as_of}); used as is"
            return ResolvedModel.of(unknown, requested=name, substituted=False, reason=note)
        first = self._models[logical].get(provider)
        if first is None:
            return None
        entry = first
        for _ in range(MAX_SUCCESSOR_HOPS):
            if entry.available:
                break
            successor = self._successor(entry)
            if successor is None:
                return None
            entry = successor
        else:
            if not entry.available:
                return None
        reason = _reason(first, entry)
        return ResolvedModel.of(
            entry, requested=name, substituted=entry is not first, reason=reason
        )

    # ------------------------------------------------------------------ refresh

    def refresh(self, provider: str, live_model_ids: Iterable[str]) -> ModelCatalogue:
        """A new catalogue that agrees with ``provider``'s live model list.

        Entries of ``provider`` missing from the list become ``retired``; retired entries
        that are listed again become ``deprecated`` (served, but the catalogue expected
        them gone). Listed ids the catalogue does not know are added with no speed or
        price: under the logical model of the same name if it has no entry for
        ``provider``, else as a new logical model named after the id (``"provider:id"``
        if that name is taken).

        Args:
            provider: provider whose list this is.
            live_model_ids: ids from the provider's ``GET /v1/models``.
        """
        live = list(dict.fromkeys(live_model_ids))
        listed = set(live)
        entries: list[ModelEntry] = []
        for entry in self._by_id.values():
            if entry.provider == provider:
                if entry.model_id not in listed and entry.available:
                    entry = entry.model_copy(update={"status": "retired"})
                elif entry.model_id in listed and not entry.available:
                    entry = entry.model_copy(update={"status": "deprecated"})
            entries.append(entry)
        taken = {(e.logical, e.provider) for e in entries}
        for model_id in live:
            if (provider, model_id) in self._by_id:
                continue
            owner = self.logical_name(model_id)
            if owner is not None and (owner, provider) not in taken:
                logical = owner
            elif model_id not in self._models and (model_id, provider) not in taken:
                logical = model_id
            else:
                logical = f"{provider}:{model_id}"
            taken.add((logical, provider))
            notes = f"Listed by {provider}'s GET /v1/models; not in the packaged catalogue."
            entries.append(
                ModelEntry(logical=logical, provider=provider, model_id=model_id, notes=notes)
            )
        return ModelCatalogue(
            entries, as_of=self._as_of, source=self._source, descriptions=self._descriptions
        )

    # ------------------------------------------------------------------ internals

    def _successor(self, entry: ModelEntry) -> ModelEntry | None:
        if entry.successor is None:
            return None
        per_provider = self._models.get(entry.successor, {})
        if entry.provider in per_provider:
            return per_provider[entry.provider]
        return self._by_id.get((entry.provider, entry.successor))

    def _check_successors(self, entry: ModelEntry) -> None:
        seen = [entry]
        while entry.successor is not None:
            successor = self._successor(entry)
            where = f"{entry.provider}:{entry.model_id}"
            if successor is None:
                msg = (
                    f"successor {entry.successor!r} of {where} is neither a logical model "
                    f"served by {entry.provider} nor one of its model ids"
                )
                raise ValueError(msg)
            if successor in seen:
                raise ValueError(f"successor chain of {where} loops back to {successor.model_id}")
            seen.append(successor)
            entry = successor


def _reason(first: ModelEntry, used: ModelEntry) -> str | None:
    if used is not first:
        return f"{first.model_id} is retired on {first.provider}; using {used.model_id}"
    if used.status == "deprecated":
        hint = f"; successor: {used.successor}" if used.successor else ""
        return f"{used.model_id} is deprecated on {used.provider}{hint}"
    if used.status == "preview":
        return f"{used.model_id} is a preview model on {used.provider}"
    return None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot load model catalogue {str(path)!r}: {err}") from err
    if not isinstance(data, dict):
        raise ValueError(f"model catalogue {str(path)!r} is not a JSON object")
    return data


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``: per logical model, provider, then field."""
    merged = copy.deepcopy(dict(base))
    for key in ("as_of", "source"):
        if key in override:
            merged[key] = override[key]
    models = merged.setdefault("models", {})
    override_models = override.get("models", {})
    if not isinstance(override_models, Mapping):
        raise ValueError("catalogue override: 'models' must be an object")
    for logical, spec in override_models.items():
        if not isinstance(spec, Mapping):
            raise ValueError(f"catalogue override: model {logical!r} is not an object")
        target = models.setdefault(logical, {})
        if "description" in spec:
            target["description"] = spec["description"]
        providers = target.setdefault("providers", {})
        for provider, fields in (spec.get("providers") or {}).items():
            if not isinstance(fields, Mapping):
                raise ValueError(f"catalogue override: {logical!r}/{provider!r} is not an object")
            providers[provider] = {**providers.get(provider, {}), **fields}
    return merged


@lru_cache(maxsize=1)
def _packaged_data() -> dict[str, Any]:
    text = (resources.files("langchain_cerebras_router") / "data" / "catalogue.json").read_text(
        encoding="utf-8"
    )
    data: dict[str, Any] = json.loads(text)
    return data


@lru_cache(maxsize=8)
def _default_catalogue(override_path: str | None, stamp: int | None) -> ModelCatalogue:
    del stamp  # only part of the cache key: an edited override file is read again
    data = _packaged_data()
    if override_path is not None:
        data = _merge(data, _read_json(Path(override_path)))
    return ModelCatalogue.from_dict(data)
