# Jack — every entry point a developer or CI needs. Node 24 comes from
# node_modules (the `node` dev dependency), so it goes first on PATH.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

STAMP := node_modules/.install-stamp

.PHONY: install generate check-generated docs build run dev test test-unit test-integration lint format breaking bench bench-profile bench-pipeline clean

## install: npm ci (only when package-lock.json changed: an edit of package.json's
## scripts must not reinstall node_modules under a running test)
install: $(STAMP)
$(STAMP): package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(STAMP)

# What a build depends on, so `make run` / `make dev` / `make test` rebuild
# only when a source changed (and never rewrite dist/ under a running
# instance for nothing). The stamps live in ignored directories.
PROTO_SOURCES := $(shell find proto -name '*.proto') buf.gen.yaml buf.yaml
TS_SOURCES := $(shell find src -name '*.ts') tsconfig.json tsconfig.build.json
GENERATE_STAMP := node_modules/.generate-stamp
BUILD_STAMP := dist/.build-stamp
CONSOLE_SOURCES := $(shell find console -type f) scripts/build-console.mjs
CONSOLE_BUILT := dist/console/index.html

## generate: TypeScript from proto/ into src/gen (ts-proto) and src/gen-es (protobuf-es descriptors for HTTP), always
generate: install
	rm -rf src/gen src/gen-es
	buf generate
	@touch $(GENERATE_STAMP)

$(GENERATE_STAMP): $(PROTO_SOURCES) $(STAMP)
	rm -rf src/gen src/gen-es
	buf generate
	@touch $(GENERATE_STAMP)

## check-generated: fail when src/gen is not what the protos generate
check-generated: generate
	@git diff --exit-code --stat -- src/gen src/gen-es || { echo "src/gen is stale: run 'make generate' and commit it"; exit 1; }
	@test -z "$$(git status --porcelain -- src/gen src/gen-es)" || { echo "src/gen has untracked files: run 'make generate' and commit it"; exit 1; }

## docs: write docs/configuration.md from src/config/settings.ts (a unit test fails when it is stale)
docs: build
	node scripts/config-reference.mjs

## build: compile src/ to dist/ and bundle the console (console/ → dist/console), each only when its sources changed
build: $(BUILD_STAMP) $(CONSOLE_BUILT)
$(BUILD_STAMP): $(GENERATE_STAMP) $(TS_SOURCES) package-lock.json
	tsc -p tsconfig.build.json
	@# package.json's bin: executable however the tree was installed (npx runs it directly).
	@chmod +x dist/cli/main.js
	@touch $(BUILD_STAMP)

$(CONSOLE_BUILT): $(CONSOLE_SOURCES) $(STAMP)
	node scripts/build-console.mjs

## run: serve on the embedded default (local config dir ./data, noop backend)
run: build
	CONFIG_DIR=$${CONFIG_DIR:-./data} HTTP_PORT=$${HTTP_PORT:-8080} node dist/main.js

## dev: Pub/Sub emulator + four topics (one subscription each) + Jack on QUEUE_BACKEND=pubsub; see jobs with `npm run pull -- high`
##      BACKEND=nats: local nats-server -js + stream JACK + a durable pull consumer per lane + Jack on QUEUE_BACKEND=nats
BACKEND ?= pubsub
dev: build
	DEV_BACKEND=$(BACKEND) node scripts/dev.ts

## test: every test (unit + integration against the Pub/Sub emulator and fakes)
test: build
	vitest run $(VITEST_FLAGS)

test-unit: build
	vitest run --project unit

test-integration: build
	vitest run --project integration

## bench: Jack vs a bare grpc-js baseline, rows from bench/scenarios.mjs (per round a fresh pair of servers, warmed up, then alternating 2 s windows; h2load, pinned cores): Markdown table with ratios, ~2.5 min a row (BENCH_QUICK=1: a quick check)
bench: build
	node bench/run.mjs

## bench-profile: node --cpu-prof on Jack (or the baseline: ARGS=--baseline) under Enqueue load; prints where the time goes
bench-profile: build
	node bench/profile.mjs $(ARGS)

## bench-pipeline: Jack's own CPU per job in process, without the transport (ARGS="--evict-kib 1024": with cold caches, as under load)
bench-pipeline: build
	node bench/pipeline.mjs $(ARGS)

## lint: biome (format + lint), tsc type check, buf lint, buf format
lint: install
	biome ci .
	tsc -p tsconfig.json
	tsc -p console/tsconfig.json
	buf lint
	buf format --diff --exit-code

## format: rewrite sources in place
format: install
	biome check --write .
	buf format -w

## breaking: the wire contract against the pinned original (contract/jack-contract.binpb, buf FILE rules)
breaking: install
	buf breaking --against contract/jack-contract.binpb

clean:
	rm -rf dist node_modules coverage
