# Bindery: `make demo` runs the local stack through a scripted scenario; `make test` runs every check.
# Both set up what they need (a virtualenv, the daprd build, Azurite) and are idempotent.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo run test lint unit integration bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev,local,ops]"
	touch $(STAMP)

setup: $(STAMP)
	$(BIN)/bindery daprd
	$(BIN)/python -c "from bindings.dev import azurite; print(azurite.install())"

demo: setup
	$(BIN)/bindery demo

run: setup
	$(BIN)/bindery run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: setup
	$(BIN)/pytest tests/integration

test: setup lint
	$(BIN)/pytest

# Writes BENCHMARKS.md and var/bench/results.json (about 5 minutes on 2 cores; 1M open cases take ~2 GB of disk).
bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
