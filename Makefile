# One entry point for people and CI. `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHECKOV_VENV := .venv-checkov

.PHONY: help install demo up test test-unit test-functional test-browser test-containers lint checkov compose-config benchmark clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $@

install: $(STAMP)  ## create .venv and install the kit with its test tools

demo: install  ## run the whole pipeline here, send a demo week, print the report, stop
	$(BIN)/cv-analytics up --demo --once

up: install  ## run the whole pipeline here until Ctrl-C
	$(BIN)/cv-analytics up

test: install  ## every test tier (container tests skip, with the reason, without Docker)
	$(BIN)/python -m pytest

test-unit: install  ## pure tests only
	$(BIN)/python -m pytest tests/unit

test-functional: install  ## handlers and API against the embedded AWS endpoint
	$(BIN)/python -m pytest tests/functional

test-browser: install  ## the console in headless chromium (tests/browser); screenshot in test-output/
	$(BIN)/python -m pytest tests/browser -rs

test-containers: install  ## tests/containers + tests/integration on the configured Docker (DOCKER_HOST)
	$(BIN)/python -m pytest tests/containers tests/integration -rs

lint: install  ## ruff: lint and formatting
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r infra/terraform/checkov-requirements.txt
	@touch $@

checkov: $(CHECKOV_VENV)/.installed  ## static security checks of infra/terraform (own venv)
	$(CHECKOV_VENV)/bin/checkov -d infra/terraform --quiet --compact --skip-download

compose-config: install  ## validate docker-compose.yml without a Docker daemon
	$(BIN)/docker-compose -f docker-compose.yml config -q

benchmark: install  ## every performance figure against its naive baseline (~10 min); writes docs/benchmarks.md
	$(BIN)/python scripts/benchmark.py $(BENCHMARK_FLAGS)

clean:  ## remove virtualenvs and caches
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
