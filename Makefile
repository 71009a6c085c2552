# Two entry points for a fresh machine: `make run` (demo pipeline) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run test lint constraints clean-state

setup: $(STAMP)

# torch first, pinned to the CPU build on local disk: anything that depends on an
# unpinned torch would otherwise pull a multi-GB CUDA build.
# constraints.txt holds the versions the tests last passed with, so a fresh machine next month
# installs the same; `make constraints` records the current environment's versions there.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

run: setup
	$(BIN)/policytrends run

# pytest exits 5 when it collects no tests: report it instead of failing the build.
test: setup
	$(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

# The suite without the tests marked slow (real model, real crawls, the whole pipeline): a quick check while editing.
test-fast: setup
	$(BIN)/python -m pytest -m "not slow"; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

lint: setup
	$(BIN)/ruff check .

constraints: setup
	{ echo "# Versions the test suite passed with; make installs with them (pip -c). Regenerate: make constraints"; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -v '^policytrends' | sed 's/^torch==\([0-9.]*\)+cpu$$/torch==\1/'; \
	} > constraints.txt.tmp && mv constraints.txt.tmp constraints.txt

clean-state:
	rm -rf .policytrends outputs/*.csv outputs/*.png
