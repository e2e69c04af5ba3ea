# imgstore. `make test` and `make run` work from nothing: they create .venv.
# The Lambda runtime is python3.13: Chalice packages for the Python it runs on.
PYTHON_VERSION := 3.13
PYTHON ?= $(shell for p in python$(PYTHON_VERSION) $$HOME/.pyenv/versions/$(PYTHON_VERSION)*/bin/python$(PYTHON_VERSION); do $$p -c "" 2>/dev/null && { command -v $$p || echo $$p; } && break; done)
VENV   := .venv
BIN    := $(VENV)/bin
STAGE  ?= dev
export AWS_DEFAULT_REGION ?= us-east-1

# make run: where the local stack listens (see devstack/runner.py).
BIND     ?= 127.0.0.1
API_PORT ?= 8000
AWS_PORT ?= 5000
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help venv lint test test-fast resources clean run newman browser postman load deploy destroy policies token

help:
	@echo "make test        lint, then the whole test suite (creates .venv when missing)"
	@echo "make lint        ruff (lint and format check) and mypy over the shipped and operator code"
	@echo "make resources   create the stage's bucket and table (STAGE=dev)"
	@echo "make run         imgstore on this machine: web app and API :8000, AWS (moto) :5000; Ctrl-C stops"
	@echo "                 (BIND=, API_PORT=, AWS_PORT=; FRESH=1 forgets the saved data; AUTH_MODE=token)"
	@echo "make postman     run the Postman collection against a running \`make run\`"
	@echo "make webhook-listen SECRET=whsec_...  a webhook receiver on 127.0.0.1:9000 (PORT=) that prints"
	@echo "                 each delivery and whether its signature verifies (ANSWER=500 to watch retries)"
	@echo "make load        a bounded load run on a local stack of its own"
	@echo "make fuzz        Schemathesis against the contract, unseeded, AUTH_MODE none and token (ARGS=)"
	@echo "make bench       time the imaging pipelines side by side (bench/imaging.py), then renditions"
	@echo "                 on a miss against pyvips (bench/delivery.py; make bench-delivery alone), then"
	@echo "                 the gallery's bytes and scrolling in Chromium (bench/gallery.py; make bench-gallery)"
	@echo "make scale       write units per upload and the hottest partition keys at 100-10,000 uploads/s"
	@echo "make reprocess   regenerate variants after the presets changed (ARGS='--owner alice');"
	@echo "                 bring a rejected original back from quarantine (ARGS='--restore IMAGE_ID')"
	@echo "make clean       remove .venv and caches"
	@echo "make deploy      deploy a stage to AWS: resources stack, chalice deploy (STAGE=prod)"
	@echo "make destroy     remove everything make deploy created (STAGE=prod)"
	@echo "make token       print a bearer token (NAME=alice [ADMIN=1] [TTL=7d] STAGE=...)"

# The stamp names the version: a .venv from another Python (an older checkout's 3.11) is made again.
VERSION_OF := -c 'import sys; print("%d.%d" % sys.version_info[:2])'
$(VENV)/.python-$(PYTHON_VERSION):
	@if [ "$$($(BIN)/python $(VERSION_OF) 2>/dev/null)" != $(PYTHON_VERSION) ]; then \
		[ "$$($(PYTHON) $(VERSION_OF) 2>/dev/null)" = $(PYTHON_VERSION) ] || { \
			echo "imgstore needs Python $(PYTHON_VERSION) (Lambda's runtime): python$(PYTHON_VERSION) on PATH, or PYTHON=..."; \
			exit 1; }; \
		echo "making $(VENV) with $(PYTHON)"; \
		rm -rf $(VENV) && $(PYTHON) -m venv $(VENV) && $(BIN)/pip install --quiet --upgrade pip; \
	fi
	touch $@

# Reinstall whenever a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt $(VENV)/.python-$(PYTHON_VERSION)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

LINTED := app.py chalicelib devstack scripts

lint: venv
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy $(LINTED)

# loadgroup: the browser tests share one worker (one browser, one token-mode stack).
test: lint newman browser
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

test-fast: venv
	$(BIN)/python -m pytest -q -x -m "not slow"

resources: venv
	$(BIN)/python scripts/bootstrap.py --stage $(STAGE)

.PHONY: bench bench-delivery bench-gallery scale reprocess fuzz webhook-listen

# pyvips only gives the benchmark its comparison column; nothing ships or tests with it.
bench: venv
	$(BIN)/pip install --quiet -r requirements-bench.txt
	$(BIN)/python bench/imaging.py $(ARGS)
	$(BIN)/python bench/delivery.py $(DELIVERY_ARGS)
	$(MAKE) --no-print-directory bench-gallery

