# One command surface for pulumi-netpersona. `make test` and `make demo` install what they need.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PULUMI_VERSION := v$(shell node -p "require('./package.json').dependencies['@pulumi/pulumi']")
NETPERSONA_CACHE ?= $(HOME)/.cache/netpersona
PULUMI_BIN := $(NETPERSONA_CACHE)/pulumi-$(PULUMI_VERSION)/bin
export PATH := $(PULUMI_BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export PULUMI_SKIP_UPDATE_CHECK := true
export PULUMI_DIY_BACKEND_NO_LEGACY_WARNING := true

.PHONY: help deps system-deps node-deps pulumi build lint test demo schema bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

system-deps: ## Debian packages: openssh-server, iproute2, nftables, iperf3, postgresql (idempotent)
	@bash scripts/system-deps.sh
	@bash scripts/discovery-deps.sh

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@# Lets serialized dynamic providers require("pulumi-netpersona/...") from any folder of the repo.
	ln -sfn .. node_modules/pulumi-netpersona
	touch $@

node-deps: node_modules/.installed ## npm ci, when package-lock.json changed

pulumi: node-deps ## the Pulumi CLI, built offline from the Go module proxy and cached by version
	@bash scripts/pulumi.sh >/dev/null

deps: system-deps node-deps pulumi ## everything the tests and the demo need

build: node-deps ## compile TypeScript to dist/
	tsc -p tsconfig.json
	bash scripts/bundle-agent.sh
	esbuild provider/bootstrap/supervisor.ts --bundle --platform=node --target=node20 --format=cjs \
	  --log-level=warning --outfile=dist/agent/netpersona-supervisor.js
	chmod +x bin/netpersona

lint: node-deps ## eslint + prettier
	eslint --max-warnings 0 .
	prettier --check . >/dev/null || { prettier --check . ; exit 1; }

test: deps build lint ## install, build, lint, then every test (mocha)
	mocha

demo: deps build ## the main job: a live migration in the lab, adapting to loss and a PMTU black hole
	node dist/scripts/demo.js

schema: build ## regenerate schema.json from the zod schemas
	node dist/scripts/gen-schema.js

bench: deps build ## benchmarks: writes bench/results.json and bench/RESULTS.md
	node dist/bench/run.js

clean: ## remove build output (keeps the cached Pulumi engine)
	rm -rf dist out .e2e
