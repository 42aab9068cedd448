# The README's two commands: `make run` (the main job) and `make test` (the whole gate and suite).
# Both create .venv and install the project with its pinned tools first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run generate check lint services test quick bench bench-smoke bench-tools clean wheel

# Where the PostgreSQL tests connect; scripts/test-services.sh creates this user and database.
export MEDEXEMPT_TEST_POSTGRES_URL ?= postgresql+psycopg://medexempt:medexempt@127.0.0.1:5432/medexempt_test

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[service,dev]'
	touch $(STAMP)

install: $(STAMP)

## The main job: regenerate the bindings from xsd/, then serve the reference service on the embedded
## SQLite database with the demo data (http://127.0.0.1:8080/sync; Ctrl-C stops it).
run: install
	$(BIN)/medexempt generate
	$(BIN)/medexempt serve --demo

generate: install
	$(BIN)/medexempt generate

## The wheel other projects install (dist/medexempt-VERSION-py3-none-any.whl).
wheel: install
	$(BIN)/python -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation -w dist .

check: install
	$(BIN)/medexempt check

## The gate, in the order CI runs it, then the test suite.
lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/medexempt check

## The real servers the tests use (PostgreSQL, headless Chromium): installed and started when possible.
services:
	bash scripts/test-services.sh

## The README's test command, and all that CI (.ci/run) runs: the gate, the suite, every benchmark briefly.
test: lint services
	$(BIN)/pytest
	$(MAKE) bench-smoke

## The quick run while editing, over every core: no servers, browsers, PostgreSQL, Python processes, load
## or generator corpora, each Hypothesis property with a fifth of its examples (tests/support.py).
## Not a gate: `make test` is.
quick: install
	$(BIN)/pytest -m "not system" -n auto --dist loadfile -q

## Benchmarks beside their peers, in one command; reports in bench/results/ (README.md lists them).
## `bench-smoke` runs every part briefly, every answer still checked (CI), into build/bench-smoke/.
bench: install services bench-tools
	$(BIN)/python -m bench --postgres $(MEDEXEMPT_TEST_POSTGRES_URL)

bench-smoke: install services bench-tools
	$(BIN)/python -m bench --quick --postgres $(MEDEXEMPT_TEST_POSTGRES_URL) --out-dir build/bench-smoke > /dev/null

## The load generator the served benchmark drives (wrk, Debian's package).
bench-tools:
	bash scripts/bench-tools.sh

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