# The delivery table alone (renditions on a miss against pyvips; docs/delivery.md).
bench-delivery: venv
	$(BIN)/pip install --quiet -r requirements-bench.txt
	$(BIN)/python bench/delivery.py $(DELIVERY_ARGS)

# What the web app's gallery downloads and how it scrolls, in Chromium (docs/web-app.md).
bench-gallery: venv browser
	$(BIN)/python bench/gallery.py $(GALLERY_ARGS)

# A receiver for the local stack's webhooks: verifies each with the standardwebhooks library.
webhook-listen: venv
	@[ -n "$(SECRET)" ] || { echo "usage: make webhook-listen SECRET=whsec_... [PORT=9000] [ANSWER=200]"; exit 2; }
	$(BIN)/python -m devstack.webhook_listen --secret '$(SECRET)' --port $(or $(PORT),9000) --answer $(or $(ANSWER),200)

# Write units per upload and partition heat of the table design, on moto (bench/scale.py).
scale: venv
	$(BIN)/python bench/scale.py --before bench/scale_before.json $(ARGS)

reprocess: venv
	$(BIN)/python -m scripts.reprocess --stage $(STAGE) $(ARGS)

run: venv
	$(BIN)/python -m devstack --host $(BIND) --api-port $(API_PORT) --aws-port $(AWS_PORT) $(if $(FRESH),--fresh) $(if $(AUTH_MODE),--auth-mode $(AUTH_MODE))

# newman, pinned in package-lock.json; node and npm from Debian when missing.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "installing node and npm with apt-get"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

newman: node_modules/.installed

# The browser tests drive Debian's Chromium through Playwright (never
# `playwright install`: it downloads a browser from a host we cannot reach).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@echo "installing chromium with apt-get (for the browser tests)"
	$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

browser: $(CHROMIUM)

postman: newman venv
	@$(BIN)/python -c "import urllib.request; urllib.request.urlopen('http://$(BIND):$(API_PORT)/health', timeout=5)" \
		2>/dev/null || { echo "nothing answers on http://$(BIND):$(API_PORT): start \`make run\` first"; exit 1; }
	node_modules/.bin/newman run postman/imgstore.postman_collection.json -e postman/local.postman_environment.json \
		--working-dir postman --env-var baseUrl=http://$(BIND):$(API_PORT) --env-var awsUrl=http://$(BIND):$(AWS_PORT)

load: venv
	$(BIN)/python -m devstack.load

# Longer than the seeded run in `make test`, and new data every time (devstack/fuzz.py).
fuzz: venv
	$(BIN)/python -m devstack.fuzz $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache node_modules
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# -- AWS: needs credentials (docs/deploy.md) -----------------------------------------
# The region comes from your AWS profile or AWS_REGION, never from the default above.
AWS := $(if $(filter file,$(origin AWS_DEFAULT_REGION)),env -u AWS_DEFAULT_REGION,)

deploy: venv
	$(AWS) $(BIN)/python scripts/deploy.py resources --stage $(STAGE) $(if $(AUTH_MODE),--auth-mode '$(AUTH_MODE)') $(if $(CORS_ALLOW_ORIGINS),--origins '$(CORS_ALLOW_ORIGINS)')
	$(AWS) $(BIN)/chalice deploy --stage $(STAGE)
	$(AWS) $(BIN)/python scripts/deploy.py gateway --stage $(STAGE)
	$(AWS) $(BIN)/python scripts/deploy.py destinations --stage $(STAGE)
	$(AWS) $(BIN)/python scripts/deploy.py web --stage $(STAGE)
	$(AWS) $(BIN)/python scripts/deploy.py delivery --stage $(STAGE)
	$(AWS) $(BIN)/chalice deploy --stage $(STAGE)

# chalice delete first: it removes the functions, the API and the bucket's
# notifications; then the stack (emptied bucket, table, secret or user pool).
destroy: venv
	$(BIN)/python scripts/deploy.py confirm --stage $(STAGE) $(if $(CONFIRM),--answer '$(CONFIRM)')
	if [ -f .chalice/deployed/$(STAGE).json ]; then $(AWS) $(BIN)/chalice delete --stage $(STAGE); fi
	$(AWS) $(BIN)/python scripts/deploy.py destroy --stage $(STAGE)

policies: venv
	$(BIN)/python scripts/policies.py --stage $(STAGE)

token: venv
	$(AWS) $(BIN)/python scripts/tokens.py create '$(NAME)' --stage $(STAGE) $(if $(ADMIN),--admin) $(if $(TTL),--ttl '$(TTL)')
