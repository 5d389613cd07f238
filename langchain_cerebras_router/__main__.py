"""``python -m langchain_cerebras_router``: the demo, and the CLI when its extra is installed.

``python -m langchain_cerebras_router demo`` needs only the core dependencies. Every other
command is the ``langchain-cerebras-router`` CLI, which needs the ``cli`` extra
(``pip install "langchain-cerebras-router[cli]"``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch ``demo`` to the core-only demo and anything else to the CLI."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "demo":
        from langchain_cerebras_router.demo import main as demo_main

        return demo_main(args[1:])
    from langchain_cerebras_router.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
