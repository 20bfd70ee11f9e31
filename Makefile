# orca's build, run and test entry points. The README names `make run` and
# `make test`; .ci/run calls `make ci`.

GO            ?= go
BIN           ?= bin/orca
DATA_DIR      ?= /var/lib/orca
# The Kubernetes API version orca serves follows the k8s.io/api module it is
# built from (v0.37.2 -> v1.37.2).
KUBE_VERSION  := $(shell $(GO) list -m -f '{{.Version}}' k8s.io/api | sed 's/^v0\./v1./')
ORCA_VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GIT_COMMIT    := $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS       := -X k8s.io/component-base/version.gitVersion=$(KUBE_VERSION)+orca-$(ORCA_VERSION) \
                 -X k8s.io/component-base/version.gitCommit=$(GIT_COMMIT) \
                 -X k8s.io/component-base/version.gitTreeState=clean \
                 -X k8s.io/component-base/version.buildDate=$(shell date -u +%Y-%m-%dT%H:%M:%SZ) \
                 -X github.com/orca-pods/orca/internal/version.Version=$(ORCA_VERSION)
TEST_TIMEOUT  ?= 30m
# libcontainer applies seccomp profiles only when built with cgo, libseccomp
# and this tag.
TAGS          := seccomp

.PHONY: build run test ci deps bench ldflags generate

build:
	$(GO) build -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/orca

# Build, then start a one-node cluster in the foreground; it prints the
# `export KUBECONFIG=...` line once it is ready.
run: build
	$(BIN) server --data-dir $(DATA_DIR)

# Every test: unit tests, then the end-to-end tests that start a real server
# and drive it with real kubectl.
test:
	$(GO) test -tags '$(TAGS)' -count=1 -timeout $(TEST_TIMEOUT) ./...

# What CI runs on a fresh clone: install what the tests need, then test.
ci: deps test

deps:
	./hack/install-deps.sh

bench: build
	ORCA_BIN=$(abspath $(BIN)) $(GO) test -tags '$(TAGS)' -run '^$$' -bench . -benchtime 1x -count 1 -timeout 60m ./test/bench/

# The linker flags, for the e2e harness's own build of the binary.
ldflags:
	@echo "$(LDFLAGS)"

generate:
	$(GO) generate ./...
