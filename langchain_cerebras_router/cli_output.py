"""Console output for the demo: rich when it is installed, plain text otherwise.

The demo must run on a bare install (core dependencies only), so it writes through the small
:class:`Writer` interface below instead of using rich directly.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, Protocol, TextIO

__all__ = ["Writer", "make_writer", "rich_available"]


class Writer(Protocol):
    """What the demo prints through."""

    def banner(self, title: str, lines: Sequence[str]) -> None:
        """The title and what the demo runs against."""

    def section(self, index: int, title: str, code: str) -> None:
        """Start a numbered section, showing the code it runs."""

    def fields(self, rows: Sequence[tuple[str, str]]) -> None:
        """Label / value lines."""

    def answer(self, text: str) -> None:
        """A model's answer."""

    def stream_piece(self, text: str) -> None:
        """Part of a streamed answer, printed as it arrives."""

    def end_stream(self) -> None:
        """End of a streamed answer."""

    def code(self, text: str, language: str) -> None:
        """A block of code or data."""

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """A small table."""

    def note(self, text: str) -> None:
        """A remark."""

    def error(self, text: str) -> None:
        """A failure."""

    def done(self, text: str) -> None:
        """The closing line."""


def rich_available() -> bool:
    """Whether ``rich`` can be imported."""
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


class _PlainWriter:
    """Plain text, for terminals without rich (or ``--plain``)."""

    def __init__(self, file: TextIO | None = None) -> None:
        self._file = file
        self._streaming = False

    @property
    def file(self) -> TextIO:
        return self._file if self._file is not None else sys.stdout

    def _print(self, text: str = "") -> None:
        print(text.rstrip(), file=self.file)

    def banner(self, title: str, lines: Sequence[str]) -> None:
        self._print("=" * 78)
        self._print(title)
        self._print("=" * 78)
        for line in lines:
            self._print(f"* {line}")

    def section(self, index: int, title: str, code: str) -> None:
        self._print()
        self._print(f"--- {index}. {title} " + "-" * max(3, 70 - len(title)))
        self._print(f"    >>> {code}")

    def fields(self, rows: Sequence[tuple[str, str]]) -> None:
        width = max((len(label) for label, _ in rows), default=0)
        for label, value in rows:
            self._print(f"    {label.ljust(width)} : {value}")

    def answer(self, text: str) -> None:
        self._print(f"    answer: {text}")

    def stream_piece(self, text: str) -> None:
        if not self._streaming:
            self._streaming = True
            self.file.write("    stream: ")
        self.file.write(text)
        self.file.flush()

    def end_stream(self) -> None:
        self._streaming = False
        self._print()

    def code(self, text: str, language: str) -> None:
        for line in text.splitlines():
            self._print(f"    {line}")

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        widths = [len(c) for c in columns]
        for row in rows:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=False)]
        line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=False))
        self._print(f"    {line}")
        self._print("    " + "  ".join("-" * w for w in widths))
        for row in rows:
            self._print("    " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)))

    def note(self, text: str) -> None:
        self._print(f"    note: {text}")

    def error(self, text: str) -> None:
        self._print(f"    ERROR: {text}")

    def done(self, text: str) -> None:
        self._print()
        self._print(text)


class _RichWriter:
    """Colours, rules and tables through rich."""

    def __init__(self, file: TextIO | None = None) -> None:
        from rich.console import Console

        self.console: Any = Console(file=file, highlight=False)
        self._streaming = False

    def banner(self, title: str, lines: Sequence[str]) -> None:
        from rich.panel import Panel
        from rich.text import Text

        body = Text()
        for index, line in enumerate(lines):
            style = "yellow" if index == 0 and "Emulator mode" in line else ""
            body.append(("\n" if index else "") + line, style=style)
        self.console.print(Panel(body, title=f"[bold]{title}[/]", border_style="cyan"))

    def section(self, index: int, title: str, code: str) -> None:
        from rich.text import Text

        self.console.print()
        self.console.rule(f"[bold cyan]{index} · {title}[/]", align="left")
        self.console.print(Text(f">>> {code}", style="dim"))

    def fields(self, rows: Sequence[tuple[str, str]]) -> None:
        from rich.table import Table
        from rich.text import Text

        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        for label, value in rows:
            grid.add_row(Text(label), Text(value))
        self.console.print(grid)

    def answer(self, text: str) -> None:
        from rich.text import Text

        self.console.print(Text.assemble(("answer  ", "bold green"), (text, "")))

    def stream_piece(self, text: str) -> None:
        if not self._streaming:
            self._streaming = True
            self.console.print("stream  ", end="", markup=False, style="bold green")
        self.console.print(text, end="", markup=False, soft_wrap=True)

    def end_stream(self) -> None:
        self._streaming = False
        self.console.print()

    def code(self, text: str, language: str) -> None:
        from rich.syntax import Syntax

        self.console.print(Syntax(text, language, theme="ansi_dark", background_color="default"))

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        from rich import box
        from rich.table import Table
        from rich.text import Text

        table = Table(*columns, header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
        for row in rows:
            outcome = row[2] if len(row) > 2 else ""
            style = {"failed": "red", "answered": "green", "skipped": "yellow"}.get(outcome, "")
            table.add_row(*[Text(cell) for cell in row], style=style)
        self.console.print(table)

    def note(self, text: str) -> None:
        from rich.text import Text

        self.console.print(Text.assemble(("note  ", "dim"), (text, "")))

    def error(self, text: str) -> None:
        from rich.text import Text

        self.console.print(Text(f"error: {text}", style="bold red"))

    def done(self, text: str) -> None:
        from rich.text import Text

        self.console.print()
        self.console.print(Text.assemble(("✓ ", "bold green"), text))


def make_writer(*, plain: bool | None = None, file: TextIO | None = None) -> Writer:
    """Rich output when installed (and not ``plain``), else plain text."""
    if not plain and rich_available():
        return _RichWriter(file)
    return _PlainWriter(file)
