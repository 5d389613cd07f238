"""Pytest fixtures for the emulator (registered through the ``pytest11`` entry point).

* ``llm_emulator`` (session): one running :class:`~langchain_cerebras_router.testing.Emulator`.
* ``emulator`` (function): the same server after ``reset()``: no faults, empty request log,
  constructor speeds and limits.
* ``emulator_env`` (function): ``emulator``, with ``CEREBRAS_API_KEY``, ``CEREBRAS_BASE_URL``,
  ``GROQ_API_KEY`` and ``GROQ_API_BASE`` pointing at it for the duration of the test.

Nothing starts until a test asks for a fixture, so installing the package costs other test
suites nothing.

Example:
    ```python
    from cerebras.cloud.sdk import Cerebras


    def test_reply(emulator_env):
        client = Cerebras(warm_tcp_connection=False, max_retries=0)
        reply = client.chat.completions.create(
            model="llama3.1-8b", messages=[{"role": "user", "content": "Hi"}]
        )
        assert reply.choices[0].message.content
        assert emulator_env.request_count("cerebras") == 1
    ```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from langchain_cerebras_router.testing.emulator import Emulator

EMULATOR_API_KEY = "emulator-test-key"


@pytest.fixture(scope="session")
def llm_emulator() -> Iterator[Emulator]:
    """A Cerebras and Groq API emulator shared by the whole test session."""
    from langchain_cerebras_router.testing.emulator import Emulator

    emu = Emulator()
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def emulator(llm_emulator: Emulator) -> Emulator:
    """The session emulator, reset: no faults, empty request log, default speeds and limits."""
    llm_emulator.reset()
    return llm_emulator


@pytest.fixture
def emulator_env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The reset emulator, with the provider environment variables pointing at it."""
    for name, value in emulator.env(EMULATOR_API_KEY).items():
        monkeypatch.setenv(name, value)
    return emulator
