# `make test` and `make demo` work on a fresh machine: they create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lint typecheck bench bench-peers clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e . --group dev
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check supervisors flowstone tests benchmarks examples
	$(BIN)/ruff format --check supervisors flowstone tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy --strict supervisors flowstone

test: lint typecheck
	$(BIN)/pytest

demo: $(STAMP)
	$(BIN)/python examples/daily_sales.py --database-url sqlite:///.flowstone/demo.db

bench: $(STAMP)
	# A script exits 1 when it misses a target; run them all and say which did.
	for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script --quick || echo "!! $$script: target missed (or failed)"; done

bench-peers: $(STAMP)
	bash benchmarks/peers/setup.sh
	$(BIN)/python benchmarks/peers/run.py $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
