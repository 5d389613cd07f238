"""Every code sample in docs/, examples/ and the public classes' docstrings runs.

* ``README.md`` and ``docs/*.md``: each fenced ```` ```python ```` block runs against the emulator, with
  ``CEREBRAS_API_KEY``, ``CEREBRAS_BASE_URL``, ``GROQ_API_KEY`` and ``GROQ_API_BASE`` pointing
  at it. The blocks of one page run in order in one namespace, as a reader would run them
  in a notebook. A block that defines ``test_*`` functions is a test file: it is written
  to disk and run with pytest (the package's fixtures included). A block whose work is
  under ``if __name__ == "__main__":`` is a script: it runs as one, in a subprocess, and
  when a plain fenced block follows it, that block must be exactly what it prints. Blocks fenced as
  ```` ```python no-run ```` are skipped; they are kept for snippets that need real keys or
  other software, and are counted below so that they stay rare.
* ``examples/*.py``: each script runs with the emulator's environment, and once more as a
  subprocess with no key at all (the scripts start their own emulator then).
* ``Example:`` blocks of the docstrings of every public class of the package run in a copy
  of their module's namespace (as doctest does), with the emulator's environment.

Tracebacks point at the real file and line (``docs/routing.md``, line 120).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import logging
import os
import pkgutil
import re
import runpy
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import langchain_cerebras_router
from langchain_cerebras_router.testing import Emulator
from langchain_cerebras_router.testing.redis_server import RedisServer

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
EXAMPLES = REPO / "examples"

EXCLUDED_DOCS: dict[str, str] = {
    # Shell commands only; every benchmark it describes is smoke-tested on its own.
    "benchmarks.md": "shell commands only (benchmarks: tests/unit_tests/test_benchmarks_smoke.py)",
}
"""Pages whose blocks are not run at all, with the reason."""

MAX_NO_RUN_BLOCKS = 4
"""``python no-run`` blocks allowed across docs/ (snippets that need real keys or software
that is not a dependency); raising it should be a conscious decision."""

NOT_SELF_CONTAINED: dict[str, str] = {
    "langchain_cerebras_router.cli_bench.RecordingMonitor": "uses an `llm` defined elsewhere",
}
"""Public classes whose docstring example cannot run on its own, with the reason."""

ENV_VARS_TO_CLEAR = (
    "OPENAI_API_KEY",
    "LANGCHAIN_ROUTER_PRIORITY",
    "LANGCHAIN_CEREBRAS_ROUTER_CATALOGUE",
    "LANGCHAIN_ROUTER_STATE_URL",
)
KEY_VARS = ("CEREBRAS_API_KEY", "GROQ_API_KEY", "OPENAI_API_KEY")


# --------------------------------------------------------------------------------------
# Finding code blocks
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One code block: where it is, its code, and whether it runs."""

    source: str
    line: int
    """1-based line of the block's first code line in ``source``."""
    code: str
    runnable: bool
    output: str | None = None
    """The plain fenced block right after this one, if any: the output the page shows."""

    @property
    def is_script(self) -> bool:
        """Whether the block is a whole script (its work is under ``__main__``)."""
        return re.search(r"^if __name__ == .__main__.:", self.code, re.MULTILINE) is not None

    @property
    def is_test_file(self) -> bool:
        return re.search(r"^(async )?def test_\w*\(", self.code, re.MULTILINE) is not None

    def compiled(self) -> Any:
        """The code, compiled so that tracebacks name the source file and its line."""
        return compile("\n" * (self.line - 1) + self.code, self.source, "exec", dont_inherit=True)


_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. code-block::\s*(?P<lang>\w+)\s*$")
_PYTHON = frozenset({"python", "py", "python3"})


def fenced_blocks(text: str, source: str) -> list[Block]:
    """Python blocks fenced with backticks or tildes (``python no-run`` ones marked so)."""
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence, info = opening["fence"], opening["info"].strip().split()
        body: list[str] = []
        end = index + 1
        while end < len(lines):
            closing = _FENCE.match(lines[end])
            if (
                closing is not None
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and not closing["info"].strip()
            ):
                break
            body.append(lines[end])
            end += 1
        if info and info[0].lower() in _PYTHON:
            code = textwrap.dedent("\n".join(body)) + "\n"
            output = _plain_block_after(lines, end + 1)
            blocks.append(
                Block(source, index + 2, code, runnable="no-run" not in info[1:], output=output)
            )
        index = end + 1
    return blocks


def _plain_block_after(lines: list[str], start: int) -> str | None:
    """The body of a fence with no language opening at ``start`` (blank lines skipped)."""
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start >= len(lines) or lines[start].strip() != "```":
        return None
    end = lines.index("```", start + 1) if "```" in lines[start + 1 :] else len(lines)
    return "\n".join(lines[start + 1 : end])


