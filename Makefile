# Makefile — the index of Qala's commands. .ci/run calls these targets.
GO        ?= go
STATICCHECK_VERSION ?= v0.7.0
FUZZTIME  ?= 10s
BIN       ?= bin
ARGS      ?=

.PHONY: all build run demo test test-mqtt race vet staticcheck fuzz-smoke e2e check bench bench-short bench-temporal bench-notify conformance clean

all: build

build: ## build bin/qala and bin/qala-bench
	CGO_ENABLED=0 $(GO) build -o $(BIN)/qala ./cmd/qala
	CGO_ENABLED=0 $(GO) build -o $(BIN)/qala-bench ./cmd/qala-bench

run: ## run the server with the Astana demo city on the embedded store
	$(GO) run ./cmd/qala serve --demo

test: ## the README's test command: every unit, HTTP black-box, store contract and kill -9 test
	$(GO) test ./...

test-mqtt: ## the MQTT interop tier against a real Mosquitto at QALA_MQTT_ADDR (127.0.0.1:1883); .ci/mqtt.sh provides one
	QALA_MQTT_INTEROP=1 $(GO) test -count=1 -run 'Interop' -v ./internal/mqtt/... ./internal/notify/...

race: ## the packages with concurrency, under the race detector
	$(GO) test -race ./internal/store/... ./internal/api/... ./internal/jsonld/... ./internal/server/... ./internal/temporal/... ./internal/mqtt/... ./internal/notify/...

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

staticcheck:
	@command -v staticcheck >/dev/null 2>&1 || GOFLAGS= $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck ./...

fuzz-smoke: ## run every fuzz target for FUZZTIME
	./.ci/fuzz-smoke.sh $(FUZZTIME)

e2e: build ## the built binary with the demo city: the README tour, then SIGTERM
	./.ci/e2e.sh

check: test vet staticcheck race fuzz-smoke e2e

bench: build ## the load tool's full suite (1M entities): figures for BENCHMARKS.md
	$(BIN)/qala-bench suite -qala $(BIN)/qala

bench-short: build
	$(BIN)/qala-bench suite -qala $(BIN)/qala -short

bench-temporal: build ## the temporal suite at full size (129.6 M instances, ~8 min); ARGS=-short for the CI size
	$(BIN)/qala-bench temporalsuite -qala $(BIN)/qala $(ARGS)

bench-notify: build ## the load tool's notification fan-out (1,000 subscriptions, 2,000 updates/s, ~2 min); ARGS=-short for the CI size
	$(BIN)/qala-bench notifysuite -qala $(BIN)/qala $(ARGS)

conformance: build ## ETSI suite areas of the core and query issues (needs the suite set up: ../shared/conformance/README.md)
	./.ci/conformance.sh

clean:
	rm -rf $(BIN) qala-data
