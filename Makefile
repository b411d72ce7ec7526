# Everything a fresh machine needs is installed from here: make demo, make test, make bench.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# mypy sees the tests as pytest does: each folder with its own conftest, checked on its own.
TEST_DIRS := $(sort $(patsubst %/,%,$(dir $(shell find tests -name '*.py'))))

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

lint: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard bench examples)
	$(BIN)/mypy --strict src
	@status=0; for dir in $(TEST_DIRS); do \
		echo "$(BIN)/mypy --strict $$dir/*.py"; $(BIN)/mypy --strict $$dir/*.py || status=1; \
	done; exit $$status
	$(BIN)/vulture src .vulture_allow.py --min-confidence 60 \
		--ignore-decorators "@*.command,@*.group,@click.command,@click.group"

test: lint
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/run.py --out bench/results.md

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
