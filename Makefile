# The two commands of the README: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lint test chaos demo bench clean

$(STAMP): pyproject.toml
	@bash scripts/ensure-java-maven.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

install: $(STAMP)

# Lint and format check, then: starts the local stack unless it is already up, runs every test,
# stops what it started. The fault tests (marker `chaos`: they SIGKILL the stack's Kafka and
# OpenSearch and start them again) run last, after every other test has finished.
test: install lint
	@bash scripts/with-stack.sh $(BIN)/python -m pytest -ra $(PYTEST_ARGS)

# Only the fault tests; figures in the terminal summary and build/test-results/chaos.jsonl.
chaos: install
	@bash scripts/with-stack.sh $(BIN)/python -m pytest -ra -m chaos tests/integration $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

demo: install
	@bash scripts/demo.sh

# The figures of issue 10 side by side (tests/benchmarks/bench.py); e.g. BENCH_ARGS="--articles 200".
bench: install
	@bash scripts/with-stack.sh $(BIN)/python tests/benchmarks/bench.py $(BENCH_ARGS)

clean:
	-$(BIN)/newsstreams stack down
	rm -rf $(VENV) .stack
