# Every target sets up .venv on first use, so a fresh clone needs only `make demo` / `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
PYTEST_ARGS ?=

.PHONY: setup test lint format demo bench emulator clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

test: $(STAMP)
	@# pytest exits 5 when it collects no test: not a failure of the code.
	$(BIN)/python -m pytest $(PYTEST_ARGS) || [ $$? -eq 5 ]

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

demo: $(STAMP)
	$(BIN)/python -m langchain_cerebras_router demo

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

emulator: $(STAMP)
	$(BIN)/python -m langchain_cerebras_router.testing

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache dist build bench-results
