# Reach developer entry points. `make demo` and `make test` work on a fresh machine:
# they create .venv with Python 3.13 (the Lambda runtime) and install the project first.
SHELL := /bin/bash
PY313 := $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13 2>/dev/null))
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
# `sam` reports usage to AWS by default; the machines here have no such network.
export SAM_CLI_TELEMETRY := 0

.PHONY: demo serve test lint typecheck template-check scan checkov bandit audit unit openapi explore fuzz bench clean

$(BIN)/.installed: pyproject.toml
	@test -n "$(PY313)" || { echo "Python 3.13 not found (pyenv install 3.13.0)"; exit 1; }
	$(PY313) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

# checkov pins boto3 and packaging below what sam-cli and pytest need, so it has a venv of
# its own (the rest of the scanners are in the dev extra).
CHECKOV_VENV := .venv-checkov
CHECKOV := checkov==3.3.30
$(CHECKOV_VENV)/bin/.installed:
	@test -n "$(PY313)" || { echo "Python 3.13 not found (pyenv install 3.13.0)"; exit 1; }
	$(PY313) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet '$(CHECKOV)'
	touch $@

## Run Reach's main job locally on the embedded AWS (moto) and walk through a demo.
demo: $(BIN)/.installed
	$(BIN)/reach-local demo

## Keep the local API and embedded AWS running for your own curl / reach CLI calls.
serve: $(BIN)/.installed
	$(BIN)/reach-local serve

## Everything CI checks: lint, types, template checks, security scans, tests.
test: lint typecheck template-check scan unit

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy

template-check: $(BIN)/.installed
	$(BIN)/python -m reach_tools.template_check
	$(BIN)/sam validate --lint --template template.yaml
	$(BIN)/sam build --template template.yaml

## Security scans: the template (checkov), the code (bandit), the installed packages
## (pip-audit; says so and passes when PyPI's advisory data cannot be reached).
scan: checkov bandit audit

checkov: $(CHECKOV_VENV)/bin/.installed
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml

# bandit warns on a `# nosec` line where another of its checks found nothing; that is noise.
bandit: $(BIN)/.installed
	set -o pipefail; $(BIN)/bandit -c pyproject.toml -r layers functions tools -q 2>&1 \
		| { grep -v "nosec encountered" || true; }

audit: $(BIN)/.installed
	$(BIN)/python -m reach_tools.audit

# Spread over every core (CI has 2): moto runs in each worker's own process, and an idle
# worker takes queued tests from a busy one (the property tests are long).
unit: $(BIN)/.installed
	$(BIN)/pytest -n auto --dist worksteal

openapi: $(BIN)/.installed
	$(BIN)/python -m reach_tools.openapi > functions/api/openapi.json

# Property tests with fresh random examples, 10x as many as the gate (not part of `make test`)
explore: $(BIN)/.installed
	REACH_EXPLORE=10 $(BIN)/pytest $$(grep -rl "@given" tests)

# The API fuzzing run alone, 10x as many requests (its bounded run is part of `make unit`)
fuzz: $(BIN)/.installed
	REACH_EXPLORE=10 $(BIN)/pytest -n auto tests/integration/test_api_fuzz.py

bench: $(BIN)/.installed
	$(BIN)/python -m reach_tools.bench

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