def directive_blocks(text: str, source: str) -> list[Block]:
    """reStructuredText ``.. code-block:: python`` blocks (indented under the directive)."""
    blocks: list[Block] = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        directive = _DIRECTIVE.match(line)
        if directive is None or directive["lang"].lower() not in _PYTHON:
            continue
        indent = len(directive["indent"].expandtabs())
        body: list[str] = []
        first: int | None = None
        for number in range(index + 1, len(lines)):
            current = lines[number]
            if current.strip() and len(current) - len(current.lstrip()) <= indent:
                break
            if first is None and current.strip():
                first = number
            if first is not None:
                body.append(current)
        if first is not None:
            code = textwrap.dedent("\n".join(body).rstrip()) + "\n"
            blocks.append(Block(source, first + 1, code, runnable=True))
    return blocks


def doc_pages() -> list[Path]:
    return [REPO / "README.md", *sorted(DOCS.glob("*.md"))]


def example_scripts() -> list[Path]:
    return sorted(EXAMPLES.glob("*.py"))


def _walk_modules() -> Iterator[ModuleType]:
    yield langchain_cerebras_router
    for info in pkgutil.walk_packages(
        langchain_cerebras_router.__path__, prefix="langchain_cerebras_router."
    ):
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue
        yield importlib.import_module(info.name)


def public_classes() -> list[tuple[ModuleType, type]]:
    """Each package class named in some module's ``__all__``, with its defining module."""
    found: dict[str, tuple[ModuleType, type]] = {}
    for module in _walk_modules():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if inspect.isclass(obj) and obj.__module__.startswith(module.__name__.split(".")[0]):
                home = sys.modules[obj.__module__]
                found[f"{home.__name__}.{obj.__qualname__}"] = (home, obj)
    return [found[key] for key in sorted(found)]


def docstring_blocks(cls: type) -> list[Block]:
    doc = inspect.getdoc(cls) or ""
    source = f"<docstring of {cls.__module__}.{cls.__qualname__}>"
    return [b for b in fenced_blocks(doc, source) + directive_blocks(doc, source) if b.runnable]


# --------------------------------------------------------------------------------------
# Running them
# --------------------------------------------------------------------------------------


