"""A local emulator of the Cerebras and Groq chat APIs, for offline tests, demos and benchmarks.

Start it from Python (a context manager or the pytest fixtures ``llm_emulator``, ``emulator``
and ``emulator_env``) or from a shell with ``python -m langchain_cerebras_router.testing``.
It speaks the wire format of both APIs (streams, errors, rate-limit headers, ``/v1/models``),
answers deterministically, and injects faults on demand. Only the standard library is used.

Public names are imported lazily, so importing the pytest plugin costs next to nothing.

Example:
    ```python
    from langchain_cerebras_router.testing import Emulator, Fault

    with Emulator() as emu:
        emu.script("cerebras", [Fault.status(503), None])
        print(emu.base_url)
    ```
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_cerebras_router.testing.answers import count_tokens
    from langchain_cerebras_router.testing.catalog import DEFAULT_MODELS, ModelSpec, Provider
    from langchain_cerebras_router.testing.emulator import UNSET, Emulator
    from langchain_cerebras_router.testing.faults import FAULT_KINDS, Fault
    from langchain_cerebras_router.testing.handler import FAULT_HEADER
    from langchain_cerebras_router.testing.state import RecordedRequest

_EXPORTS: dict[str, str] = {
    "DEFAULT_MODELS": "langchain_cerebras_router.testing.catalog",
    "FAULT_HEADER": "langchain_cerebras_router.testing.handler",
    "FAULT_KINDS": "langchain_cerebras_router.testing.faults",
    "UNSET": "langchain_cerebras_router.testing.emulator",
    "Emulator": "langchain_cerebras_router.testing.emulator",
    "Fault": "langchain_cerebras_router.testing.faults",
    "ModelSpec": "langchain_cerebras_router.testing.catalog",
    "Provider": "langchain_cerebras_router.testing.catalog",
    "RecordedRequest": "langchain_cerebras_router.testing.state",
    "count_tokens": "langchain_cerebras_router.testing.answers",
}

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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        msg = f"module 'langchain_cerebras_router.testing' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
