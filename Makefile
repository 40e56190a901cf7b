# Dinghuo: the two commands. Needs only Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint schema bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## make run: embedded PostgreSQL (unless DATABASE_URL), migrate, demo tenant, web + worker.
run: $(STAMP)
	$(BIN)/python manage.py run_platform

## make test: the whole suite against real PostgreSQL (embedded unless DATABASE_URL).
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## make schema: print graphql/schema.graphql from the code.
schema: $(STAMP)
	$(BIN)/python manage.py print_schema

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
