GO      ?= go
BIN     ?= bin/mxfleet
PKGS    ?= ./...

.PHONY: all build demo test test-short bench fuzz vet fmt lint sim

all: vet test build

build:
	$(GO) build -o $(BIN) ./cmd/mxfleet

# The README's first command: the whole fleet in one process on embedded
# defaults (in-process Redis + the MX simulator). Needs nothing but Go.
demo:
	$(GO) run ./cmd/mxfleet demo

# The README's test command. Uses a real redis-server when one is installed
# (CI installs it), else falls back to miniredis and says so.
test:
	$(GO) test -race -count=1 -timeout 10m $(PKGS)

test-short:
	$(GO) test -short -count=1 $(PKGS)

# Micro benchmarks, then whole jobs through a worker (1000 jobs a run).
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=3 ./mx/ ./store/
	$(GO) test -run '^$$' -bench VerifyJobsEndToEnd -benchtime 1000x -count=3 ./handlers/

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecodeJob -fuzztime 30s ./tasks/
	$(GO) test -run '^$$' -fuzz FuzzOpen -fuzztime 30s ./internal/seal/

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

sim:
	$(GO) run ./cmd/mxfleet sim --addr 127.0.0.1:8089
