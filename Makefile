# Two commands set up a fresh machine:
#   make demo   installs subsync into .venv and runs the main job on the embedded SQLite default
#   make test   installs subsync with its test extras into .venv and runs the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/subsync demo

# Two pytest processes (the machines have 2 cores): much of a store test is waiting on the database.
# Tests sharing the Redis test database run in one process (xdist group "redis-broker").
PYTEST_WORKERS ?= auto

test: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=20 $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/targetstate_bench.py
	$(BIN)/python benchmarks/reconcile_bench.py --quick

clean:
	rm -rf $(VENV) subsync.db .pytest_cache .hypothesis
