"""Emulator lifecycle, the HTTP/1.1 layer, concurrency, the command line and the pytest plugin."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from langchain_cerebras_router.testing import Emulator
from langchain_cerebras_router.testing.__main__ import build_parser, main

AUTH = {"Authorization": "Bearer k"}
BODY = {"model": "llama3.1-8b", "messages": [{"role": "user", "content": "Hello"}]}


@pytest.fixture(scope="module")
def server() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def emu(server: Emulator) -> Emulator:
    server.reset()
    return server


# ---------------------------------------------------------------------- lifecycle
def test_start_stop_without_context_manager() -> None:
    emu = Emulator()
    with pytest.raises(RuntimeError, match="not running"):
        _ = emu.base_url
    assert emu.start() is emu
    assert emu.start() is emu  # no-op
    assert emu.running
    url = emu.base_url
    assert url.startswith("http://127.0.0.1:")
    assert emu.cerebras_base_url == emu.groq_base_url == url
    assert emu.openai_compatible_urls == {"cerebras": f"{url}/v1", "groq": f"{url}/openai/v1"}
    assert httpx.post(url + "/v1/chat/completions", json=BODY, headers=AUTH).status_code == 200
    emu.stop()
    emu.stop()
    assert not emu.running
    assert repr(emu) == "Emulator(stopped)"
    with pytest.raises(httpx.ConnectError):
        httpx.post(url + "/v1/chat/completions", json=BODY, headers=AUTH)


def test_busy_port_raises_on_start(emu: Emulator) -> None:
    with pytest.raises(OSError):
        Emulator(port=emu.port).start()


def test_refused_url_refuses(emu: Emulator) -> None:
    with pytest.raises(httpx.ConnectError):
        httpx.get(emu.refused_url + "/v1/models")


def test_env_points_both_providers_here(emu: Emulator) -> None:
    env = emu.env("my-key")
    assert env == {
        "CEREBRAS_API_KEY": "my-key",
        "CEREBRAS_BASE_URL": emu.base_url,
        "GROQ_API_KEY": "my-key",
        "GROQ_API_BASE": emu.base_url,
    }


def test_constructor_and_setter_validation() -> None:
    with pytest.raises(ValueError, match="tokens_per_second"):
        Emulator(tokens_per_second=0)
    with pytest.raises(ValueError, match="answer_tokens"):
        Emulator(answer_tokens=0)
    emu = Emulator()
    with pytest.raises(ValueError, match="tokens_per_second"):
        emu.set_speed(tokens_per_second=-1.0)
    with pytest.raises(ValueError, match="answer_tokens"):
        emu.set_answer_tokens(0)
    with pytest.raises(ValueError, match="provider"):
        emu.script("openai", [])  # type: ignore[arg-type]
    assert {spec.provider for spec in emu.models("groq")} == {"groq"}


# ---------------------------------------------------------------------- HTTP layer
async def _raw(emu: Emulator, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", emu.port)
    writer.write(data)
    await writer.drain()
    response = await reader.read()
    writer.close()
    return response


def _request(body: bytes, *, extra: str = "") -> bytes:
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
        f"Content-Type: application/json\r\n{extra}"
    )
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


async def test_keep_alive_serves_several_requests_on_one_connection(emu: Emulator) -> None:
    body = json.dumps(BODY).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", emu.port)
    for _ in range(3):
        writer.write(_request(body))
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        assert json.loads(await reader.readexactly(length))["object"] == "chat.completion"
    writer.close()


async def test_connection_close_and_chunked_request_body(emu: Emulator) -> None:
    body = json.dumps(BODY).encode()
    chunked = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + b"%x\r\n%b\r\n0\r\n\r\n"
        % (len(body), body)
    )
    response = await _raw(emu, chunked)
    assert response.startswith(b"HTTP/1.1 200 OK")
    assert response.endswith(b"}")  # the server closed after one response


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"NONSENSE\r\n\r\n", b"400"),
        (b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", b"400"),
        (b"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: x\r\n\r\n", b"400"),
        (b"GET /" + b"a" * 300_000 + b" HTTP/1.1\r\n\r\n", b"431"),
    ],
)
async def test_protocol_errors(emu: Emulator, data: bytes, status: bytes) -> None:
    response = await _raw(emu, data)
    assert response.split(b" ")[1] == status


async def test_many_concurrent_streams(emu: Emulator) -> None:
    body = json.dumps({**BODY, "stream": True}).encode()

    async def one() -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", emu.port)
        writer.write(_request(body, extra="Connection: close\r\n"))
        data = await reader.read()
        writer.close()
        assert data.endswith(b"0\r\n\r\n")
        return data.count(b"data: ")

    counts = await asyncio.gather(*(one() for _ in range(300)))
    assert set(counts) == {26}  # role chunk, 24 content chunks, final chunk
    assert emu.request_count("cerebras") == 300


async def test_async_httpx_client_streams_concurrently(emu: Emulator) -> None:
    async with httpx.AsyncClient(base_url=emu.base_url, headers=AUTH) as client:

        async def one(index: int) -> str:
            body = {
                **BODY,
                "messages": [{"role": "user", "content": f"Hello {index}"}],
                "stream": True,
            }
            parts = []
            async with client.stream(
                "POST",
                "/openai/v1/chat/completions",
                json={**body, "model": "llama-3.1-8b-instant"},
            ) as response:
                async for line in response.aiter_lines():
                    if line.startswith("data: {"):
                        delta = json.loads(line[6:])["choices"][0]["delta"]
                        parts.append(delta.get("content") or "")
            return "".join(parts)

        texts = await asyncio.gather(*(one(i % 10) for i in range(100)))
    assert len(set(texts)) == 10  # deterministic per prompt, different across prompts


# ---------------------------------------------------------------------- command line
def test_cli_parser_defaults() -> None:
    args = build_parser().parse_args([])
    assert (args.host, args.port, args.tokens_per_second, args.fault) == (
        "127.0.0.1",
        8765,
        None,
        [],
    )


def test_cli_rejects_bad_fault(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--fault", "explode"]) == 2
    assert "unknown fault kind" in capsys.readouterr().err


def test_cli_serves_until_terminated() -> None:
    command = [sys.executable, "-m", "langchain_cerebras_router.testing", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--fault", "status:503"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = first.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:")
        exports = [process.stdout.readline() for _ in range(5)]
        assert f"  export CEREBRAS_BASE_URL={url}\n" in exports
        assert f"  export GROQ_API_BASE={url}\n" in exports
        response = httpx.post(f"{url}/v1/chat/completions", json=BODY, headers=AUTH)
        assert response.status_code == 503
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


# ---------------------------------------------------------------------- pytest plugin
def test_pytest_plugin_fixtures(tmp_path: Path) -> None:
    (tmp_path / "test_uses_plugin.py").write_text(
        textwrap.dedent(
            """
            import os
            from cerebras.cloud.sdk import Cerebras
            from langchain_cerebras_router.testing import Fault


            def test_env_and_reset(emulator_env):
                assert os.environ["CEREBRAS_BASE_URL"] == emulator_env.base_url
                client = Cerebras(warm_tcp_connection=False, max_retries=0)
                reply = client.chat.completions.create(
                    model="llama3.1-8b", messages=[{"role": "user", "content": "Hi"}]
                )
                assert reply.choices[0].message.content
                emulator_env.inject(Fault.reset(), times=None)
                assert emulator_env.request_count("cerebras") == 1


            def test_next_test_gets_a_clean_emulator(emulator, llm_emulator):
                assert emulator is llm_emulator
                assert emulator.requests == []
                assert emulator.request_count() == 0
            """
        )
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "langchain_cerebras_router.testing.pytest_plugin",
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_importing_the_plugin_starts_nothing() -> None:
    code = (
        "import threading, langchain_cerebras_router.testing.pytest_plugin as p;"
        "assert threading.active_count() == 1;"
        "import sys; assert 'langchain_cerebras_router.testing.emulator' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
