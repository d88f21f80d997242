# Bindery: `make demo` runs the local stack through a scripted scenario; `make test` runs every check
# (on the pinned daprd, then the integration suite on the Dapr that Azure Container Apps runs).
# Both set up what they need, idempotently: the system packages (tools/system-packages), a virtualenv
# installed from requirements.lock, the daprd build, Azurite and the CJK font slices.

PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
UV      := $(BIN)/uv
# Which system programs tools/system-packages makes sure of: `demo` needs fewer than `test`.
PROFILE := test

.PHONY: system bytecode setup demo run test lint unit integration integration-aca bench lock upgrade-lock clean

demo run: PROFILE := demo

system:
	@PYTHON=$(PYTHON) tools/system-packages $(PROFILE)

# A new virtualenv whenever the lock changes, so it holds exactly the lock (and uv, which installs it).
$(STAMP): pyproject.toml tooling/pyproject.toml requirements.lock tools/uv.txt | system
	@$(PYTHON) tools/lockfile.py check
	@echo "setup: virtualenv $(VENV) from requirements.lock"
	@rm -rf $(VENV)
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r tools/uv.txt
	@$(UV) pip install --quiet --python $(BIN)/python --require-hashes --compile-bytecode -r requirements.lock
	@$(UV) pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e . -e tooling
	@touch $(STAMP)

# Every process imports the project's modules: compile them once, here, rather than in each process (which
# writes nothing where PYTHONDONTWRITEBYTECODE is set). Only what changed is compiled again. The unit
# tests are collected once too, so pytest's assertion-rewritten modules are cached rather than rewritten
# by every worker of every run.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q -j 0 bindings functions tooling tests bench
	@PYTHONDONTWRITEBYTECODE= $(BIN)/pytest --collect-only -q -p no:cacheprovider tests/unit > /dev/null

# The dashboard's page (web/dashboard): npm ci from its lock, then esbuild into build/ (git-ignored);
# built again only when the lock or a source file changes.
DASHBOARD_BUILT := web/dashboard/build/.built

$(DASHBOARD_BUILT): web/dashboard/package.json web/dashboard/package-lock.json $(wildcard web/dashboard/src/*) | system
	@echo "setup: the dashboard page (npm ci, esbuild) in web/dashboard/build"
	@cd web/dashboard && npm ci --silent --no-audit --no-fund && npm run --silent build
	@touch $@

setup: system $(STAMP) bytecode $(DASHBOARD_BUILT)
	@$(BIN)/bindery daprd
	@$(BIN)/python -m functions.receipt_render.slices
	@$(BIN)/python -c "from tooling import azurite; print(azurite.install())"

demo: setup
	$(BIN)/bindery demo

run: setup
	$(BIN)/bindery run

lint: $(STAMP)
	@$(PYTHON) tools/lockfile.py check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports --no-cache

# tests/unit needs only the virtualenv (no Java, Go, Node or poppler) and runs on every core, a file to a worker.
UNIT := $(BIN)/pytest -n auto --dist loadfile tests/unit

unit: $(STAMP) bytecode
	$(UNIT)

integration: setup
	$(BIN)/pytest tests/integration

# The integration suite again on the Dapr line Azure Container Apps runs (deploy/daprd-aca, built on
# first use and cached beside the default build).
integration-aca: setup
	BINDERY_DAPR=aca $(BIN)/bindery daprd
	BINDERY_DAPR=aca $(BIN)/pytest tests/integration

# Everything on the default daprd, then the integration suite on ACA's (SKIP_ACA=1 leaves that out).
test: setup lint
	$(UNIT)
	$(BIN)/pytest tests/tools tests/integration tests/reliability
ifneq ($(SKIP_ACA),1)
	$(MAKE) --no-print-directory integration-aca
endif

# Resolve pyproject.toml's ranges into requirements.lock again, keeping every pin that still fits;
# `make upgrade-lock` moves every pin to the newest release instead. Commit the lock either way.
lock: $(UV)
	$(PYTHON) tools/lockfile.py lock $(UV)

upgrade-lock: $(UV)
	$(PYTHON) tools/lockfile.py lock $(UV) --upgrade

$(UV): tools/uv.txt | system
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r tools/uv.txt

# Writes BENCHMARKS.md and var/bench/results.json (about 25 minutes on 2 cores; 1M open cases take ~2 GB of disk).
bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
