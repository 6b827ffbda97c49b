# The two commands: `make run` and `make test`. Everything else here serves them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
WEB_ADDR ?= 127.0.0.1:8000

.PHONY: run test lint typecheck pytest lock clean

$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt
	touch $@

.env:
	$(PYTHON) scripts/dev_env.py > .env

SANDBOX_HOST ?= 127.0.0.1
SANDBOX_PORT ?= 8100
SANDBOX_GRPC_PORT ?= 8101
SANDBOX_DATA ?= var/sandbox

# The sandbox exchange and the web app run side by side and stop together (trap). The demo firm
# is registered at the sandbox with a key pair generated on first run into var/ (its POLYMARKET_*
# lines go into .env); once the web app answers, firm_setup registers its KYC webhook (the
# exchange test-posts it) and seed_demo onboards the demo participants through the real intake, then
# makes the demo funding requests, the first two meeting the sandbox's PENDING and AMBIGUOUS modes
# (armed just before, disarmed just after).
# The banner reaches the terminal in one write, so that no log line of the web app (a webhook
# arriving) lands in the middle of it.
export ONE_WRITE := import os, sys; os.write(1, sys.stdin.buffer.read())
run: $(VENV)/.installed .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py hash_search_keys
	@mkdir -p $(SANDBOX_DATA)
	@$(PY) -m sandbox --host $(SANDBOX_HOST) --port $(SANDBOX_PORT) --grpc-port $(SANDBOX_GRPC_PORT) --data $(SANDBOX_DATA) & \
	SANDBOX_PID=$$!; \
	trap 'kill $$SANDBOX_PID $$WEB_PID 2>/dev/null; wait 2>/dev/null' EXIT INT TERM; \
	CLIENT_ID=$$($(PY) scripts/sandbox_demo.py --url http://$(SANDBOX_HOST):$(SANDBOX_PORT) --env .env --keys $(SANDBOX_DATA)) || exit 1; \
	$(PY) manage.py runserver --noreload $(WEB_ADDR) & \
	WEB_PID=$$!; \
	$(PY) scripts/wait_for.py http://$(WEB_ADDR)/healthz || exit 1; \
	$(PY) manage.py firm_setup --webhook-url http://$(WEB_ADDR)/webhooks/polymarket/kyc/ || exit 1; \
	$(PY) scripts/sandbox_demo.py --url http://$(SANDBOX_HOST):$(SANDBOX_PORT) --stage-funding || exit 1; \
	$(PY) manage.py seed_demo || exit 1; \
	$(PY) scripts/sandbox_demo.py --url http://$(SANDBOX_HOST):$(SANDBOX_PORT) --clear-faults || exit 1; \
	{ echo; \
	echo "Sandbox exchange: http://$(SANDBOX_HOST):$(SANDBOX_PORT)/  (demo firm client id $$CLIENT_ID)"; \
	echo "Sandbox streams:  $(SANDBOX_HOST):$(SANDBOX_GRPC_PORT) (gRPC, plaintext)"; \
	echo "Back-office:      http://$(WEB_ADDR)/  (sign in as compliance, support, treasury, checker, supervisor or admin)"; \
	grep '^DEMO_PASSWORD=' .env | sed 's/^DEMO_PASSWORD=/Password:         /'; \
	echo "Stop both with Ctrl-C."; } | $(PY) -c "$$ONE_WRITE"; \
	wait $$WEB_PID

test: lint typecheck pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	ENV_FILE=tests/test.env $(VENV)/bin/mypy .

pytest: $(VENV)/.installed
	$(VENV)/bin/pytest

# Rewrites the hash-pinned lock files from the ranges in pyproject.toml.
lock: $(VENV)/.installed
	$(VENV)/bin/uv pip compile pyproject.toml --python-version 3.11 --generate-hashes -q -o requirements.txt
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -q -o requirements-dev.txt

clean:
	rm -rf $(VENV) staticfiles .mypy_cache .ruff_cache .pytest_cache

# Gateway client vs plain requests against a sandbox on loopback; writes bench/README.md.
.PHONY: bench-gateway
bench-gateway: $(VENV)/.installed
	ENV_FILE=tests/test.env $(PY) -m bench.gateway

# Staff list pages and admin changelists with 1,000,000 rows in PostgreSQL; writes bench/README.md.
.PHONY: bench-pages
bench-pages: $(VENV)/.installed
	DATABASE_URL=$${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/backoffice_bench} ENV_FILE=tests/test.env $(PY) -m bench.list_pages

# The funding pages and changelists with 1,000,000 requests in PostgreSQL; writes bench/README.md.
.PHONY: bench-funding
bench-funding: $(VENV)/.installed
	DATABASE_URL=$${BENCH_FUNDING_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/funding_bench} ENV_FILE=tests/test.env $(PY) -m bench.funding_pages

# Drop Copy replay rate (executions per second to a client that only counts) over a million
# executions; writes bench/README.md.
.PHONY: bench-streams
bench-streams: $(VENV)/.installed
	$(PY) -m bench.streams

# The trading mirror on PostgreSQL (BENCH_DATABASE_URL, default trading_bench): Drop Copy ingest of
# a million executions from a live sandbox, and the trading pages at a million executions (and at
# ten million, in a database of its own); writes bench/README.md.
.PHONY: bench-trading-ingest bench-trading-pages bench-trading-pages-10m
bench-trading-ingest: $(VENV)/.installed
	$(PY) -m bench.trading ingest
bench-trading-pages: $(VENV)/.installed
	$(PY) -m bench.trading pages
bench-trading-pages-10m: $(VENV)/.installed
	$(PY) -m bench.trading pages --executions 10000000

# The bulk fill of 10,000 participants and 1,000,000 executions, timed and checked; writes bench/README.md.
.PHONY: bench-fill
bench-fill: $(VENV)/.installed
	$(PY) -m bench.fill

# Signed-in staff on the queue and participant pages against gunicorn (4 workers) on PostgreSQL;
# writes bench/README.md.
.PHONY: bench-load
bench-load: $(VENV)/.installed
	BENCH_DATABASE_URL=$${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/backoffice_load} ENV_FILE=tests/test.env $(PY) -m bench.load

# The nightly reconciliation of 10,000 accounts against the sandbox (rate limits off) on PostgreSQL
# (BENCH_DATABASE_URL, default reconcile_bench): the run against merely downloading the same data,
# queries per account, and what the documented limits make of it; writes bench/README.md.
.PHONY: bench-reconcile
bench-reconcile: $(VENV)/.installed
	$(PY) -m bench.reconcile
