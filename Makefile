# kubectl converge + helm giterm. `make help` lists the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
PKG     := github.com/kubectl-converge/converge
LDFLAGS := -s -w -X $(PKG)/shared/version.version=$(VERSION) -X $(PKG)/shared/version.commit=$(COMMIT) -X $(PKG)/shared/version.date=$(DATE)
GO_TEST_FLAGS ?=
E2E_TIMEOUT ?= 40m
DIST_VERSION ?= v$(shell sed -n 's/^version: //p' plugin.yaml)
DIST_PLATFORMS ?=
DIST_BASE_URL ?=

.PHONY: help build dist bench tools cluster-up cluster-down demo test unit e2e lint clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: ## build bin/kubectl-converge and bin/helm-giterm with the version stamped in
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o bin/kubectl-converge ./kubectl-converge
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o bin/helm-giterm ./helm-giterm

dist: ## release archives of both plugins (all platforms, or DIST_PLATFORMS=linux/amd64,...) into dist/, sha256sums.txt and the krew manifest dist/converge.yaml
	rm -rf dist
	go run ./tools/dist -version $(DIST_VERSION) $(if $(DIST_PLATFORMS),-platforms $(DIST_PLATFORMS)) -commit $(COMMIT) -out dist $(if $(DIST_BASE_URL),-base-url $(DIST_BASE_URL))
	go run ./tools/dist check -manifest dist/converge.yaml -archives dist

bench: build tools ## converge against helm v3/v4 --wait on the local cluster, side by side; writes docs/benchmarks.md (CONVERGE_BENCH_RUNS=3, CONVERGE_BENCH_SMALL_RUNS=7, CONVERGE_BENCH_SCALE_RUNS=3, CONVERGE_BENCH_CASES=a,b to regenerate some)
	cd bench && CONVERGE_BENCH_OUT=$(CURDIR)/docs/benchmarks.md go test -count=1 -timeout 150m -v -run TestBenchmarks ./...

tools: ## build the pinned test tools into the cache (once per set of versions)
	tools/build-tools.sh >/dev/null

cluster-up: tools ## start the local cluster (or reuse a running one)
	tools/cluster.sh up

cluster-down: ## stop the local cluster and everything it started
	tools/cluster.sh down

demo: build cluster-up ## build, start the local cluster and converge the example app
	eval "$$(tools/cluster.sh env)"; \
	bin/kubectl-converge examples/demo-app --namespace demo

unit: ## unit tests (no cluster)
	go test $(GO_TEST_FLAGS) ./shared/... ./kubectl-converge/... ./helm-giterm/... ./tools/dist/...

e2e: build tools ## end-to-end tests through the real binaries against the local cluster
	cd e2e && go test $(GO_TEST_FLAGS) -count=1 -timeout $(E2E_TIMEOUT) ./...

test: lint unit e2e ## everything: lint, unit and end-to-end tests

lint: ## go vet (in each of our modules) and gofmt
	go vet ./...
	cd e2e && go vet ./...
	cd bench && go vet ./...
	@test -z "$$(gofmt -l kubectl-converge helm-giterm shared tools/dist e2e bench)" || { gofmt -l kubectl-converge helm-giterm shared tools/dist e2e bench; exit 1; }

clean: ## remove build output
	rm -rf bin dist
