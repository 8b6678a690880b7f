# The two set-up commands of the README. Both install what they need first (scripts/setup.sh).
VENV ?= .venv
DURATION ?= 60
PYTEST_ARGS ?=

.PHONY: demo test lint firmware datasets

demo:
	scripts/setup.sh demo
	$(VENV)/bin/emgwatch demo --duration $(DURATION)

test:
	scripts/setup.sh test
	$(VENV)/bin/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

lint:
	$(VENV)/bin/ruff check emgwatch tests benchmarks
	$(VENV)/bin/ruff format --check emgwatch tests benchmarks

firmware:
	$(MAKE) -C firmware

datasets:
	$(VENV)/bin/emgwatch datasets build
