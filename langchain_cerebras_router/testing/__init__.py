"""A local emulator of the Cerebras and Groq chat APIs, for offline tests, demos and benchmarks.

Start it from Python (a context manager or the pytest fixtures ``llm_emulator``, ``emulator``
and ``emulator_env``) or from a shell with ``python -m langchain_cerebras_router.testing``.
It speaks the wire format of both APIs (streams, errors, rate-limit headers, ``/v1/models``),
answers deterministically, and injects faults on demand. Only the standard library is used.

Example:
    ```python
    from langchain_cerebras_router.testing import Emulator, Fault

    with Emulator() as emu:
        emu.script("cerebras", [Fault.status(503), None])
        print(emu.base_url)
    ```
"""

from __future__ import annotations

from langchain_cerebras_router.testing.answers import count_tokens
from langchain_cerebras_router.testing.catalog import DEFAULT_MODELS, ModelSpec, Provider
from langchain_cerebras_router.testing.emulator import UNSET, Emulator
from langchain_cerebras_router.testing.faults import FAULT_KINDS, Fault
from langchain_cerebras_router.testing.handler import FAULT_HEADER
from langchain_cerebras_router.testing.state import RecordedRequest

__all__ = [
    "DEFAULT_MODELS",
    "FAULT_HEADER",
    "FAULT_KINDS",
    "UNSET",
    "Emulator",
    "Fault",
    "ModelSpec",
    "Provider",
    "RecordedRequest",
    "count_tokens",
]
