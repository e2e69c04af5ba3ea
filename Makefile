# imgstore. `make test` and `make run` work from nothing: they create .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAGE  ?= dev
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help venv test test-fast resources clean

help:
	@echo "make test        run the whole test suite (creates .venv when missing)"
	@echo "make resources   create the stage's bucket and table (STAGE=dev)"
	@echo "make bench       time the imaging pipelines side by side (bench/imaging.py)"
	@echo "make reprocess   regenerate variants after the presets changed (ARGS='--owner alice')"
	@echo "make clean       remove .venv and caches"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall whenever a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

test: venv
	$(BIN)/python -m pytest -n 2 -q

test-fast: venv
	$(BIN)/python -m pytest -q -x -m "not slow"

resources: venv
	$(BIN)/python scripts/bootstrap.py --stage $(STAGE)

.PHONY: bench reprocess

# pyvips only gives the benchmark its comparison column; nothing ships or tests with it.
bench: venv
	$(BIN)/pip install --quiet -r requirements-bench.txt
	$(BIN)/python bench/imaging.py $(ARGS)

reprocess: venv
	$(BIN)/python scripts/reprocess.py --stage $(STAGE) $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
