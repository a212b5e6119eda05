# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# The end-to-end tests also drive the 2.x langfuse SDK, which needs its own venv.
SDK2_VENV := .venv-sdk2
PORT ?= 8000
# Links in notification emails point at this server unless SITE_URL is set.
SITE_URL ?= http://127.0.0.1:$(PORT)

# Procfile commands (gunicorn, celery) come from the venv.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: run test bench bench-rollup demo-traffic lint format migrate seed sdk2 clean

$(BIN)/.installed: pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

migrate: $(BIN)/.installed
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo --port $(PORT)

## Start web (gunicorn), Celery worker and Celery beat; Ctrl-C stops all three.
run: seed
	WB_PORT=$(PORT) SITE_URL=$(SITE_URL) $(BIN)/honcho -f Procfile start

## Run the whole suite (PostgreSQL + Redis when they answer, else embedded).
test: $(BIN)/.installed
	@scripts/run-tests

## The venv with langfuse 2.x for the end-to-end tests (run-tests makes it too).
sdk2: $(BIN)/.installed
	@scripts/prepare-sdk2

## Send simulated LLM calls through the real langfuse SDK to a running server.
demo-traffic: $(BIN)/.installed
	$(BIN)/python manage.py demo_traffic --host http://127.0.0.1:$(PORT)

bench: $(BIN)/.installed
	@bench/run-all

## The roll-up benchmarks alone: a 1M-call rebuild, 30-day reports (bench/rollup.py).
bench-rollup: $(BIN)/.installed
	$(BIN)/python bench/rollup.py

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf var/ $(SDK2_VENV)
