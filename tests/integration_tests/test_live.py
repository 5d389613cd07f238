"""Live tests against the real Cerebras and Groq APIs.

Marked ``live`` and skipped unless ``CEREBRAS_API_KEY`` (and, for routing, also
``GROQ_API_KEY``) are set in the environment when the test session starts. Run them with
``pytest -m live``. Nothing here runs in CI, which has no network beyond package indexes.
"""

from __future__ import annotations

import os

import pytest
from pydantic import BaseModel

from langchain_cerebras_router import ChatCerebras, RoutedChatModel

# Read once at import: fixtures that point the SDKs at the emulator must not leak in.
_CEREBRAS_KEY = os.environ.get("CEREBRAS_API_KEY", "")
_GROQ_KEY = os.environ.get("GROQ_API_KEY", "")
_REAL_KEY = bool(_CEREBRAS_KEY) and not os.environ.get("CEREBRAS_BASE_URL")

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not _REAL_KEY, reason="needs CEREBRAS_API_KEY (and the real API)"),
]


class Capital(BaseModel):
    country: str
    capital: str


def _cerebras() -> ChatCerebras:
    return ChatCerebras(model="gpt-oss-120b", api_key=_CEREBRAS_KEY, max_tokens=256)


def test_live_invoke_reports_speed_and_usage() -> None:
    message = _cerebras().invoke("Say hello in one word.")
    assert message.content
    assert message.usage_metadata and message.usage_metadata["output_tokens"] > 0
    assert message.response_metadata["model_provider"] == "cerebras"
    assert message.response_metadata.get("time_info")


def test_live_stream() -> None:
    chunks = list(_cerebras().stream("Count from 1 to 20."))
    assert len(chunks) > 3
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    assert full.usage_metadata


def test_live_structured_output() -> None:
    result = _cerebras().with_structured_output(Capital).invoke("What is the capital of France?")
    assert isinstance(result, Capital) and "Paris" in result.capital


@pytest.mark.skipif(not _GROQ_KEY, reason="needs GROQ_API_KEY too")
def test_live_router_ultimate_speed() -> None:
    router = RoutedChatModel(model="llama-3.3-70b-versatile", priority="ultimate_speed")
    message = router.invoke("Say hello in one word.")
    assert message.response_metadata["routing"]["route"] == "cerebras"
