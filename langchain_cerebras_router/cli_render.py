"""Rich rendering of the CLI's reports (extra ``cli``)."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from langchain_cerebras_router.cli_bench import BenchReport
from langchain_cerebras_router.cli_compare import CompareCell, CompareReport
from langchain_cerebras_router.cli_doctor import Check
from langchain_cerebras_router.cli_models import ProviderModels
from langchain_cerebras_router.cli_targets import Session

__all__ = [
    "bench_table",
    "compare_table",
    "doctor_table",
    "models_tables",
    "session_banner",
]

_STATUS_ICON = {
    "ok": ("✓", "green"),
    "warn": ("!", "yellow"),
    "fail": ("✗", "bold red"),
    "info": ("·", "dim"),
}
_MODEL_STATUS_STYLE = {
    "active": "green",
    "preview": "cyan",
    "deprecated": "yellow",
    "retired": "red",
}


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _secs(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1000:,.0f} ms" if value < 1 else f"{value:,.2f} s"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:,.0f}"


def _price(value: float | None) -> str:
    return "—" if value is None else f"${value:,.2f}"


def session_banner(session: Session) -> Panel:
    """What the command talks to: the emulator (highlighted) or the live APIs."""
    body = Text()
    for index, note in enumerate(session.notes):
        style = "bold yellow" if index == 0 and session.emulated else ""
        body.append(("\n" if index else "") + note, style=style)
    title = "EMULATOR — no real API is called" if session.emulated else "Live APIs"
    return Panel(
        body,
        title=f"[bold]{title}[/]",
        title_align="left",
        border_style="yellow" if session.emulated else "green",
        box=box.ROUNDED,
    )


def models_tables(results: Sequence[ProviderModels]) -> list[Table]:
    """One table per provider: what ``GET /v1/models`` lists, with catalogue data."""
    tables: list[Table] = []
    for result in results:
        where = "emulator" if result.emulated else result.endpoint
        if result.error:
            caption = Text(f"GET /v1/models failed: {result.error}", style="red")
        else:
            listed = sum(1 for r in result.rows if r.listed)
            took = f" in {_secs(result.elapsed)}" if result.elapsed is not None else ""
            caption = Text(f"{listed} models listed by GET /v1/models{took}", style="dim")
        table = Table(
            title=Text.assemble((result.provider.capitalize(), "bold"), (f" · {where}", "dim")),
            title_justify="left",
            caption=caption,
            caption_justify="left",
            box=box.SIMPLE_HEAD,
            header_style="bold",
            pad_edge=False,
        )
        table.add_column("Model id", style="bold", overflow="fold")
        table.add_column("Status", no_wrap=True)
        table.add_column("tok/s", justify="right", no_wrap=True)
        table.add_column("$/M in", justify="right", no_wrap=True)
        table.add_column("$/M out", justify="right", no_wrap=True)
        table.add_column("Reasoning", justify="center", no_wrap=True)
        for row in result.rows:
            if row.status is None:
                status = Text("not catalogued", style="dim italic")
            else:
                status = Text(row.status, style=_MODEL_STATUS_STYLE.get(row.status, ""))
            if row.listed is False:
                status.append(" (not listed)", style="red")
            elif row.listed is None:
                status.append(" (unverified)", style="dim")
            table.add_row(
                Text(row.model_id),
                status,
                _rate(row.advertised_tokens_per_second),
                _price(row.price_input_per_million),
                _price(row.price_output_per_million),
                "—" if row.reasoning is None else ("yes" if row.reasoning else "no"),
                style="dim" if row.listed is False else "",
            )
        tables.append(table)
    return tables


def _ratio_text(ratio: float | None) -> Text:
    if ratio is None:
        return Text("—", style="dim")
    style = "green" if ratio >= 0.8 else ("yellow" if ratio >= 0.5 else "red")
    return Text(f"{ratio:.0%}", style=style)


def _target_text(provider: str, model: str) -> Text:
    return Text.assemble((model, "bold"), "\n", (provider, "dim"))


def bench_table(report: BenchReport) -> Table:
    """Actual vs advertised tokens/s, TTFT and latency per target."""
    kind = "streamed" if report.stream else "non-streamed"
    mode = "EMULATOR, simulated speeds" if report.emulated else "live APIs"
    table = Table(
        title=Text(f"Bench · {report.requests} {kind} calls per target · {mode}", style="bold"),
        title_justify="left",
        caption=Text(
            "server: tokens / provider-reported completion time · client: tokens / (latency - "
            "TTFT), measured here · medians unless p95 · —: not reported",
            style="dim",
        ),
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        header_style="bold",
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
    )
    table.add_column("Target", overflow="fold")
    for header in (
        "OK",
        "tok/s\nadvert.",
        "tok/s\nserver",
        "tok/s\nclient",
        "vs\nadvert.",
        "TTFT\nms",
        "latency\nms",
        "p95\nms",
    ):
        table.add_column(header, justify="right", no_wrap=True)
    for result in report.targets:
        stats = result.main_stats
        calls = report.requests
        ok = len(result.ok_samples)
        table.add_row(
            _target_text(result.target.provider, result.target.model),
            Text(f"{ok}/{calls}", style="green" if ok == calls else "bold red"),
            _rate(result.target.advertised_tokens_per_second),
            _rate(stats.server_tokens_per_second_p50 if stats else None),
            _rate(stats.client_tokens_per_second_p50 if stats else None),
            _ratio_text(stats.speed_ratio if stats else None),
            _ms(stats.ttft_p50 if stats else None),
            _ms(stats.latency_p50 if stats else None),
            _ms(stats.latency_p95 if stats else None),
        )
    return table


def _cell(cell: CompareCell, *, full: bool, limit: int = 360) -> Group:
    if cell.error is not None:
        return Group(Text(cell.error, style="red"))
    answer = cell.answer or ""
    if not full and len(answer) > limit:
        answer = answer[: limit - 1].rstrip() + "…"
    facts = [
        f"TTFT {_secs(cell.ttft)}",
        f"{_secs(cell.latency)} total",
        f"{cell.output_tokens if cell.output_tokens is not None else '?'} tok",
    ]
    if cell.server_tokens_per_second is not None:
        facts.append(f"{cell.server_tokens_per_second:,.0f} tok/s (server)")
    elif cell.client_tokens_per_second is not None:
        facts.append(f"{cell.client_tokens_per_second:,.0f} tok/s (client)")
    if answer:
        body = Text(answer)
    elif cell.finish_reason == "length":
        body = Text("(no answer: max_tokens reached, spent on reasoning)", style="yellow")
    else:
        body = Text("(empty answer)", style="yellow")
    return Group(body, Text(" · ".join(facts), style="dim cyan"))


def compare_table(report: CompareReport, *, full: bool = False) -> Table:
    """Prompts as rows, targets as columns: answers with their speeds."""
    table = Table(
        title=Text(
            "Compare" + (" · EMULATOR (placeholder answers)" if report.emulated else ""),
            style="bold",
        ),
        title_justify="left",
        box=box.ROUNDED,
        show_lines=True,
        header_style="bold",
    )
    table.add_column("Prompt", style="bold", ratio=1)
    for target in report.targets:
        table.add_column(_target_text(target.provider, target.model), ratio=2)
    for prompt, row in zip(report.prompts, report.rows, strict=True):
        table.add_row(Text(prompt), *[_cell(cell, full=full) for cell in row])
    return table


def doctor_table(checks: Sequence[Check]) -> Table:
    """The checks grouped by section, with a status icon each."""
    table = Table(box=box.SIMPLE, show_header=False, pad_edge=False)
    table.add_column(width=1)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    section = None
    for check in checks:
        if check.section != section:
            section = check.section
            if table.row_count:
                table.add_row("", "", "")
            table.add_row("", Text(section.upper(), style="bold cyan"), "")
        icon, style = _STATUS_ICON[check.status]
        table.add_row(Text(icon, style=style), Text(check.name), Text(check.detail))
    return table


def print_doctor_summary(console: Console, checks: Sequence[Check]) -> None:
    """One closing line: problems found, or all good."""
    failed = sum(c.status == "fail" for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    if failed:
        console.print(f"[bold red]✗ {failed} check(s) failed[/], {warned} warning(s).")
    elif warned:
        console.print(f"[yellow]! No failure, {warned} warning(s).[/]")
    else:
        console.print("[bold green]✓ All checks passed.[/]")
