# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test install install-test browser lint bench-quick

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

install: $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	@if [ -f package.json ]; then npm ci --no-audit --no-fund --silent || npm install --no-audit --no-fund --silent; fi

install-test: $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[test]'
	@if [ -f package.json ]; then npm ci --no-audit --no-fund --silent || npm install --no-audit --no-fund --silent; fi

# Browser tests drive Debian's Chromium; Playwright cannot download its own browser here.
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; \
	fi

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver 127.0.0.1:8000

test: install-test browser
	$(PY) -m pytest

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run

bench-quick: install-test
	@for name in $$($(PY) -m bench | cut -d' ' -f1); do $(PY) -m bench $$name --quick || exit 1; done
