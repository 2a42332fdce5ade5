# make install | run | test | lint | schema — see README.md.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: install run test lint schema node

install: $(STAMP)

# Reinstalls only when pyproject.toml changes: a second `make install` costs nothing.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# The independent checkers the tests run (Node 20): installed exactly as the lock file pins them.
NODE_STAMP := tests/node/node_modules/.installed
node: $(NODE_STAMP)

$(NODE_STAMP): tests/node/package-lock.json
	cd tests/node && npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: install
	$(BIN)/guildhall dev

# Uses DATABASE_URL / REDIS_URL when set, else embedded servers (tests/services.py).
test: install node lint
	$(BIN)/pytest -q -n $(PYTEST_WORKERS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The schema of a fresh database with every migration applied; test_migrations compares.
schema: install
	$(BIN)/guildhall migrate --dump-schema migrations/schema.sql --fresh
