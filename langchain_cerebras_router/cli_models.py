"""``langchain-cerebras-router models``: live model lists merged with the catalogue.

Each provider's ``GET /v1/models`` (through its own SDK) says what is served now; the
packaged :class:`~langchain_cerebras_router.catalogue.ModelCatalogue` adds the advertised speed,
prices and lifecycle. Core dependencies only; ``cli.py`` renders the result.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from langchain_cerebras_router.catalogue import ModelCatalogue
from langchain_cerebras_router.cli_targets import (
    LiveModel,
    Session,
    Target,
    describe_error,
    list_live_models,
)

__all__ = ["ModelRow", "ProviderModels", "collect_models"]


@dataclass(frozen=True)
class ModelRow:
    """One model of one provider, as served and as catalogued."""

    provider: str
    model_id: str
    listed: bool | None
    """Whether ``GET /v1/models`` lists it (``None``: the list could not be fetched)."""
    logical: str | None
    status: str | None
    """Catalogue lifecycle: active, preview, deprecated, retired (``None``: not catalogued)."""
    advertised_tokens_per_second: float | None
    price_input_per_million: float | None
    price_output_per_million: float | None
    reasoning: bool | None
    owned_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)


@dataclass
class ProviderModels:
    """The merged view of one provider."""

    provider: str
    endpoint: str
    emulated: bool
    rows: list[ModelRow] = field(default_factory=list)
    error: str | None = None
    """Why the live list could not be fetched."""
    elapsed: float | None = None
    """Seconds ``GET /v1/models`` took."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "provider": self.provider,
            "endpoint": self.endpoint,
            "emulated": self.emulated,
            "error": self.error,
            "elapsed_seconds": self.elapsed,
            "models": [row.to_dict() for row in self.rows],
        }


def _rows(
    provider: str,
    live: list[LiveModel] | None,
    catalogue: ModelCatalogue,
    *,
    include_unlisted: bool,
) -> list[ModelRow]:
    owners = {m.id: m.owned_by for m in live or []}
    listed_ids = list(owners)
    rows: list[ModelRow] = []
    for model_id in listed_ids:
        entry = catalogue.entry(provider, model_id)
        rows.append(
            ModelRow(
                provider=provider,
                model_id=model_id,
                listed=True,
                logical=entry.logical if entry else None,
                status=entry.status if entry else None,
                advertised_tokens_per_second=entry.advertised_tokens_per_second if entry else None,
                price_input_per_million=entry.price_input_per_million if entry else None,
                price_output_per_million=entry.price_output_per_million if entry else None,
                reasoning=entry.reasoning if entry else None,
                owned_by=owners[model_id],
            )
        )
    if live is None or include_unlisted:
        for entry in catalogue.models(provider):
            if entry.model_id in owners:
                continue
            rows.append(
                ModelRow(
                    provider=provider,
                    model_id=entry.model_id,
                    listed=None if live is None else False,
                    logical=entry.logical,
                    status=entry.status,
                    advertised_tokens_per_second=entry.advertised_tokens_per_second,
                    price_input_per_million=entry.price_input_per_million,
                    price_output_per_million=entry.price_output_per_million,
                    reasoning=entry.reasoning,
                )
            )
    return rows


def _provider_models(
    target: Target, catalogue: ModelCatalogue, *, include_unlisted: bool, secrets: list[str]
) -> ProviderModels:
    result = ProviderModels(target.provider, target.endpoint, target.emulated)
    live: list[LiveModel] | None
    try:
        live, result.elapsed = list_live_models(target)
    except Exception as exc:
        live = None
        result.error = describe_error(exc, secrets)
    result.rows = _rows(target.provider, live, catalogue, include_unlisted=include_unlisted)
    return result


def collect_models(session: Session, *, include_unlisted: bool = False) -> list[ProviderModels]:
    """The live list of each provider in ``session``, merged with the catalogue.

    Args:
        session: Providers to ask (one request per provider).
        include_unlisted: Also show catalogued models the provider does not list (retired
            or not yet refreshed).
    """
    catalogue = ModelCatalogue.default()
    results: list[ProviderModels] = []
    for provider in session.providers():
        target = session.target_for(provider)
        if target is not None:
            results.append(
                _provider_models(
                    target, catalogue, include_unlisted=include_unlisted, secrets=session.secrets
                )
            )
    return results
