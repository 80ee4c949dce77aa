# The two commands: `make run` (set up and run the demo month) and `make test` (set up and test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run demo test lint clean chromium jsclients

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python -m pip check
	touch $(STAMP)

install: $(STAMP)

# Generates the demo month and its gazetteer, runs the Prefect flow on the in-process Beam
# runner, and prints where the outputs are and what they contain.
run: $(STAMP)
	$(BIN)/crimegeo demo --out demo-output

demo: run

lint: $(STAMP)
	$(BIN)/ruff check .

# The public site's browser tests drive the system's headless Chromium (Playwright never
# downloads a browser here); install it from Debian's packages when it is missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		(apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || \
		 (apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium \
		  >/dev/null)) || echo "warning: chromium could not be installed; browser tests skip"; }

# Third-party police.uk JavaScript clients (tests/public/js), installed exactly as locked; the
# tests that run them skip only when node is absent.
JS_CLIENTS := tests/public/js
$(JS_CLIENTS)/node_modules/.package-lock.json: $(JS_CLIENTS)/package-lock.json
	cd $(JS_CLIENTS) && npm ci --no-audit --no-fund --prefer-offline

jsclients:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory \
		$(JS_CLIENTS)/node_modules/.package-lock.json; \
	else echo "note: npm is not installed; the JavaScript client tests skip"; fi

test: $(STAMP) chromium jsclients
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) demo-output .pytest_cache .ruff_cache $(JS_CLIENTS)/node_modules
