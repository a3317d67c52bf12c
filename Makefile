# The two commands: `make run` and `make test`. Also: `make lint`, `make bench`, `make docs`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: run test lint bench docs install clean screenshots assets

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/commonspace init
	$(BIN)/commonspace demo
	$(BIN)/commonspace serve

lint: install
	$(BIN)/ruff check src tests bench assets scripts
	$(BIN)/ruff format --check src tests bench assets scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m bench

# Regenerate the command-line reference from the code (tests/cli/test_cli_reference.py checks it).
docs: install
	$(BIN)/python -m commonspace.cli.reference > docs/cli.md

# Refresh the vendored front-end files (htmx, Pico CSS, Chart.js) from assets/package-lock.json.
# The vendored files in src/commonspace/web/static/vendor/ are committed, so `make run` needs neither
# npm nor the network; only this target does.
assets: install
	cd assets && npm ci && cd .. && $(BIN)/python assets/vendor.py

# Retake the README's screenshots of the real pages (needs chromium, as the browser tests do).
screenshots: install
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
