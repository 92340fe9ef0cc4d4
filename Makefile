# The two commands a newcomer needs: `make demo`, then `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint format bench pi-check clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[train,edge,demo,dev]'
	touch $@

DEMO_ARGS ?=

demo: setup
	$(BIN)/reid-demo --out demo-out $(DEMO_ARGS)

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

bench: setup
	$(BIN)/python bench/run_all.py

# The edge install on arm64 under emulation (root; bench/pi_check.py): uses the demo's bundle.
pi-check: setup
	test -f demo-out/bundle/manifest.json || $(MAKE) demo
	$(BIN)/python bench/pi_check.py --bundle demo-out/bundle --data demo-out/known

clean:
	rm -rf $(VENV) demo-out runs .pytest_cache .ruff_cache
