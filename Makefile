# pgbalance developer entry points. Everything runs from .venv, which `install` builds.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.install.stamp
# pytest-xdist workers (each gets its own template database); 0 runs serially.
PYTEST_WORKERS ?= 2
# Extra pytest arguments, e.g. `make test PYTEST_ARGS='-k migrate -x'`.
PYTEST_ARGS ?=

.PHONY: install lint test run migrate verify docs bench bundle stop clean

install: $(STAMP)

# Re-installs only when the packaging inputs change (or .venv is gone).
$(STAMP): pyproject.toml hatch_build.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,plot]'
	touch $@

lint: install
	$(BIN)/ruff check pyapi tests
	$(BIN)/mypy --strict

test: lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# The demo runs in its own database (pgbalance_demo), recreated each time.
run: install
	$(BIN)/pgbalance run

migrate: install
	$(BIN)/pgbalance migrate

verify: install
	$(BIN)/pgbalance verify

# Regenerate docs/schema.sql, docs/api.md and examples/*.out from a fresh install (a scratch
# database, dropped afterwards). tests/dba fails when they are out of date.
docs: install
	$(BIN)/pgbalance docs

# The benchmark against pgbench's TPC-B (docs/performance.md), in a scratch database
# dropped afterwards; results in build/bench.json and build/bench.png. E.g. `make bench
# BENCH_ARGS='--rounds 3 --peer pgledger=DIR'` (DIR: a pgledger checkout; skipped when absent).
BENCH_ARGS ?=
bench: install
	mkdir -p build
	$(BIN)/pgbalance bench --json build/bench.json --plot build/bench.png $(BENCH_ARGS)

# This release as one SQL file for psql (docs/operations.md): build/pgbalance-X.Y.Z.sql.
bundle: install
	mkdir -p build
	$(BIN)/pgbalance bundle -o build/pgbalance-$$($(BIN)/pgbalance --version | cut -d' ' -f2).sql

# Stop the throwaway cluster (.pgdata/) that commands start when no server answers.
stop:
	@if [ -x $(BIN)/pgbalance ]; then $(BIN)/pgbalance server stop; \
	else echo "no $(VENV): run \`make install\` first, then \`make stop\`"; fi

# Stops the throwaway cluster and deletes it with .venv and the build outputs.
clean:
	@if [ -x $(BIN)/pgbalance ]; then $(BIN)/pgbalance server stop --delete; fi
	rm -rf $(VENV) build dist
