"""The ``langchain-cerebras-router`` command line (extra ``cli``).

Commands: ``demo``, ``models``, ``bench``, ``compare``, ``doctor`` and ``emulator``; run
``langchain-cerebras-router --help``. Without ``CEREBRAS_API_KEY`` / ``GROQ_API_KEY`` every
command runs against the bundled emulator and says so. The Typer application lives in
:mod:`langchain_cerebras_router.cli_app`; this module is the entry point, importable without
the ``cli`` extra.

Example:
    .. code-block:: shell

        langchain-cerebras-router doctor
        langchain-cerebras-router bench -n 10 --plot bench.png --json-out bench.json
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["CLI_EXTRA_HINT", "main", "missing_cli_dependencies"]

CLI_EXTRA_HINT = (
    "The langchain-cerebras-router CLI needs the 'cli' extra: "
    "pip install 'langchain-cerebras-router[cli]' "
    "(python -m langchain_cerebras_router demo works without it)."
)

_PROG_NAME = "langchain-cerebras-router"


def missing_cli_dependencies() -> list[str]:
    """The CLI's dependencies (typer, rich) that are not installed."""
    return [name for name in ("typer", "rich") if importlib.util.find_spec(name) is None]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status.

    Args:
        argv: Arguments without the program name (default: ``sys.argv[1:]``).
    """
    missing = missing_cli_dependencies()
    if missing:
        print(f"{CLI_EXTRA_HINT} Missing: {', '.join(missing)}.", file=sys.stderr)
        return 1
    from langchain_cerebras_router.cli_app import app

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name=_PROG_NAME)
    except SystemExit as exc:
        if exc.code is None:
            return 0
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def __getattr__(name: str) -> Any:
    """``cli.app``: the Typer application (imported on first use; needs the extra)."""
    if name == "app":
        from langchain_cerebras_router.cli_app import app

        return app
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


if __name__ == "__main__":
    sys.exit(main())
