# zapcrm: `make run` starts the product with a demo, `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format services migrate demo bench clean messages

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

services:
	@scripts/ensure-services

migrate: $(STAMP) services
	@scripts/ensure-database
	$(VENV)/bin/zapcrm migrate

demo: migrate
	$(VENV)/bin/zapcrm demo

## Run the product: web app on http://$(HOST):$(PORT) (API docs at /docs), the worker and the
## Evolution API simulator feeding the demo company with conversations.
run: demo
	$(VENV)/bin/zapcrm up --host $(HOST) --port $(PORT)

## Run the whole test suite against real Postgres and Redis (throwaway databases).
test: $(STAMP) services
	@scripts/ensure-browser
	$(VENV)/bin/pytest -n 2 -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench migrations
	$(VENV)/bin/ruff format --check src tests bench migrations
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix src tests bench migrations
	$(VENV)/bin/ruff format src tests bench migrations

bench: $(STAMP) services
	$(PY) bench/rls_overhead.py

## Extract the panel's texts and merge them into the English catalog (then translate the
## empty msgstr entries in src/zapcrm/web/locale/en/LC_MESSAGES/messages.po).
messages: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k N_ --sort-by-file --omit-header -w 100 -o src/zapcrm/web/locale/messages.pot .
	@if [ -f src/zapcrm/web/locale/en/LC_MESSAGES/messages.po ]; then \
	  $(VENV)/bin/pybabel update --no-fuzzy-matching -w 100 -i src/zapcrm/web/locale/messages.pot -d src/zapcrm/web/locale -l en; \
	else \
	  $(VENV)/bin/pybabel init -i src/zapcrm/web/locale/messages.pot -d src/zapcrm/web/locale -l en; \
	fi

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
