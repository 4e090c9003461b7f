# The tracker's commands. Only Python (3.11 or newer) is needed: `make run`
# and `make test` create the virtual environment and install what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test test-fast lint install install-dev bench bench-quick screenshots clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run
install-dev: $(VENV)/.installed-dev

## run: migrate, load the dataset, serve http://127.0.0.1:8000 with a Celery worker and beat
run: install
	$(BIN)/python scripts/stack.py run

## test: the whole suite (SQLite and an embedded Redis unless DATABASE_URL / REDIS_URL are set)
test: install-dev
	$(BIN)/python scripts/stack.py test

## test-fast: the suite without the browser and end-to-end worker tests, for development
test-fast: install-dev
	$(BIN)/python scripts/stack.py test -m "not browser and not e2e"

## lint: ruff (lint and format check) and mypy with the Django and DRF stubs
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## screenshots: refresh docs/img/ from the browser tests (needs Debian's chromium)
screenshots: install-dev
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) var staticfiles test-artifacts

## bench: the full benchmark (see docs/benchmarks.md); bench-quick: the same at a small scale
bench: install-dev
	$(BIN)/python -m bench.run

bench-quick: install-dev
	$(BIN)/python -m bench.run --quick
