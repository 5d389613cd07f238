"""The models the emulator serves, with their nominal speeds and capabilities.

The nominal speed drives ``time_info.completion_time`` (Cerebras) and ``usage.completion_time``
(Groq), so that ``completion_tokens / completion_time`` reads as a plausible server-side speed
even when the emulator streams as fast as it can. Pass your own :class:`ModelSpec` objects to
``Emulator(models=[...])`` to add models or override these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Provider = Literal["cerebras", "groq"]


@dataclass(frozen=True)
class ModelSpec:
    """One model as the emulator serves it.

    Args:
        id: The model id clients send (``"gpt-oss-120b"``).
        provider: ``"cerebras"`` or ``"groq"``.
        tokens_per_second: Nominal output speed, used for the reported completion time.
        reasoning: Whether the model returns reasoning text (``message.reasoning``).
        context_window: Prompt plus completion limit; longer prompts get a 400.
        owned_by: Shown by ``GET /v1/models``.
        created: Unix time shown by ``GET /v1/models``.

    Example:
        ```python
        from langchain_cerebras_router.testing import Emulator, ModelSpec

        spec = ModelSpec("my-model", "cerebras", tokens_per_second=900.0)
        with Emulator(models=[spec]) as emu:
            print(emu.base_url)
        ```
    """

    id: str
    provider: Provider
    tokens_per_second: float
    reasoning: bool = False
    context_window: int = 131_072
    owned_by: str = ""
    created: int = 1_735_689_600

    @property
    def owner(self) -> str:
        """``owned_by`` with a per-provider default."""
        if self.owned_by:
            return self.owned_by
        return "Cerebras" if self.provider == "cerebras" else "Groq"


DEFAULT_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec("gpt-oss-120b", "cerebras", 3000.0, reasoning=True, owned_by="OpenAI"),
    ModelSpec("llama3.1-8b", "cerebras", 2200.0, context_window=32_768, owned_by="Meta"),
    ModelSpec("qwen-3-235b-a22b-instruct-2507", "cerebras", 1400.0, owned_by="Qwen"),
    ModelSpec("zai-glm-4.7", "cerebras", 1000.0, reasoning=True, owned_by="Z.ai"),
    ModelSpec("llama-3.3-70b-versatile", "groq", 276.0, owned_by="Meta"),
    ModelSpec("llama-3.1-8b-instant", "groq", 750.0, owned_by="Meta"),
    ModelSpec("openai/gpt-oss-120b", "groq", 500.0, reasoning=True, owned_by="OpenAI"),
    ModelSpec("meta-llama/llama-4-scout-17b-16e-instruct", "groq", 600.0, owned_by="Meta"),
    ModelSpec("deepseek-r1-distill-llama-70b", "groq", 275.0, reasoning=True, owned_by="DeepSeek"),
)


def build_catalog(extra: tuple[ModelSpec, ...] = ()) -> dict[Provider, dict[str, ModelSpec]]:
    """Per-provider model tables: the defaults, then ``extra`` (which may override them)."""
    catalog: dict[Provider, dict[str, ModelSpec]] = {"cerebras": {}, "groq": {}}
    for spec in (*DEFAULT_MODELS, *extra):
        catalog[spec.provider][spec.id] = spec
    return catalog
