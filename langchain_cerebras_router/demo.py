"""The package demo: ``python -m langchain_cerebras_router demo`` (or ``make demo``).

Shows ChatCerebras end to end: an invoke with the server-side speed from ``time_info``, a
stream with measured time to first token and tokens/s, a tool call round trip, a Pydantic
structured output, and a RoutedChatModel failing over from Cerebras to Groq.

With no ``CEREBRAS_API_KEY`` it starts the bundled emulator in this process and says so; with
the key it calls the real API (and the routing part needs ``GROQ_API_KEY`` as well). Only the
core dependencies are needed; the output uses ``rich`` when it is installed.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from langchain_cerebras_router.cli_output import Writer, make_writer
from langchain_cerebras_router.cli_targets import (
    KEY_ENV,
    Session,
    Target,
    closed_port_url,
    describe_error,
    open_session,
)
from langchain_cerebras_router.metrics import SpeedMonitor

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel

__all__ = ["CityFacts", "get_weather", "main", "run_demo"]

_LIBRARY_LOGGER = "langchain_cerebras_router"


@tool
def get_weather(city: str) -> str:
    """Return the current weather in a city."""
    return f"Sunny and 22 °C in {city}"


class CityFacts(BaseModel):
    """A few facts about a city."""

    city: str = Field(description="The city's name")
    country: str = Field(description="The country it is in")
    population_millions: float = Field(description="Population, in millions")
    landmarks: list[str] = Field(description="Two or three famous landmarks")


def _fmt_rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} tokens/s"


def _fmt_seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 1000:,.0f} ms" if value < 1 else f"{value:.2f} s"


@contextlib.contextmanager
def _quiet_library_logs() -> Iterator[None]:
    """Hide the router's failover warnings: the demo shows them as a table instead."""
    logger = logging.getLogger(_LIBRARY_LOGGER)
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


