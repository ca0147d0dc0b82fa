# Veil — two commands: `make run` (demo store) and `make test` (whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
# `make run PORT=8080` serves the demo on another port.
PORT ?= 8000

.PHONY: install run test test-sqlite test-pg test-crash lint format bench bench-full screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: install
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
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

bench: install
	$(BIN)/python -m bench --quick

bench-full: install
	$(BIN)/python -m bench --full

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
