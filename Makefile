# Two commands for a new user: `make demo` and `make test`. Both install into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit docs bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)  ## the whole loop on the twin: audit, controller, two drills, reports in ./nodewarden-demo/
	$(BIN)/nodewarden demo

test: $(STAMP) lint typecheck unit  ## ruff, mypy, import contracts and the whole test suite

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)  ## tests run 4 at a time: most of their time is waiting on twin HTTP round trips, not CPU
	$(BIN)/pytest -n 4 --dist loadgroup

docs: $(STAMP)  ## regenerate docs/rules.md from the rule metadata
	$(BIN)/nodewarden rules -o markdown > docs/rules.md

bench: $(STAMP)  ## the audit, the twin, the live caches and the journal at 5,000 nodes against baselines in the same run; the demo's wall time
	$(BIN)/python bench/audit_scale.py
	$(BIN)/python bench/twin_scale.py
	$(BIN)/python bench/observe_scale.py
	$(BIN)/python bench/journal_scale.py
	$(BIN)/python bench/demo_time.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
