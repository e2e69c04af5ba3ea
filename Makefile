# imgstore. `make test` and `make run` work from nothing: they create .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAGE  ?= dev
export AWS_DEFAULT_REGION ?= us-east-1

# make run: where the local stack listens (see devstack/runner.py).
BIND     ?= 127.0.0.1
API_PORT ?= 8000
AWS_PORT ?= 5000
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help venv test test-fast resources clean run newman postman load

help:
	@echo "make test        run the whole test suite (creates .venv when missing)"
	@echo "make resources   create the stage's bucket and table (STAGE=dev)"
	@echo "make run         imgstore on this machine: API :8000, AWS (moto) :5000; Ctrl-C stops"
	@echo "                 (BIND=, API_PORT=, AWS_PORT=; FRESH=1 forgets the saved data)"
	@echo "make postman     run the Postman collection against a running \`make run\`"
	@echo "make load        a bounded load run on a local stack of its own"
	@echo "make clean       remove .venv and caches"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall whenever a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

test: venv newman
	$(BIN)/python -m pytest -n 2 -q

test-fast: venv
	$(BIN)/python -m pytest -q -x -m "not slow"

resources: venv
	$(BIN)/python scripts/bootstrap.py --stage $(STAGE)

run: venv
	$(BIN)/python -m devstack --host $(BIND) --api-port $(API_PORT) --aws-port $(AWS_PORT) $(if $(FRESH),--fresh)

# newman, pinned in package-lock.json; node and npm from Debian when missing.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "installing node and npm with apt-get"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

newman: node_modules/.installed

postman: newman venv
	@$(BIN)/python -c "import urllib.request; urllib.request.urlopen('http://$(BIND):$(API_PORT)/health', timeout=5)" \
		2>/dev/null || { echo "nothing answers on http://$(BIND):$(API_PORT): start \`make run\` first"; exit 1; }
	node_modules/.bin/newman run postman/imgstore.postman_collection.json -e postman/local.postman_environment.json \
		--working-dir postman --env-var baseUrl=http://$(BIND):$(API_PORT) --env-var awsUrl=http://$(BIND):$(AWS_PORT)

load: venv
	$(BIN)/python -m devstack.load

clean:
	rm -rf $(VENV) .pytest_cache node_modules
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
