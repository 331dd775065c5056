# One entry point for people and CI. `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHECKOV_VENV := .venv-checkov

.PHONY: help install lock demo up test test-unit test-functional test-browser test-containers lint checkov compose-config benchmark clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

# The locked versions of everything the tests and tools run with (make lock writes it).
LOCK   := requirements/dev.lock
UV_VERSION := 0.13.9
UV     := $(BIN)/uv
# The images' requirements, compiled at the lock's versions for their Python (3.12).
IMAGE_PLATFORM := --python-version 3.12 --python-platform x86_64-manylinux_2_28

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"

# Exactly the lock's versions, then the project itself without resolving anything again.
$(STAMP): pyproject.toml $(LOCK) | $(UV)
	$(UV) pip install --quiet --python $(BIN)/python --require-hashes -r $(LOCK)
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

install: $(STAMP)  ## create .venv and install the kit with its test tools, at the lock's versions

lock: | $(UV)  ## recompile the lock and the images' requirements (LOCK_FLAGS=--upgrade to move versions)
	$(UV) pip compile --quiet pyproject.toml --extra local --extra test --universal --python-version 3.11 \
		--generate-hashes --custom-compile-command "make lock" $(LOCK_FLAGS) -o $(LOCK)
	$(UV) pip compile --quiet pyproject.toml -c $(LOCK) $(IMAGE_PLATFORM) --no-annotate \
		--custom-compile-command "make lock" -o services/ingest_api/requirements.txt
	for function in processor reporter; do \
		$(UV) pip compile --quiet services/$$function/requirements.in -c $(LOCK) $(IMAGE_PLATFORM) \
			--no-annotate --custom-compile-command "make lock" -o services/$$function/requirements.txt; \
	done

demo: install  ## run the whole pipeline here, send a demo week, print the report, stop
	$(BIN)/cv-analytics up --demo --once

up: install  ## run the whole pipeline here until Ctrl-C
	$(BIN)/cv-analytics up

test: install  ## every test tier (container tests skip, with the reason, without Docker), with coverage
	$(BIN)/python -m pytest --cov --cov-report=term-missing:skip-covered --cov-report=xml

test-unit: install  ## pure tests only
	$(BIN)/python -m pytest tests/unit

test-functional: install  ## handlers and API against the embedded AWS endpoint
	$(BIN)/python -m pytest tests/functional

test-browser: install  ## the console in headless chromium (tests/browser); screenshot in test-output/
	$(BIN)/python -m pytest tests/browser -rs

test-containers: install  ## tests/containers + tests/integration on the configured Docker (DOCKER_HOST)
	$(BIN)/python -m pytest tests/containers tests/integration -rs

lint: install  ## ruff (lint, formatting) and mypy strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

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
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache test-output
	find . -name __pycache__ -prune -exec rm -rf {} +
