"""The ``langchain-cerebras-router`` Typer application (extra ``cli``).

Entry point: :func:`langchain_cerebras_router.cli.main`, which checks that the extra is
installed before importing this module.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from langchain_cerebras_router._version import __version__
from langchain_cerebras_router.cli_targets import (
    PROVIDERS,
    ProviderName,
    Session,
    open_session,
    parse_target_specs,
)
from langchain_cerebras_router.testing import Emulator, Fault

__all__ = ["app"]

app = typer.Typer(
    name="langchain-cerebras-router",
    help=(
        "Cerebras and Groq for LangChain: demo, live model list, speed bench, side-by-side "
        "comparison, environment doctor and a local API emulator.\n\n"
        "Without CEREBRAS_API_KEY / GROQ_API_KEY every command runs against the bundled "
        "emulator and says so."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

ModelsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--model",
        "-m",
        help="provider or provider:model, repeatable (default: each configured provider).",
    ),
]
EmulatorOption = Annotated[
    bool, typer.Option("--emulator", help="Use the bundled emulator even when API keys are set.")
]


def _console(*, stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False)


def _open(
    models: list[str] | None, *, emulator: bool, answer_tokens: int = 24
) -> AbstractContextManager[Session]:
    try:
        parse_target_specs(models or ())
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--model") from exc
    return open_session(models or (), force_emulator=emulator, answer_tokens=answer_tokens)


def _banner(session: Session, *, to_stderr: bool = False) -> None:
    from langchain_cerebras_router.cli_render import session_banner

    _console(stderr=to_stderr).print(session_banner(session))


def _require_targets(session: Session) -> None:
    if not session.targets:
        _console(stderr=True).print(
            Text.assemble(
                ("Nothing to run: ", "bold red"),
                "; ".join(session.notes) + " Set the key, or pass --emulator.",
            )
        )
        raise typer.Exit(code=2)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"langchain-cerebras-router {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    """Cerebras and Groq for LangChain, from the command line."""


# --------------------------------------------------------------------------- demo


@app.command()
def demo(
    model: Annotated[
        str | None, typer.Option(help="Cerebras model (default gpt-oss-120b).")
    ] = None,
    emulator: EmulatorOption = False,
    plain: Annotated[bool, typer.Option("--plain", help="Plain text output.")] = False,
) -> None:
    """Invoke, stream, tool call, structured output and failover, end to end."""
    from langchain_cerebras_router.demo import run_demo

    code = run_demo(model=model, force_emulator=emulator, plain=plain or None)
    if code:
        raise typer.Exit(code=code)


# --------------------------------------------------------------------------- models


@app.command()
def models(
    provider: Annotated[
        list[str] | None,
        typer.Option("--provider", "-p", help="cerebras or groq, repeatable (default: both)."),
    ] = None,
    all_models: Annotated[
        bool, typer.Option("--all", help="Also show catalogued models the provider does not list.")
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of tables.")
    ] = False,
    emulator: EmulatorOption = False,
) -> None:
    """Live GET /v1/models of each provider, with advertised speed and price."""
    from langchain_cerebras_router.cli_models import collect_models
    from langchain_cerebras_router.cli_render import models_tables

    with _open(provider, emulator=emulator) as session:
        _banner(session, to_stderr=json_output)
        _require_targets(session)
        results = collect_models(session, include_unlisted=all_models)
    if json_output:
        payload = {
            "mode": "emulator" if session.emulated else "live",
            "providers": [r.to_dict() for r in results],
        }
        typer.echo(json.dumps(payload, indent=2))
    else:
        console = _console()
        for table in models_tables(results):
            console.print(table)
        console.print(
            "[dim]Speeds and prices: the packaged catalogue (override with "
            "LANGCHAIN_CEREBRAS_ROUTER_CATALOGUE).[/]"
        )
    if any(r.error for r in results):
        raise typer.Exit(code=1)


# --------------------------------------------------------------------------- bench


def _read_prompts(path: Path | None, default: tuple[str, ...]) -> list[str]:
    if path is None:
        return list(default)
    from langchain_cerebras_router.cli_compare import load_prompts

    try:
        return load_prompts(path)
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--prompts") from exc


@app.command()
def bench(
    model: ModelsOption = None,
    requests: Annotated[
        int, typer.Option("--requests", "-n", min=1, help="Measured calls per target.")
    ] = 5,
    stream: Annotated[
        bool, typer.Option("--stream/--no-stream", help="Stream (needed for TTFT).")
    ] = True,
    max_tokens: Annotated[int, typer.Option(min=1, help="Completion limit per call.")] = 256,
    prompts: Annotated[
        Path | None, typer.Option(help="File with one prompt per line ('#' for comments).")
    ] = None,
    json_out: Annotated[Path | None, typer.Option(help="Write the full results as JSON.")] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Draw a PNG chart (needs matplotlib, extra \\[plots]).")
    ] = None,
    warmup: Annotated[
        bool, typer.Option("--warmup/--no-warmup", help="One unmeasured call per target first.")
    ] = True,
    emulator: EmulatorOption = False,
) -> None:
    """Measure tokens/s (actual vs advertised), time to first token and latency."""
    from langchain_cerebras_router.cli_bench import DEFAULT_BENCH_PROMPTS, run_bench
    from langchain_cerebras_router.cli_render import bench_table

    if plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError as exc:
            msg = "needs matplotlib: pip install 'langchain-cerebras-router[plots]'"
            raise typer.BadParameter(msg, param_hint="--plot") from exc
    prompt_list = _read_prompts(prompts, DEFAULT_BENCH_PROMPTS)
    console = _console()
    with _open(model, emulator=emulator, answer_tokens=160) as session:
        _banner(session)
        _require_targets(session)
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("benchmarking", total=requests * len(session.targets))

            def advance(target: Any, ok: bool) -> None:
                progress.update(task, advance=1, description=target.label)

            report = run_bench(
                session,
                requests=requests,
                stream=stream,
                max_tokens=max_tokens,
                prompts=prompt_list,
                warmup=warmup,
                on_call=advance,
            )
    console.print(bench_table(report))
    for result in report.targets:
        for error in dict.fromkeys(result.errors):
            console.print(Text(f"{result.target.label}: {error}", style="red"))
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
        console.print(Text.assemble("Wrote results to ", (str(json_out), "bold")))
    if plot is not None:
        from langchain_cerebras_router.cli_bench import write_plot

        written = write_plot(report, plot)
        console.print(Text.assemble("Wrote chart to ", (str(written), "bold")))
    if any(len(r.ok_samples) < requests for r in report.targets):
        raise typer.Exit(code=1)


# --------------------------------------------------------------------------- compare


@app.command()
def compare(
    model: ModelsOption = None,
    prompts: Annotated[
        Path | None, typer.Option(help="File with one prompt per line (default: built-in set).")
    ] = None,
    max_tokens: Annotated[int, typer.Option(min=1, help="Completion limit per answer.")] = 512,
    full: Annotated[bool, typer.Option("--full", help="Do not shorten long answers.")] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of a table.")
    ] = False,
    emulator: EmulatorOption = False,
) -> None:
    """Run a prompt set on each provider; answers and speeds side by side."""
    from langchain_cerebras_router.cli_compare import DEFAULT_COMPARE_PROMPTS, run_compare
    from langchain_cerebras_router.cli_render import compare_table

    prompt_list = _read_prompts(prompts, DEFAULT_COMPARE_PROMPTS)
    with _open(model, emulator=emulator, answer_tokens=40) as session:
        _banner(session, to_stderr=json_output)
        _require_targets(session)
        with _console(stderr=True).status("asking every provider..."):
            report = run_compare(session, prompt_list, max_tokens=max_tokens)
    if json_output:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _console().print(compare_table(report, full=full))
    if any(cell.error for row in report.rows for cell in row):
        raise typer.Exit(code=1)


# --------------------------------------------------------------------------- doctor


@app.command()
def doctor(
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of a table.")
    ] = False,
    emulator: EmulatorOption = False,
) -> None:
    """Check keys (never shown), connectivity, warm-up, rate-limit headroom and models."""
    from langchain_cerebras_router.cli_doctor import run_doctor
    from langchain_cerebras_router.cli_render import doctor_table, print_doctor_summary

    with _open(None, emulator=emulator) as session:
        _banner(session, to_stderr=json_output)
        checks = run_doctor(session)
    if json_output:
        payload = {
            "mode": "emulator" if session.emulated else "live",
            "checks": [c.to_dict() for c in checks],
        }
        typer.echo(json.dumps(payload, indent=2))
    else:
        console = _console()
        console.print(doctor_table(checks))
        print_doctor_summary(console, checks)
    if any(c.status == "fail" for c in checks):
        raise typer.Exit(code=1)


# --------------------------------------------------------------------------- emulator


def _parse_fault(spec: str) -> tuple[Fault, ProviderName | None]:
    """``[provider=]kind[:args]`` -> the fault and the provider it is limited to."""
    name, sep, rest = spec.partition("=")
    if sep:
        if name not in PROVIDERS:
            msg = f"unknown provider {name!r} in {spec!r}: use cerebras or groq"
            raise ValueError(msg)
        return Fault.parse(rest), name
    return Fault.parse(spec), None


@app.command("emulator")
def emulator_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one).")] = 8765,
    tokens_per_second: Annotated[
        float | None,
        typer.Option(min=0.001, help="Pace of streamed tokens (default: as fast as possible)."),
    ] = None,
    ttft: Annotated[float, typer.Option(min=0.0, help="Time to first token, seconds.")] = 0.0,
    answer_tokens: Annotated[int, typer.Option(min=1, help="Length of plain answers.")] = 24,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            help="[PROVIDER=]KIND[:ARGS] applied to every chat request, repeatable, e.g. "
            "cerebras=rate_limit:2, status:503, stall:2:30, reset_after:3."
        ),
    ] = None,
    duration: Annotated[
        float | None, typer.Option(min=0.0, help="Stop after this many seconds (default: Ctrl-C).")
    ] = None,
) -> None:
    """Serve the bundled Cerebras/Groq API emulator in the foreground."""
    faults: list[tuple[Fault, ProviderName | None]] = []
    for spec in fault or []:
        try:
            faults.append(_parse_fault(spec))
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--fault") from exc
    emu = Emulator(
        host,
        port,
        tokens_per_second=tokens_per_second,
        time_to_first_token=ttft,
        answer_tokens=answer_tokens,
    )
    try:
        emu.start()
    except OSError as exc:
        _console(stderr=True).print(
            Text.assemble((f"Cannot listen on {host}:{port}: ", "bold red"), str(exc))
        )
        raise typer.Exit(code=1) from exc
    try:
        for parsed, provider in faults:
            emu.inject(parsed, provider=provider, times=None)
        _print_emulator_banner(emu, faults, tokens_per_second, ttft)
        _serve_until_stopped(duration)
        served = emu.request_count()
    finally:
        emu.stop()
    _console().print(f"Emulator stopped after {served} chat request(s).")


def _print_emulator_banner(
    emu: Emulator,
    faults: list[tuple[Fault, ProviderName | None]],
    tokens_per_second: float | None,
    ttft: float,
) -> None:
    console = _console()
    speed = f"{tokens_per_second:,.0f} tokens/s" if tokens_per_second else "as fast as possible"
    lines = Text()
    lines.append(f"Cerebras API: {emu.cerebras_base_url}/v1/...\n")
    lines.append(f"Groq API:     {emu.groq_base_url}/openai/v1/...\n")
    lines.append(f"Speed: {speed}, time to first token {ttft:g} s\n")
    if faults:
        shown = ", ".join(f"{p + '=' if p else ''}{f}" for f, p in faults)
        lines.append(f"Faults on every chat request: {shown}\n", style="yellow")
    lines.append("Per request: send the header x-emulator-fault: <kind[:args]>", style="dim")
    console.print(
        Panel(lines, title="[bold]Cerebras/Groq API emulator[/]", border_style="cyan", expand=False)
    )
    typer.echo("Point the SDKs and LangChain at it (any non-empty key is accepted):")
    for name, value in emu.env().items():
        typer.echo(f"  export {name}={value}")
    typer.echo("Press Ctrl-C to stop.")
    console.file.flush()


def _serve_until_stopped(duration: float | None) -> None:
    done = threading.Event()
    previous: Any = None
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        previous = signal.signal(signal.SIGTERM, lambda *_: done.set())
    deadline = None if duration is None else time.monotonic() + duration
    try:
        while not done.is_set():
            timeout = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
            if timeout <= 0:
                break
            done.wait(timeout)
    except KeyboardInterrupt:
        pass
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
