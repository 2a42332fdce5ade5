# make install | run | test | lint | schema — see README.md.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: install run test test-pgbouncer lint schema node

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

# The end-to-end tests again, every connection through a real PgBouncer in transaction mode (tests/pgbouncer.py
# starts the machine's package on a free loopback port); .ci/run runs it after `make test`.
PGBOUNCER_TESTS := tests/test_attempts.py tests/test_attempts_concurrency.py tests/test_attempts_one_round_trip.py \
	tests/test_attempts_keyed_one_round_trip.py tests/test_attempts_batched.py tests/test_attempts_token_in_write.py \
	tests/test_credentials_lifecycle.py tests/test_credentials_festo.py tests/test_oauth_client_credentials.py \
	tests/test_oauth_authorization_code.py \
	tests/test_oauth_introspection_and_revocation.py tests/test_webhooks.py tests/test_issuing_faults.py \
	tests/test_status_lists.py
test-pgbouncer: install node
	GUILDHALL_TEST_PGBOUNCER=1 $(BIN)/pytest -q -n $(PYTEST_WORKERS) $(PGBOUNCER_TESTS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The schema of a fresh database with every migration applied; test_migrations compares.
schema: install
	$(BIN)/guildhall migrate --dump-schema migrations/schema.sql --fresh
