"""``langchain-cerebras-router compare``: the same prompts on each provider, side by side.

Response quality is judged by reading: each prompt's answers are shown next to each other
with the speed of each (time to first token, latency, tokens/s). Core dependencies only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessageChunk

from langchain_cerebras_router.cli_bench import RecordingMonitor
from langchain_cerebras_router.cli_targets import Session, Target, describe_error

__all__ = [
    "DEFAULT_COMPARE_PROMPTS",
    "CompareCell",
    "CompareReport",
    "load_prompts",
    "run_compare",
]

DEFAULT_COMPARE_PROMPTS: tuple[str, ...] = (
    "In two sentences, why does time to first token matter in a chat application?",
    "Write a haiku about fast inference.",
    "What is 17 * 23? Reply with the number only.",
)


def load_prompts(path: str | Path) -> list[str]:
    """Read one prompt per line; blank lines and lines starting with ``#`` are skipped.

    Raises:
        ValueError: The file holds no prompt.
        OSError: The file cannot be read.
    """
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    prompts = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not prompts:
        msg = f"{path}: no prompt found (one per line; '#' starts a comment)"
        raise ValueError(msg)
    return prompts


@dataclass(frozen=True)
class CompareCell:
    """One target's answer to one prompt."""

    provider: str
    model: str
    answer: str | None
    error: str | None
    finish_reason: str | None = None
    ttft: float | None = None
    latency: float | None = None
    output_tokens: int | None = None
    server_tokens_per_second: float | None = None
    client_tokens_per_second: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return dict(self.__dict__)


@dataclass
class CompareReport:
    """Answers per prompt (rows) and target (columns)."""

    emulated: bool
    notes: list[str]
    targets: list[Target]
    prompts: list[str]
    rows: list[list[CompareCell]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "mode": "emulator" if self.emulated else "live",
            "notes": list(self.notes),
            "targets": [t.label for t in self.targets],
            "results": [
                {"prompt": prompt, "answers": [cell.to_dict() for cell in row]}
                for prompt, row in zip(self.prompts, self.rows, strict=True)
            ],
        }


def _ask(
    session: Session, target: Target, llm: Any, prompt: str, monitor: RecordingMonitor
) -> CompareCell:
    before = len(monitor.samples)
    full: AIMessageChunk | None = None
    try:
        for chunk in llm.stream(prompt, config={"callbacks": [monitor], "run_name": "compare"}):
            full = chunk if full is None else full + chunk
    except Exception as exc:
        return CompareCell(
            target.provider, target.model, None, describe_error(exc, session.secrets)
        )
    samples = monitor.samples[before:]
    sample = samples[-1] if samples else None
    text = full.text if full is not None else ""
    return CompareCell(
        provider=target.provider,
        model=target.model,
        answer=text.strip(),
        error=None,
        finish_reason=full.response_metadata.get("finish_reason") if full is not None else None,
        ttft=sample.ttft if sample else None,
        latency=sample.latency if sample else None,
        output_tokens=sample.output_tokens if sample else None,
        server_tokens_per_second=sample.server_tokens_per_second if sample else None,
        client_tokens_per_second=sample.client_tokens_per_second if sample else None,
    )


def run_compare(
    session: Session,
    prompts: Sequence[str] = DEFAULT_COMPARE_PROMPTS,
    *,
    max_tokens: int = 512,
    on_answer: Callable[[Target, CompareCell], None] | None = None,
) -> CompareReport:
    """Ask every prompt to every target (streamed, so TTFT is measured).

    Args:
        session: The targets.
        prompts: The prompt set.
        max_tokens: Completion limit of each answer.
        on_answer: Called after each answer (for progress display).

    Returns:
        The report; failures become cells with an ``error``, never exceptions.
    """
    models = {
        t.label: t.chat_model(max_tokens=max_tokens, max_retries=1, timeout=60.0)
        for t in session.targets
    }
    monitor = RecordingMonitor()
    report = CompareReport(session.emulated, list(session.notes), list(session.targets), [])
    for prompt in prompts:
        row: list[CompareCell] = []
        for target in session.targets:
            session.pace(target)
            cell = _ask(session, target, models[target.label], prompt, monitor)
            row.append(cell)
            if on_answer is not None:
                on_answer(target, cell)
        report.prompts.append(prompt)
        report.rows.append(row)
    return report
