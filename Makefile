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
SANDBOX_DATA ?= var/sandbox

# The sandbox exchange runs beside the web app and stops with it (trap); the demo firm is
# registered with a key pair generated on first run into var/ and its POLYMARKET_* lines
# are written into .env.
run: $(VENV)/.installed .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@mkdir -p $(SANDBOX_DATA)
	@$(PY) -m sandbox --host $(SANDBOX_HOST) --port $(SANDBOX_PORT) --data $(SANDBOX_DATA) & \
	SANDBOX_PID=$$!; \
	trap 'kill $$SANDBOX_PID 2>/dev/null; wait $$SANDBOX_PID 2>/dev/null' EXIT INT TERM; \
	CLIENT_ID=$$($(PY) scripts/sandbox_demo.py --url http://$(SANDBOX_HOST):$(SANDBOX_PORT) --env .env --keys $(SANDBOX_DATA)) || exit 1; \
	echo; \
	echo "Sandbox exchange: http://$(SANDBOX_HOST):$(SANDBOX_PORT)/  (demo firm client id $$CLIENT_ID)"; \
	echo "Back-office: http://$(WEB_ADDR)/  (sign in as compliance, support, treasury, supervisor or admin)"; \
	grep '^DEMO_PASSWORD=' .env | sed 's/^DEMO_PASSWORD=/Password:    /'; \
	echo; \
	$(PY) manage.py runserver $(WEB_ADDR)

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
