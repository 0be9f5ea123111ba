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

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 $(PKGS)

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./mx/

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

sim:
	$(GO) run ./cmd/mxfleet sim --addr 127.0.0.1:8089