class _Demo:
    """The demo's sections, sharing one writer and one session."""

    def __init__(self, session: Session, out: Writer) -> None:
        self.session = session
        self.out = out
        self.failures = 0
        cerebras = session.target_for("cerebras")
        if cerebras is None:  # open_session always yields it for the demo's request
            msg = "the demo needs a Cerebras target"
            raise RuntimeError(msg)
        self.cerebras = cerebras
        self.llm = cerebras.chat_model(max_tokens=None if cerebras.emulated else 1024)

    def run(self) -> int:
        sections: list[tuple[str, str, Callable[[], None]]] = [
            ("invoke", 'llm.invoke("In one sentence, what is Cerebras known for?")', self.invoke),
            ("stream", 'for chunk in llm.stream("Write a short paragraph ..."): ...', self.stream),
            ("tool call", "llm.bind_tools([get_weather]).invoke(...)", self.tool_call),
            (
                "structured output",
                "llm.with_structured_output(CityFacts).invoke(...)",
                self.structured,
            ),
            (
                "routing with failover",
                'RoutedChatModel(routes={"cerebras": ..., "groq": ...}).invoke(...)',
                self.routing,
            ),
        ]
        for index, (title, code, section) in enumerate(sections, start=1):
            self.out.section(index, title, code)
            try:
                section()
            except Exception as exc:
                self.failures += 1
                self.out.error(describe_error(exc, self.session.secrets))
        if self.failures:
            self.out.error(f"{self.failures} section(s) failed.")
            return 1
        self.out.done("Demo finished: every section ran.")
        return 0

    # ------------------------------------------------------------------ sections

    def invoke(self) -> None:
        started = time.perf_counter()
        message = self.llm.invoke("In one sentence, what is Cerebras known for?")
        elapsed = time.perf_counter() - started
        meta = message.response_metadata
        time_info = meta.get("time_info") or {}
        usage: Mapping[str, Any] = message.usage_metadata or {}
        self.out.answer(str(message.content))
        self.out.fields(
            [
                ("model", str(meta.get("model_name"))),
                ("server speed", f"{_fmt_rate(meta.get('tokens_per_second'))} (from time_info)"),
                ("completion_time", _fmt_seconds(time_info.get("completion_time"))),
                (
                    "tokens",
                    f"{usage.get('input_tokens', '?')} in, {usage.get('output_tokens', '?')} out",
                ),
                ("round trip", _fmt_seconds(elapsed)),
            ]
        )

    def stream(self) -> None:
        monitor = SpeedMonitor()
        full: AIMessageChunk | None = None
        chunks = 0
        prompt = "Write a short paragraph about wafer-scale chips."
        for chunk in self.llm.stream(prompt, config={"callbacks": [monitor]}):
            full = chunk if full is None else full + chunk
            if isinstance(chunk.content, str) and chunk.content:
                chunks += 1
                self.out.stream_piece(chunk.content)
        self.out.end_stream()
        if full is None:
            msg = "the stream produced no chunk"
            raise RuntimeError(msg)
        stats = monitor.stats()
        if not stats:
            msg = "the speed monitor recorded no call"
            raise RuntimeError(msg)
        measured = stats[0]
        usage: Mapping[str, Any] = full.usage_metadata or {}
        reasoning = (usage.get("output_token_details") or {}).get("reasoning")
        tokens = f"{usage.get('output_tokens', '?')} output tokens"
        if reasoning:
            tokens += f" (of which {reasoning} reasoning, not shown)"
        self.out.fields(
            [
                ("time to first token", _fmt_seconds(measured.ttft_p50)),
                ("client speed", f"{_fmt_rate(measured.client_tokens_per_second_p50)} (measured)"),
                (
                    "server speed",
                    f"{_fmt_rate(full.response_metadata.get('tokens_per_second'))} (time_info)",
                ),
                ("received", f"{chunks} content chunks, {tokens}"),
            ]
        )

    def tool_call(self) -> None:
        llm_with_tools = self.llm.bind_tools([get_weather])
        history: list[BaseMessage] = [HumanMessage("What's the weather in Paris right now?")]
        reply = llm_with_tools.invoke(history)
        if not isinstance(reply, AIMessage) or not reply.tool_calls:
            msg = f"expected a tool call, got: {getattr(reply, 'content', reply)!r}"
            raise RuntimeError(msg)
        call = reply.tool_calls[0]
        tool_message = get_weather.invoke(call)
        self.out.fields(
            [
                ("tool call", f"{call['name']}({_format_args(call['args'])})"),
                ("tool result", str(tool_message.content)),
            ]
        )
        final = llm_with_tools.invoke([*history, reply, tool_message])
        self.out.answer(str(final.content))

    def structured(self) -> None:
        structured = self.llm.with_structured_output(CityFacts)
        facts = structured.invoke("Give me a few facts about Paris.")
        if not isinstance(facts, CityFacts):
            msg = f"expected CityFacts, got {type(facts).__name__}"
            raise TypeError(msg)
        self.out.code(facts.model_dump_json(indent=2), "json")

    def routing(self) -> None:
        from langchain_cerebras_router.router import RoutedChatModel

        groq = self.session.target_for("groq")
        if groq is None:
            self.out.note(
                f"Skipped: set {KEY_ENV['groq']} as well to route between Cerebras and Groq."
            )
            return
        emulator = self.session.emulator
        refused: socket.socket | None = None
        cerebras_route: BaseChatModel
        if emulator is not None:
            from langchain_cerebras_router.testing import Fault

            emulator.inject(Fault.rate_limit(retry_after=2.0), provider="cerebras")
            cerebras_route = self.cerebras.chat_model()
            self.out.note("Injected into the emulator: the next Cerebras request gets HTTP 429.")
        else:
            url, refused = closed_port_url()
            down = Target("cerebras", self.cerebras.model, self.cerebras.api_key, url)
            cerebras_route = down.chat_model()
            self.out.note(
                "Simulated outage: the Cerebras route points at a closed local port "
                "(connection refused), so the router must fail over to Groq."
            )
        try:
            router = RoutedChatModel(
                routes={"cerebras": cerebras_route, "groq": groq.chat_model()},
                priority="ultimate_speed",
            )
            for label in ("first call", "second call"):
                started = time.perf_counter()
                message = router.invoke("Say hello in five words.")
                elapsed = time.perf_counter() - started
                routing = message.response_metadata["routing"]
                self.out.fields(
                    [(label, f"answered by {routing['route']!r} in {_fmt_seconds(elapsed)}")]
                )
                self.out.table(
                    ["route", "model", "outcome", "why", "time"],
                    [_attempt_row(attempt) for attempt in routing["attempts"]],
                )
        finally:
            if refused is not None:
                refused.close()
        self.out.note(
            'The second call skips Cerebras while its "retry-after" runs; every answer '
            'explains itself in response_metadata["routing"].'
            if emulator is not None
            else 'Every answer explains itself in response_metadata["routing"].'
        )


