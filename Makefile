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

.PHONY: help deps system-deps node-deps pulumi build pack lint test test-unit test-lab demo ci-example schema bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

system-deps: ## Debian packages: openssh-server, iproute2, nftables, iperf3, postgresql, prometheus, netplan (idempotent)
	@bash scripts/system-deps.sh
	@bash scripts/discovery-deps.sh
	@bash scripts/integration-deps.sh

node_modules/.installed: package.json package-lock.json
	@# --ignore-scripts: no dependency needs an install script, and our own `prepare` (the build a git
	@# install needs) is `make build` here.
	npm ci --no-audit --no-fund --ignore-scripts
	@# Lets serialized dynamic providers require("pulumi-netpersona/...") from any folder of the repo.
	ln -sfn .. node_modules/pulumi-netpersona
	touch $@

node-deps: node_modules/.installed ## npm ci, when package-lock.json changed

pulumi: node-deps ## the Pulumi CLI and language hosts built offline from the Go module proxy, the Python venv; cached
	@bash scripts/pulumi.sh >/dev/null
	@bash scripts/python-deps.sh >/dev/null

deps: system-deps node-deps pulumi ## everything the tests and the demo need

build: node-deps ## compile TypeScript to dist/, bundle the agent (scripts/build.sh, also npm's prepare)
	bash scripts/build.sh

pack: build ## the installable package: out/pulumi-netpersona-<version>.tgz (npm install it in a project)
	mkdir -p out
	npm pack --ignore-scripts --pack-destination out >/dev/null
	@ls out/pulumi-netpersona-*.tgz

lint: node-deps ## eslint + prettier
	eslint --max-warnings 0 .
	prettier --check . >/dev/null || { prettier --check . ; exit 1; }

test: deps build lint ## install, build, lint, then every test: the unit tests first, then the lab tests
	@# The spec is given here, not in .mocharc.json, so that `mocha dist/test/lab/test-x.js` runs one file.
	mocha 'dist/test/unit/test-*.js'
	mocha 'dist/test/lab/test-*.js'

test-unit: build ## the unit tests alone (test/unit: pure logic, no root, about a minute)
	mocha 'dist/test/unit/test-*.js'

test-lab: deps build ## the lab tests alone (test/lab: network namespaces, real sshd, the real engine; root)
	mocha 'dist/test/lab/test-*.js'

demo: deps build ## the main job: a live migration in the lab, adapting to loss and a PMTU black hole
	node dist/scripts/demo.js

ci-example: deps pack ## examples/ci as its pipeline runs it (preview, up, no-change preview) against a lab
	bash scripts/ci-example.sh

schema: build ## regenerate schema.json from the zod schemas, and the Python SDK (sdk/python) from it
	node dist/scripts/gen-schema.js
	bash scripts/gen-python-sdk.sh

bench: deps build ## benchmarks: writes bench/results.json and bench/RESULTS.md
	node dist/bench/run.js

clean: ## remove build output (keeps the cached Pulumi engine)
	rm -rf dist out .e2e
