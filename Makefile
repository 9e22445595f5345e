# GateLab: `make run` starts the dashboard (offline, built-in music); `make test` runs the tests.
# Both create the virtual environment .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
REPLICAS ?= 2
HOST ?= 0.0.0.0

.PHONY: run serve test fuzz bench setup setup-dev clean

$(VENV)/.runtime: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.lock
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	touch $@

setup: $(VENV)/.runtime
setup-dev: $(VENV)/.dev

run: setup
	$(PY) -m app.serve --server.port $(PORT) --server.headless true \
		--browser.gatherUsageStats false

# N replicas behind HAProxy on HOST:PORT (replicas on PORT+1..PORT+N, its status on PORT+N+1);
# Ctrl-C stops them all. docs/deploy.md.
serve: setup
	$(PY) deploy/serve.py --replicas $(REPLICAS) --port $(PORT) --host $(HOST)

# Real-data tests read the datasets from $GATELAB_DATA_DIR (they fail, never skip, without it).
test: setup-dev
	$(PY) -m pytest $(PYTEST_ARGS)

# The property-based tests with 10-16 times the examples CI runs (tests/test_fuzz.py: 16 for MIDI, checkpoint
# bytes and CLI arguments, 10 for dataset files and URLs), fresh random inputs each run.
fuzz: setup-dev
	GATELAB_FUZZ_PROFILE=fuzz $(PY) -m pytest tests/test_fuzz.py $(PYTEST_ARGS)

bench: setup
	$(PY) benchmarks/core_speed.py

clean:
	rm -rf $(VENV) .pytest_cache
