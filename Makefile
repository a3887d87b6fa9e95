# acctlib: every target sets up what it needs. `make` alone lists the targets.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAMPLE_DIR := data/sample
PARAMS ?= params/sample.yaml
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv sample report test test-fast lint format bench lock clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 not found; install it or set PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name acctlib --display-name "acctlib (.venv)"
	touch $(STAMP)

venv: $(STAMP) ## Create .venv with the locked dependencies and the acctlib kernel

$(SAMPLE_DIR)/accounts.csv: $(STAMP) acctlib/sample.py
	$(BIN)/acctlib sample --out $(SAMPLE_DIR)

sample: $(SAMPLE_DIR)/accounts.csv ## Write the deterministic sample CRM to data/sample

report: $(STAMP) $(SAMPLE_DIR)/accounts.csv ## Build reports/<as-of>/ from the sample (PARAMS=file for a variant)
	$(BIN)/acctlib build --params $(PARAMS)

test: $(STAMP) ## Run the whole test suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP) ## Run the tests that need no notebook or report build
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP) ## Check style with ruff
	$(BIN)/ruff check acctlib tests benchmarks
	$(BIN)/ruff format --check acctlib tests benchmarks

format: $(STAMP) ## Format the code with ruff
	$(BIN)/ruff format acctlib tests benchmarks

bench: $(STAMP) ## Run the benchmarks; results go to benchmarks/results/
	$(BIN)/python -m benchmarks.run
	$(BIN)/python -m benchmarks.forecast_backtest

lock: ## Re-pin requirements.lock and environment.yml from a fresh venv
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e ".[test]"
	.lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^acctlib' > requirements.lock
	.lock-venv/bin/python -m acctlib.lockfile environment.yml requirements.lock
	rm -rf .lock-venv

clean: ## Remove the venv, generated data, work files and reports
	rm -rf $(VENV) data .acctlib-work reports/*/ reports/index.html test-output
