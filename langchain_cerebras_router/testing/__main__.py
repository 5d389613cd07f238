"""Run the emulator from a shell: ``python -m langchain_cerebras_router.testing``.

It serves until Ctrl-C and prints the base URL and the environment variables to export.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Sequence

from langchain_cerebras_router.testing.emulator import Emulator
from langchain_cerebras_router.testing.faults import FAULT_KINDS, Fault

DEFAULT_PORT = 8765


def build_parser() -> argparse.ArgumentParser:
    """The command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m langchain_cerebras_router.testing",
        description="Serve a local emulator of the Cerebras and Groq chat APIs.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port, 0 for any (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--tokens-per-second",
        type=float,
        default=None,
        help="pace of streamed tokens (default: as fast as possible)",
    )
    parser.add_argument("--ttft", type=float, default=0.0, help="time to first token, seconds")
    parser.add_argument(
        "--server-latency", type=float, default=0.0, help="seconds before response headers"
    )
    parser.add_argument(
        "--answer-tokens", type=int, default=24, help="length of plain answers (default 24)"
    )
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help="accept only this key (repeatable; default: any non-empty key)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help=f"apply to every chat request, e.g. rate_limit:2 ({', '.join(FAULT_KINDS)})",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until interrupted; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        faults = [Fault.parse(spec) for spec in args.fault]
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    emu = Emulator(
        args.host,
        args.port,
        tokens_per_second=args.tokens_per_second,
        time_to_first_token=args.ttft,
        server_latency=args.server_latency,
        answer_tokens=args.answer_tokens,
        api_keys=args.api_keys,
    )
    try:
        emu.start()
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    for fault in faults:
        emu.inject(fault, times=None)
    key = "emulator-key" if not args.api_keys else "<one of your --api-key values>"
    print(f"Cerebras/Groq API emulator listening on {emu.base_url}")
    print("Export these to point the SDKs and LangChain at it:")
    for name, value in emu.env(key).items():
        print(f"  export {name}={value}")
    if faults:
        print("Faults on every chat request: " + ", ".join(str(f) for f in faults))
    print("Press Ctrl-C to stop.", flush=True)
    done = threading.Event()
    with contextlib.suppress(ValueError):  # not the main thread: Ctrl-C only
        signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
