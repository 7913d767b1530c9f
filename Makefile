# TradeOps: `make run` starts everything on a fresh machine; `make test` runs lint and tests.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format env llm bench audit clean-venv

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PIP) -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt | $(VENV)/bin/python
	$(PIP) -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# llama-cpp-python compiles llama.cpp once per machine; pip caches the wheel (~/.cache/pip) and reuses it,
# whatever CMAKE_ARGS say. LLAVA_BUILD=OFF skips its multimodal library (mtmd, 51 of 178 objects), which
# TradeOps never loads. GGML_NATIVE=OFF builds the portable x86-64 kernels (AVX2/FMA/F16C) instead of
# -march=native: a native build on a CPU with AMX tiles (seen on a Sapphire Rapids class machine) crashed
# with a segmentation fault in the first decode of any prompt.
$(VENV)/.llm: requirements-llm.txt | $(VENV)/bin/python
	CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF $(CMAKE_ARGS)" $(PIP) -r requirements-llm.txt
	touch $@

.env: | $(VENV)/.runtime
	$(PY) -m tradeops.keygen --env-file .env

env: .env

# STREAM_MARKET_DATA=1 make run also starts the market data streamer (manage.py stream_market_data).
run: $(VENV)/.runtime .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py load_demo
	$(PY) manage.py ensure_admin
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

test: $(VENV)/.dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

lint: $(VENV)/.dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(VENV)/.dev
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

llm: $(VENV)/.llm

# Known vulnerabilities in the installed packages (pip-audit); fails on one that has a fix. Needs the network.
audit: $(VENV)/.dev
	$(PY) .ci/dependency_audit.py

# Benchmarks print tables. BENCH_DATABASE_URL=postgres://... adds PostgreSQL to the database ones.
BENCH_DB_ARGS := $(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL),)
BENCH_REDIS_ARGS := $(if $(BENCH_REDIS_URL),--redis-url $(BENCH_REDIS_URL),)
bench: $(VENV)/.dev
	$(PY) bench/bench_indicators.py
	$(PY) bench/bench_import_candles.py $(BENCH_DB_ARGS)
	$(PY) bench/bench_backtest.py $(BENCH_DB_ARGS)
	$(PY) bench/bench_paper.py $(BENCH_DB_ARGS)
	$(PY) bench/bench_ccxt.py
	$(PY) bench/bench_trade.py $(BENCH_DB_ARGS)
	$(PY) bench/bench_cycle.py $(BENCH_DB_ARGS)
	$(PY) bench/bench_market_data.py $(BENCH_DB_ARGS)
	$(PY) bench/bench_news.py $(BENCH_DB_ARGS)
	$(PY) bench/bench_ai.py
	$(PY) bench/bench_api.py $(BENCH_DB_ARGS)
	$(PY) bench/bench_events.py $(BENCH_DB_ARGS) $(BENCH_REDIS_ARGS)
