# Pulse: local stack, services, checks. GNU make. See deploy/local/*.sh for what each step does.
#
#   make up        install, start PostgreSQL + Kafka + the five services, load the demo data (PULSE_DEMO=0 skips)
#   make down      stop the services, then the stack
#   make reset     down, then wipe local data (keeps the Kafka jar cache)
#   make test      install, promtool checks, Chromium, stack up, the whole test suite against the real Kafka and
#                  PostgreSQL (and a real browser for the dashboard's pages)
#   make check-prometheus  promtool: deploy/prometheus config, alert rules and rule unit tests (apt-get installs
#                  Debian's prometheus package for promtool if it is missing; no server is started)
#   make unit      unit tests only (no stack needed)
#   make lint      ruff check, ruff format --check, mypy, make audit
#   make audit     known vulnerabilities in uv.lock and package-lock.json (pip-audit, npm audit)

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# `pip install --user uv` puts uv here; never change uv.lock from make.
export PATH := $(HOME)/.local/bin:$(PATH)
export UV_FROZEN := 1
UV := uv
LOCAL_DIR := deploy/local
GATEWAY_URL := http://$(or $(PULSE_GATEWAY_HOST),127.0.0.1):$(or $(PULSE_GATEWAY_PORT),8000)
# People of the demo data set whose sign-in links `make up` prints (tests/unit/demo checks they exist):
# a team leader's branch, the officer whose portfolio deteriorates in it, a wealth client.
DEMO_BRANCH := BR-NORTH
DEMO_OFFICER := LO-NORTH-03
DEMO_CLIENT := WM-0001

.PHONY: help install up down reset stack-up stack-down stack-status services-start services-stop status \
	lint audit unit test bench check-prometheus

help:
	@echo "targets: install up down reset status lint audit unit test check-prometheus bench (PULSE_DEMO=0 make up skips the demo data; PULSE_REPLICAS=N make up runs N instances of each consumer service)"

install:
	@$(LOCAL_DIR)/ensure-uv.sh >/dev/null
	$(UV) sync --frozen
	@$(LOCAL_DIR)/ensure-node-modules.sh

stack-up:
	$(LOCAL_DIR)/stack.sh up

stack-down:
	$(LOCAL_DIR)/stack.sh down

stack-status:
	-$(LOCAL_DIR)/stack.sh status

services-start:
	$(LOCAL_DIR)/services.sh start

services-stop:
	$(LOCAL_DIR)/services.sh stop

status: stack-status
	-$(LOCAL_DIR)/services.sh status

# A local try-out: development mode (README, "Deploying securely"), for the services and `pulse token`.
up: export PULSE_DEV_MODE := $(or $(PULSE_DEV_MODE),true)
up: install
	$(LOCAL_DIR)/stack.sh up
	$(LOCAL_DIR)/services.sh start
	@if [[ "$${PULSE_DEMO:-1}" != 0 ]]; then \
		echo "loading the demo data set (PULSE_DEMO=0 skips it)"; \
		$(UV) run --frozen pulse demo; \
	fi
	@echo; echo "Pulse is up, in development mode (PULSE_DEV_MODE=true: development secrets, not for real data)."; \
	echo "Open the dashboard with one of these sign-in links (each works once, within 15 minutes):"; \
	printf '  %-28s %s\n' "admin" "$$($(UV) run --frozen pulse token --url --role admin)"; \
	if [[ "$${PULSE_DEMO:-1}" != 0 ]]; then \
		printf '  %-28s %s\n' "team leader, $(DEMO_BRANCH)" \
			"$$($(UV) run --frozen pulse token --url --role team_leader --branch-id $(DEMO_BRANCH))"; \
		printf '  %-28s %s\n' "loan officer, $(DEMO_OFFICER)" \
			"$$($(UV) run --frozen pulse token --url --role loan_officer --officer-id $(DEMO_OFFICER))"; \
		printf '  %-28s %s\n' "wealth client, $(DEMO_CLIENT)" \
			"$$($(UV) run --frozen pulse token --url --role client --client-id $(DEMO_CLIENT))"; \
	fi; \
	echo "  (a new link: PULSE_DEV_MODE=true uv run pulse token --url --role ...; or sign in at $(GATEWAY_URL)/signin"; \
	echo "  with a token from: PULSE_DEV_MODE=true uv run pulse token --role ...)"; \
	echo "API: $(GATEWAY_URL)/v1 (docs: $(GATEWAY_URL)/docs), admin token: $$($(UV) run --frozen pulse token --role admin)"; \
	echo "logs: .local/logs/   stop: make down   wipe: make reset"

down:
	$(LOCAL_DIR)/services.sh stop
	$(LOCAL_DIR)/stack.sh down

reset: down
	rm -rf .local/kafka/data .local/pg .local/run .local/logs

lint: audit
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy

# Fails on a known vulnerability; a vulnerability service it cannot reach is reported as NOT AUDITED, and
# fails it only with PULSE_AUDIT_REQUIRED=true (deploy/local/audit.sh).
audit:
	$(LOCAL_DIR)/audit.sh

unit:
	$(UV) run --frozen pytest -m unit -q

# A few seconds once promtool is there (see deploy/local/check-prometheus.sh).
check-prometheus:
	$(LOCAL_DIR)/check-prometheus.sh

# The whole suite against the real stack; the stack is left running (cheap, and the next run reuses it).
# The promtool checks come first: they take seconds and need no stack.
# pytest's exit code 5 ("no tests collected") is a failure too.
test: install check-prometheus
	$(LOCAL_DIR)/ensure-chromium.sh
	$(LOCAL_DIR)/stack.sh up
	@rc=0; $(UV) run --frozen pytest -q || rc=$$?; \
	if [[ $$rc -eq 5 ]]; then echo "make test: FAILED: pytest collected no tests" >&2; fi; \
	exit $$rc

bench: install
	$(UV) run --frozen python -m bench
