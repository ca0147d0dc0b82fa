# Veil — two commands: `make run` (demo store) and `make test` (whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
# `make run PORT=8080` serves the demo on another port.
PORT ?= 8000
# Exact versions, resolved for every platform from pyproject.toml by `make lock` (uv).
RUNTIME_LOCK := requirements/runtime.lock
DEV_LOCK := requirements/dev.lock
UV_COMPILE := pip compile pyproject.toml --universal --python-version 3.11 --quiet

.PHONY: install install-runtime lock run test test-sqlite test-pg test-crash lint format bench bench-full screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Everything (runtime + test and lint tools), exactly as locked; Veil itself editable.
$(VENV)/.installed: pyproject.toml $(DEV_LOCK) | $(BIN)/python
	$(BIN)/pip install -q -r $(DEV_LOCK)
	$(BIN)/pip install -q --no-deps -e .
	touch $@ $(VENV)/.installed-runtime

# What running Veil needs, nothing more.
$(VENV)/.installed-runtime: pyproject.toml $(RUNTIME_LOCK) | $(BIN)/python
	$(BIN)/pip install -q -r $(RUNTIME_LOCK)
	$(BIN)/pip install -q --no-deps -e .
	touch $@

install: $(VENV)/.installed

install-runtime: $(VENV)/.installed-runtime

# Re-resolve the locks from pyproject.toml's ranges (newest versions allowed); commit the result.
lock: | $(BIN)/python
	$(BIN)/pip install -q uv
	$(BIN)/uv $(UV_COMPILE) --upgrade -o $(RUNTIME_LOCK)
	$(BIN)/uv $(UV_COMPILE) --upgrade --extra dev -o $(DEV_LOCK)

run: install-runtime
	$(BIN)/veil demo --port $(PORT)

test: install
	$(MAKE) test-sqlite
	$(MAKE) test-pg

test-sqlite: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-pg: install
	VEIL_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest $(PYTEST_ARGS)

# The kill -9 harness: `veil serve` and `veil worker` killed at random moments, >= 20 times.
test-crash: install
	$(BIN)/python -m pytest -m crash $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix src tests bench scripts
	$(BIN)/ruff format src tests bench scripts

bench: install
	$(BIN)/python -m bench --quick

bench-full: install
	$(BIN)/python -m bench --full

# The README's and docs/ui.md's screenshots (docs/img/*.png), from a fresh demo store.
screenshots: install
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
