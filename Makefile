# 政策助手 — every target sets up what it needs and is safe to run again.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export RASA_TELEMETRY_ENABLED := false
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup ingest check run test bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.txt scripts/setup-venv.sh
	@bash scripts/setup-venv.sh

setup: $(STAMP) ## create .venv (Python 3.10) and install the pinned requirements

ingest: setup ## rebuild the policy store and document index from policy_corpus/
	@$(PY) -m bot ingest

check: setup ## check policy_corpus/ (citations and quotes) without writing anything
	@$(PY) -m bot check

run: ingest ## set up, ingest, and start the bot
	@echo "policy store ready; try: $(PY) -m bot search '想了解一下对风投基金有什么政策'"

test: setup ## set up and run every test
	@$(PY) -m pytest

bench: setup ## print search, NLU and server figures
	@$(PY) bench/search_eval.py

clean: ## remove generated files (store, models, caches); keeps .venv
	rm -rf var models/*.tar.gz .pytest_cache results
