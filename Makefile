# allocator — set-up, the demo run, the tests and the benchmarks.
#   make run    create .venv if missing, install the package, run the nightly job on data/
#   make test   same set-up, then the whole test suite
# Override the interpreter or the environment folder with PYTHON=... VENV=...

PYTHON ?= python3
VENV ?= .venv

BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run test bench bench-gap notebooks clean

help:
	@echo "make run        demo run on data/ into runs/demo (creates $(VENV) if missing)"
	@echo "make test       run the test suite"
	@echo "make bench      python benchmarks/bench_run.py"
	@echo "make bench-gap  python benchmarks/bench_gap.py"
	@echo "make notebooks  open Jupyter Lab on notebooks/ with the project installed"
	@echo "make clean      remove runs/ and caches"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install only when the package metadata changes (the install is editable: code edits need none).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -c "from allocator.knapbb import compile_kernels; compile_kernels()"  # numba's disk cache
	touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/allocator run --customers data/customers.csv --reps data/reps.csv \
		--activities data/activities.csv --out runs/demo --as-of 2026-11-30 --time-limit 30

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_run.py

bench-gap: $(STAMP)
	$(BIN)/python benchmarks/bench_gap.py

notebooks: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[notebooks]"
	$(BIN)/python -m jupyter lab notebooks/

clean:
	rm -rf runs/ .pytest_cache/ .hypothesis/ build/
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
