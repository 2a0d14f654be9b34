# 政策助手 — every target sets up what it needs and is safe to run again.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
STAMP := $(VENV)/.installed
GW_VENV := .venv-gateway
GW_PY := $(GW_VENV)/bin/python
GW_STAMP := $(GW_VENV)/.installed
NODE_STAMP := node_modules/.installed
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup browser ingest check train run run-scaled load load-faults shell validate test test-fast bench bench-insights report clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.txt scripts/setup-venv.sh
	@bash scripts/setup-venv.sh

$(GW_STAMP): requirements-gateway.txt scripts/setup-gateway-venv.sh
	@bash scripts/setup-gateway-venv.sh

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "error: npm (Node.js) is required for the widget's socket.io client" >&2; exit 1; }
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

setup: $(STAMP) $(GW_STAMP) $(NODE_STAMP) ## create .venv (Rasa, Python 3.10) and .venv-gateway (gateway, Python 3.12), npm packages

browser: ## install Debian's chromium and a CJK font for the browser tests (apt-get, when missing)
	@bash scripts/setup-browser.sh

ingest: setup ## rebuild the policy store and document index from policy_corpus/
	@$(PY) -m bot ingest

check: setup ## check policy_corpus/ (citations and quotes) without writing anything
	@$(PY) -m bot check

train: setup ## build the spaCy pipeline if its inputs changed, export the synonyms, train (Rasa's cache skips unchanged parts)
	@$(PY) -m bot train

run: ingest train ## set up, ingest, train if needed, start the action server, 2 Rasa servers and the gateway (Ctrl-C stops)
	@$(PY) -m bot run

run-scaled: setup train ## the scaled profile: PostgreSQL + Redis, 2 action servers, 2 Rasa servers, 2 gateways
	@$(PY) -m bot run --profile scaled

load: setup train ## load suite: Socket.IO and WeChat users; ours and stock on 1 and 2 Rasa servers, scaled; tracker audit
	@$(PY) -m bench.load

load-faults: setup train ## fault suite: the same load while servers die, PostgreSQL restarts and Redis stops
	@$(PY) -m bench.load --profiles embedded-faults,embedded-2rasa-faults,scaled-faults

shell: ingest train ## talk to the bot in the terminal
	@$(PY) -m bot shell

validate: train ## rasa data validate
	@$(RASA) data validate --domain domain.yml --data data --config config.yml

test: setup browser ## set up and run every test in both environments (unit, e2e, browser, scale); the last line adds them up
	@bash scripts/test.sh

test-fast: setup ## the unit tests only, in both environments (no servers, no browser; under a minute)
	@TEST_ENVS_AT_ONCE=1 GATEWAY_SKIP=tests/knowledge bash scripts/test.sh -m unit -q

bench: ingest train ## print search, conversation (held-out test part), NLU and server figures, beside stock Rasa
	@$(PY) -m bench.search_eval
	@$(PY) -m bench.conversation_eval --split test
	@$(PY) -m bench.nlu_eval
	@$(PY) -m bench.servers

bench-insights: setup ## the insights report over 100,000 synthetic conversations in PostgreSQL (goal < 30 s)
	@$(PY) -m bench.insights_report

report: setup ## insights over the last 7 days, as text (python -m bot report --help for --json/--html)
	@$(PY) -m bot report

clean: ## remove generated files (store, models, caches); keeps .venv
	rm -rf var models/*.tar.gz models/*.fingerprint models/spacy .pytest_cache results .rasa
