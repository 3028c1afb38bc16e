# DocRE Studio: `make app` sets up and starts the web app; `make test` sets up and runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup app predict-sample lint test test-fast system-deps screenshots lock

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

setup: $(STAMP)

app: setup
	$(PY) -m streamlit run app/server.py

predict-sample: setup
	$(PY) -m engine predict --input assets/samples/sample.txt --output sample.predictions.json

lint: setup
	$(VENV)/bin/ruff check .

system-deps:
	bash scripts/system_deps.sh

# The throwaway PostgreSQL server is stopped (and its data removed) however the tests end.
test: setup system-deps lint
	@state=$$(mktemp); \
	url=$$(DOCRE_PG_STATE="$$state" bash scripts/start_postgres.sh) || { rm -f "$$state"; exit 1; }; \
	DOCRE_TEST_POSTGRES_URL="$$url" $(PY) -m pytest -q; rc=$$?; \
	bash scripts/stop_postgres.sh "$$state"; rm -f "$$state"; exit $$rc

test-fast: setup lint
	$(PY) -m pytest -q -m "not e2e and not slow"

screenshots: setup system-deps
	$(PY) scripts/screenshots.py

# requirements.lock (hashed, for the Docker image) from requirements.txt; run after changing a pin (needs PyPI).
lock:
	bash scripts/lock.sh
