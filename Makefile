# Jack — every entry point a developer or CI needs. Node 24 comes from
# node_modules (the `node` dev dependency), so it goes first on PATH.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

STAMP := node_modules/.install-stamp

.PHONY: install generate check-generated build run dev test test-unit test-integration lint format breaking bench clean

## install: npm ci (only when package-lock.json changed)
install: $(STAMP)
$(STAMP): package-lock.json package.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(STAMP)

## generate: TypeScript from proto/ into src/gen (buf + local ts-proto plugin)
generate: install
	rm -rf src/gen
	buf generate

## check-generated: fail when src/gen is not what the protos generate
check-generated: generate
	@git diff --exit-code --stat -- src/gen || { echo "src/gen is stale: run 'make generate' and commit it"; exit 1; }
	@test -z "$$(git status --porcelain -- src/gen)" || { echo "src/gen has untracked files: run 'make generate' and commit it"; exit 1; }

## build: compile src/ to dist/
build: generate
	tsc -p tsconfig.build.json

## run: serve on the embedded default (local config dir ./data, noop backend)
run: build
	CONFIG_DIR=$${CONFIG_DIR:-./data} node dist/main.js

## test: every test (unit + integration against the Pub/Sub emulator and fakes)
test: build
	vitest run

test-unit: build
	vitest run --project unit

test-integration: build
	vitest run --project integration

## lint: biome (format + lint), tsc type check, buf lint, buf format
lint: install
	biome ci .
	tsc -p tsconfig.json
	buf lint
	buf format --diff --exit-code

## format: rewrite sources in place
format: install
	biome check --write .
	buf format -w

## breaking: the wire contract against main (buf FILE rules)
breaking: install
	buf breaking --against '.git#branch=main'

clean:
	rm -rf dist node_modules coverage
