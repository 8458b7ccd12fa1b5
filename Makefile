# The front door. `make run` and `make test` are the two commands of the README.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run reset test fuzz bench package wheels lint fmt typecheck clean

STAGE ?= prod

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "needs $(PYTHON) on PATH"; exit 1; }
	@if test -f $(STAMP); then echo "requirements changed: updating the dependencies in $(VENV)"; \
	else echo "first run: installing dependencies (a few minutes)"; fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check 'pip>=23,<26.3'
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

node_modules/.bin/dynalite: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "needs Node.js 20 or later (npm) on PATH"; exit 1; }
	@echo "installing dynalite, the embedded DynamoDB, into node_modules (npm ci)"
	npm ci --no-audit --no-fund --silent
	touch $@

## make run: embedded DynamoDB (dynalite, data kept in .local/dynalite), tables,
## demo project (first run only), API on :8000, the scheduled jobs
run: $(STAMP) node_modules/.bin/dynalite
	$(PY) scripts/run_local.py

## make reset: forget make run's data (.local/dynalite, .local/demo.json);
## refused while make run is up
reset: $(STAMP)
	$(PY) scripts/run_local.py --reset

## make test: the whole suite (unit, store contract and races on dynalite, API on moto)
test: $(STAMP) node_modules/.bin/dynalite
	$(PY) -m pytest

## make check: the minute after every change: lint, types, and the fast tiers
## (rules, the store contract on moto, services and jobs); prints its time
CHECK_TESTS := tests/unit tests/store tests/jobs
check: $(STAMP)
	@start=$$(date +%s); \
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && \
	$(VENV)/bin/mypy chalicelib app.py && \
	$(PY) -m pytest $(CHECK_TESTS) -m "not dynalite" -q -n 2; \
	status=$$?; echo "make check: $$(( $$(date +%s) - start )) s"; exit $$status

## make fuzz: the adversarial suite at length (2,000 state-machine examples, long
## schema fuzzing); `make test` runs the bounded versions
fuzz: $(STAMP) node_modules/.bin/dynalite
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest tests/adversarial

## make bench: DynamoDB requests and capacity per registration, import time;
## DynamoDB requests per 判客 decision (decision_requests);
## the daily report's cost at 100 and at 10,000 registrations in a day;
## items the sweep and the reclaim read against what is due (100,000 customers);
## cold start as deployed and the warm registration, each against a bare Chalice route;
## the launch-day burst through HTTP on dynalite against the store's own ceiling;
## KMS calls and time of registrant secrets sealed at rest (decision 0006);
## the deployment zip's size, and import app from it against the same tree with bytecode
## and the false-duplicate rate of masked claims (隐号报备) at 1,000 and 10,000 live
bench: $(STAMP) node_modules/.bin/dynalite
	$(PY) benchmarks/registration.py
	$(PY) benchmarks/decision.py
	$(PY) benchmarks/coldstart.py
	$(PY) benchmarks/warm.py
	$(PY) benchmarks/daily_report.py
	$(PY) benchmarks/jobs.py
	$(PY) benchmarks/burst.py
	$(PY) benchmarks/secrets_at_rest.py
	$(PY) benchmarks/package.py
	$(PY) benchmarks/masked.py

## make package STAGE=prod: build/<stage>/sam.json (tables, queue, alarms merged in)
## and build/<stage>/deployment.zip (compiled to bytecode, only the service models
## the functions use); offline: PIP_NO_INDEX=1 PIP_FIND_LINKS=$$PWD/wheels
package: $(STAMP)
	$(PY) scripts/package.py --stage $(STAGE)

## make wheels: the Lambda's Linux wheels into wheels/ and this machine's tools into
## wheels/host/, for `make package` on a machine without an index (docs/deploy.md)
wheels: $(STAMP)
	$(PY) -m pip download --platform manylinux2014_x86_64 --only-binary=:all: \
		--python-version 3.11 --implementation cp -r requirements.txt -d wheels
	$(PY) -m pip download -r requirements-dev.txt 'pip>=23,<26.3' -d wheels/host

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: $(STAMP)
	$(VENV)/bin/mypy chalicelib app.py

clean:
	rm -rf $(VENV) node_modules .local build wheels .pytest_cache .ruff_cache .mypy_cache