@pytest.fixture
def restored_environ() -> Iterator[None]:
    """Whatever a sample does to ``os.environ`` is undone afterwards."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Whatever a sample does to logging (levels, handlers) is undone afterwards."""
    manager = logging.Logger.manager
    levels = {
        name: logger.level
        for name, logger in manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    root_level, root_handlers = logging.root.level, list(logging.root.handlers)
    disabled = manager.disable
    try:
        yield
    finally:
        for name, logger in list(manager.loggerDict.items()):
            if isinstance(logger, logging.Logger):
                logger.setLevel(levels.get(name, logging.NOTSET))
        logging.root.setLevel(root_level)
        logging.root.handlers[:] = root_handlers
        logging.disable(disabled)


@pytest.fixture
def sample_env(
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    restored_environ: None,
    restored_logging: None,
) -> Emulator:
    """The emulator's environment, nothing else of the caller's, and a scratch cwd."""
    for name in ENV_VARS_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    for name, value in emulator.env("docs-example-key").items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    return emulator


@contextlib.contextmanager
def scratch_module(name: str) -> Iterator[dict[str, Any]]:
    """A fresh module namespace, registered while in use (Pydantic, dataclasses and
    TypedDicts look their module up in ``sys.modules``)."""
    module = ModuleType(name)
    sys.modules[name] = module
    try:
        yield vars(module)
    finally:
        del sys.modules[name]


def run_test_file(block: Block, tmp_path: Path) -> None:
    """Run a block that is a pytest test file, with pytest, in a subprocess."""
    path = tmp_path / f"test_doc_block_{block.line}.py"
    path.write_text(block.code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (
        f"{block.source}, line {block.line}: the test file failed\n{result.stdout}\n{result.stderr}"
    )
    assert " passed" in result.stdout


def run_script(block: Block, tmp_path: Path) -> None:
    """Run a whole-script block as ``python script.py``; compare the output it shows."""
    path = tmp_path / f"doc_script_{block.line}.py"
    path.write_text(block.code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k not in KEY_VARS},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"{block.source}, line {block.line}:\n{result.stderr}"
    if block.output is not None:
        assert result.stdout.strip().splitlines() == block.output.strip().splitlines(), (
            f"{block.source}, line {block.line}: the page shows other output than the script "
            f"prints:\n{result.stdout}"
        )


@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: p.name)
def test_docs_page_code_runs(page: Path, sample_env: Emulator, tmp_path: Path) -> None:
    if page.name in EXCLUDED_DOCS:
        pytest.skip(f"{page.name}: {EXCLUDED_DOCS[page.name]}")
    blocks = fenced_blocks(page.read_text(encoding="utf-8"), str(page.relative_to(REPO)))
    runnable = [b for b in blocks if b.runnable]
    if page.name != "index.md":
        assert runnable, f"{page.name} has no runnable python example"
    with scratch_module(f"docs_{page.stem}") as namespace:
        for block in runnable:
            if block.is_test_file:
                run_test_file(block, tmp_path)
            elif block.is_script:
                if "RedisServer" in block.code and not RedisServer.available():
                    pytest.skip(f"{block.source}:{block.line} needs a redis-server binary")
                run_script(block, tmp_path)
            else:
                exec(block.compiled(), namespace)


def test_no_run_blocks_stay_rare() -> None:
    skipped = [
        f"{page.name}:{block.line}"
        for page in doc_pages()
        if page.name not in EXCLUDED_DOCS
        for block in fenced_blocks(page.read_text(encoding="utf-8"), page.name)
        if not block.runnable
    ]
    assert len(skipped) <= MAX_NO_RUN_BLOCKS, skipped


def test_every_page_is_linked_from_the_index() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    missing = [
        p.name
        for p in doc_pages()
        if p.parent == DOCS and p.name != "index.md" and f"]({p.name}" not in index
    ]
    assert not missing


def prose(text: str, *, keep_inline_code: bool = False) -> str:
    """``text`` without fenced code blocks (and inline code spans, unless kept)."""
    text = re.sub(r"^([ \t]*)(`{3,}|~{3,}).*?^\1\2[ \t]*$", "", text, flags=re.M | re.S)
    return text if keep_inline_code else re.sub(r"`[^`\n]*`", "", text)


def anchors(page: Path) -> set[str]:
    """GitHub's anchors for the headings of ``page``."""
    text = prose(page.read_text(encoding="utf-8"), keep_inline_code=True)
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def test_relative_links_in_docs_resolve() -> None:
    broken = []
    for page in doc_pages():
        text = prose(page.read_text(encoding="utf-8"))
        for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", text):
            if "://" in target or target.startswith("mailto:"):
                continue
            path = page.parent / target if target else page
            if not path.exists():
                broken.append(f"{page.name} -> {target}")
            elif anchor and path.suffix == ".md" and anchor not in anchors(path):
                broken.append(f"{page.name} -> {target}#{anchor}")
    assert not broken


@pytest.mark.parametrize("script", example_scripts(), ids=lambda p: p.name)
def test_example_runs_against_the_emulator(
    script: Path, sample_env: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    runpy.run_path(str(script), run_name="__main__")
    assert capsys.readouterr().out.strip(), f"{script.name} printed nothing"
    assert sample_env.request_count() > 0, f"{script.name} made no request"


@pytest.mark.parametrize("script", example_scripts(), ids=lambda p: p.name)
def test_example_runs_without_any_key(script: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
    for name in ENV_VARS_TO_CLEAR:
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "emulator" in result.stdout.lower(), "the script must say it uses the emulator"


def test_there_are_examples() -> None:
    names = {p.name for p in example_scripts()}
    assert {"quickstart.py", "failover.py", "langgraph_agent.py", "structured_output.py"} <= names


_CLASSES = public_classes()


@pytest.mark.parametrize(
    ("module", "cls"), _CLASSES, ids=[f"{m.__name__}.{c.__qualname__}" for m, c in _CLASSES]
)
def test_public_class_docstring_examples_run(
    module: ModuleType, cls: type, sample_env: Emulator
) -> None:
    blocks = docstring_blocks(cls)
    key = f"{module.__name__}.{cls.__qualname__}"
    if key in NOT_SELF_CONTAINED:
        pytest.skip(NOT_SELF_CONTAINED[key])
    if not blocks:
        pytest.skip("no example")
    namespace = dict(vars(module))
    for block in blocks:
        exec(block.compiled(), namespace)


def test_the_main_classes_have_runnable_examples() -> None:
    from langchain_cerebras_router import ChatCerebras, RoutedChatModel, SpeedMonitor

    for cls in (ChatCerebras, RoutedChatModel, SpeedMonitor, Emulator):
        assert docstring_blocks(cls), f"{cls.__name__} has no runnable Example: block"


def test_block_extraction() -> None:
    text = textwrap.dedent(
        """\
        Intro.

        ```python
        a = 1
        ```

        ```python no-run
        b = 2
        ```

        ```bash
        echo hi
        ```

        1. In a list:

           ```python
           c = 3
           ```

        Example:
            .. code-block:: python

                d = 4

                e = 5

            After.
        """
    )
    fenced = fenced_blocks(text, "t.md")
    assert [(b.line, b.code, b.runnable) for b in fenced] == [
        (4, "a = 1\n", True),
        (8, "b = 2\n", False),
        (18, "c = 3\n", True),
    ]
    (directive,) = directive_blocks(text, "t.md")
    assert (directive.line, directive.code) == (24, "d = 4\n\ne = 5\n")
    namespace: dict[str, Any] = {}
    exec(fenced[0].compiled(), namespace)
    assert namespace["a"] == 1