def _format_args(args: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in args.items())


def _attempt_row(attempt: Mapping[str, Any]) -> list[str]:
    reason = str(attempt.get("reason") or "")
    short_reason = reason.split("): ", 1)[0] + (")" if "): " in reason else "")
    elapsed = attempt.get("elapsed_ms")
    return [
        str(attempt.get("route")),
        str(attempt.get("model")),
        str(attempt.get("outcome")),
        short_reason or "-",
        "-" if elapsed is None else f"{float(elapsed):,.0f} ms",
    ]


def _banner_lines(session: Session) -> list[str]:
    lines = list(session.notes)
    if not session.emulated:
        lines.append("Unset CEREBRAS_API_KEY (or pass --emulator) to run offline on the emulator.")
    return lines


def run_demo(
    *,
    model: str | None = None,
    force_emulator: bool = False,
    plain: bool | None = None,
    file: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run the demo and print it; returns the exit status (0 when every section ran).

    Args:
        model: Cerebras model to use (default ``gpt-oss-120b``).
        force_emulator: Use the emulator even when ``CEREBRAS_API_KEY`` is set.
        plain: Plain text output; ``None`` uses rich when installed.
        file: Where to print (default ``sys.stdout``).
        environ: Environment to read keys from (default ``os.environ``).

    Example:
        .. code-block:: python

            from langchain_cerebras_router.demo import run_demo

            run_demo(force_emulator=True, plain=True)
    """
    import os

    env = os.environ if environ is None else environ
    use_emulator = force_emulator or not env.get(KEY_ENV["cerebras"])
    reason = "--emulator was given" if force_emulator else f"{KEY_ENV['cerebras']} is not set"
    specs = [f"cerebras:{model}" if model else "cerebras", "groq"]
    out = make_writer(plain=plain, file=file)
    with (
        _quiet_library_logs(),
        open_session(
            specs,
            force_emulator=use_emulator,
            emulator_reason=reason,
            answer_tokens=48,
            environ=env,
        ) as session,
    ):
        out.banner("langchain-cerebras-router demo", _banner_lines(session))
        return _Demo(session, out).run()


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry of the demo (``python -m langchain_cerebras_router demo``)."""
    parser = argparse.ArgumentParser(
        prog="python -m langchain_cerebras_router demo",
        description="Show ChatCerebras and RoutedChatModel at work (offline without API keys).",
    )
    parser.add_argument("--model", help="Cerebras model (default gpt-oss-120b)")
    parser.add_argument(
        "--emulator", action="store_true", help="use the bundled emulator even with API keys"
    )
    parser.add_argument("--plain", action="store_true", help="plain text output (no rich)")
    args = parser.parse_args(argv)
    return run_demo(model=args.model, force_emulator=args.emulator, plain=args.plain or None)


if __name__ == "__main__":
    sys.exit(main())
