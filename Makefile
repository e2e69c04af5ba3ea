# imgstore. `make test` and `make run` work from nothing: they create .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAGE  ?= dev
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help venv test test-fast resources clean deploy destroy policies token

help:
	@echo "make test        run the whole test suite (creates .venv when missing)"
	@echo "make resources   create the stage's bucket and table (STAGE=dev)"
	@echo "make bench       time the imaging pipelines side by side (bench/imaging.py)"
	@echo "make reprocess   regenerate variants after the presets changed (ARGS='--owner alice')"
	@echo "make clean       remove .venv and caches"
	@echo "make deploy      deploy a stage to AWS: resources stack, chalice deploy (STAGE=prod)"
	@echo "make destroy     remove everything make deploy created (STAGE=prod)"
	@echo "make token       print a bearer token (NAME=alice [ADMIN=1] [TTL=7d] STAGE=...)"

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
	$(BIN)/python -m scripts.reprocess --stage $(STAGE) $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# -- AWS: needs credentials (README "Deploying to AWS") ----------------------------
# The region comes from your AWS profile or AWS_REGION, never from the default above.
AWS := $(if $(filter file,$(origin AWS_DEFAULT_REGION)),env -u AWS_DEFAULT_REGION,)

deploy: venv
	$(AWS) $(BIN)/python scripts/deploy.py resources --stage $(STAGE) $(if $(AUTH_MODE),--auth-mode '$(AUTH_MODE)') $(if $(CORS_ALLOW_ORIGINS),--origins '$(CORS_ALLOW_ORIGINS)')
	$(AWS) $(BIN)/chalice deploy --stage $(STAGE)
	$(AWS) $(BIN)/python scripts/deploy.py gateway --stage $(STAGE)

# chalice delete first: it removes the functions, the API and the bucket's
# notifications; then the stack (emptied bucket, table, secret or user pool).
destroy: venv
	$(BIN)/python scripts/deploy.py confirm --stage $(STAGE) $(if $(CONFIRM),--answer '$(CONFIRM)')
	if [ -f .chalice/deployed/$(STAGE).json ]; then $(AWS) $(BIN)/chalice delete --stage $(STAGE); fi
	$(AWS) $(BIN)/python scripts/deploy.py destroy --stage $(STAGE)

policies: venv
	$(BIN)/python scripts/policies.py --stage $(STAGE)

token: venv
	$(AWS) $(BIN)/python scripts/token.py create '$(NAME)' --stage $(STAGE) $(if $(ADMIN),--admin) $(if $(TTL),--ttl '$(TTL)')
