# peapod: the two commands are `make demo` (run it) and `make test` (test it). Everything they need is built
# from the Go module proxy into a cache outside the work tree, keyed by version, and reused by every clone.

include hack/versions.env

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

CACHE_DIR ?= $(or $(PEAPOD_CACHE_DIR),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/peapod)
export PEAPOD_CACHE_DIR := $(CACHE_DIR)
CONTROLPLANE_DIR := $(CACHE_DIR)/controlplane/k8s-$(KUBERNETES_VERSION)_etcd-$(ETCD_VERSION)_kwok-$(KWOK_VERSION)
REALNODE_DIR := $(CACHE_DIR)/realnode/k8s-$(KUBERNETES_VERSION)_containerd-$(CONTAINERD_VERSION)
TOOLS_DIR := $(CACHE_DIR)/tools

CONTROLLER_GEN := $(TOOLS_DIR)/controller-gen-$(CONTROLLER_TOOLS_VERSION)/controller-gen
GOLANGCI_LINT := $(TOOLS_DIR)/golangci-lint-$(GOLANGCI_LINT_VERSION)/golangci-lint
CRD_REF_DOCS := $(TOOLS_DIR)/crd-ref-docs-$(CRD_REF_DOCS_VERSION)/crd-ref-docs
HELM := $(TOOLS_DIR)/helm-$(HELM_VERSION)/helm

# The e2e suites start clusters of their own; the timeouts are backstops, not schedules. Ginkgo's comes first so
# that an overrun still runs every cleanup (go test's own panics without it).
E2E_TIMEOUT ?= 58m
E2E_GINKGO_TIMEOUT ?= 55m
GO_TEST ?= go test

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRDs and RBAC from the markers, and copy them into the Helm chart.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd:generateEmbeddedObjectMeta=true webhook paths="./api/...;./controllers/...;./internal/admission/..." output:crd:artifacts:config=config/crd/bases
	hack/sync-chart.sh

.PHONY: api-docs
api-docs: $(CRD_REF_DOCS) ## Generate the API reference, docs/api-reference.md, from api/'s types and doc comments.
	mkdir -p docs
	$(CRD_REF_DOCS) --source-path=./api --config=hack/api-docs/config.yaml --renderer=markdown --output-path=docs/api-reference.md

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate the DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## go fmt.
	go fmt ./...

.PHONY: vet
vet: ## go vet.
	go vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint.
	$(GOLANGCI_LINT) run

.PHONY: lint-fix
lint-fix: $(GOLANGCI_LINT) ## Run golangci-lint and fix what it can.
	$(GOLANGCI_LINT) run --fix

.PHONY: verify
verify: manifests generate api-docs ## Regenerate, then fail if the committed output differs.
	go mod tidy
	cd charts/peapod/test && go mod tidy
	@if ! git diff --quiet --exit-code -- . ; then \
		echo "generated files or go.mod differ from a fresh generation; run 'make manifests generate api-docs' and 'go mod tidy', then commit:"; \
		git --no-pager diff --stat -- . ; exit 1; fi
	@if [ -n "$$(git status --porcelain --untracked-files=all -- config api docs charts/peapod/crds charts/peapod/files)" ]; then \
		echo "untracked generated files:"; git status --porcelain --untracked-files=all -- config api docs charts; exit 1; fi

##@ Test

.PHONY: test
test: manifests generate fmt vet controlplane ## Unit tests, the envtest tier, the Helm chart and the e2e suites, for real.
	$(MAKE) --no-print-directory test-unit test-envtest test-chart test-e2e test-e2e-existing

.PHONY: test-unit
test-unit: ## Pure unit tests only: the quick loop.
	$(GO_TEST) $$(go list ./... | grep -v -e /controllers -e /test/e2e) -count=1

.PHONY: test-envtest
test-envtest: controlplane ## The envtest tier: controllers against a real kube-apiserver and etcd.
	KUBEBUILDER_ASSETS="$(CONTROLPLANE_DIR)" $(GO_TEST) ./controllers/... -count=1 -timeout 15m -ginkgo.timeout 12m

# The chart's tests are a Go module of their own (Helm's dependencies stay out of the manager's), which `make vet`
# does not reach: vetted here.
.PHONY: test-chart
test-chart: controlplane $(HELM) ## The Helm chart: render, schema, lint, install and upgrade (the SDK and the helm command).
	cd charts/peapod/test && go vet ./... && \
		KUBEBUILDER_ASSETS="$(CONTROLPLANE_DIR)" PEAPOD_CONTROLPLANE_DIR="$(CONTROLPLANE_DIR)" PEAPOD_HELM="$(HELM)" \
		$(GO_TEST) ./... -count=1 -timeout 10m

# The real-node specs run where the machine allows it (root, Debian's packages installable); elsewhere they are
# skipped with the reason.
.PHONY: test-e2e
test-e2e: controlplane realnode-if-possible ## The e2e suites against the simulated cluster (or PEAPOD_E2E_KUBECONFIG).
	PEAPOD_CONTROLPLANE_DIR="$(CONTROLPLANE_DIR)" PEAPOD_REALNODE_DIR="$(REALNODE_DIR)" $(GO_TEST) ./test/e2e/... -count=1 -timeout $(E2E_TIMEOUT) -ginkgo.timeout $(E2E_GINKGO_TIMEOUT) -v -ginkgo.v

.PHONY: test-e2e-existing
test-e2e-existing: controlplane ## The e2e suites' existing-cluster mode, against a cluster started apart (hack/cluster).
	PEAPOD_CONTROLPLANE_DIR="$(CONTROLPLANE_DIR)" hack/test-e2e-existing.sh

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build the manager binary and the kubectl plugin (bin/kubectl-peapod).
	go build -o bin/manager .
	go build -o bin/kubectl-peapod ./cmd/kubectl-peapod

.PHONY: build-installer
build-installer: manifests controlplane ## Render config/default into dist/install.yaml (kustomize as built into kubectl).
	mkdir -p dist
	"$(CONTROLPLANE_DIR)/kubectl" kustomize config/default > dist/install.yaml
	@echo "dist/install.yaml: kubectl apply --server-side -f dist/install.yaml"

.PHONY: run
run: manifests generate fmt vet ## Run the manager against the current kubeconfig.
	go run . --health-probe-bind-address=127.0.0.1:8081

.PHONY: demo
# REAL_NODES=1: the members run on real kubelets with containerd (root), serve HTTP, and a caller calls them.
# The demo, the manager and the plugin compile beside the control plane's build, not after it: on a fresh machine
# each waits on the module proxy and on single-threaded links, which the other fills. The committed CRDs are what
# `make verify` checks against a fresh generation, so the demo needs no controller-gen of its own.
demo: $(if $(REAL_NODES),realnode) ## Start the local simulated cluster, install peapod and show a failover and a drain.
	@echo "[demo] building the control plane and, beside it, the demo, the manager and the kubectl plugin: minutes the first time, seconds after" >&2
	@mkdir -p bin/demo
	@go build -o bin/demo/ ./hack/demo . ./cmd/kubectl-peapod & build=$$!; \
	  hack/build-controlplane.sh >/dev/null || { kill $$build 2>/dev/null; exit 1; }; wait $$build
	PEAPOD_CONTROLPLANE_DIR="$(CONTROLPLANE_DIR)" PEAPOD_REALNODE_DIR="$(REALNODE_DIR)" bin/demo/demo $(if $(REAL_NODES),--real-nodes) $(DEMO_ARGS)

##@ Dependencies

.PHONY: controlplane
controlplane: ## Build kube-apiserver, controller-manager, scheduler, kubectl, etcd and kwok (cached by version).
	@hack/build-controlplane.sh >/dev/null

.PHONY: realnode
realnode: ## Build the kubelet, containerd and pause, and install runc, the CNI plugins and busybox (root; cached).
	@hack/build-realnode.sh >/dev/null

.PHONY: realnode-if-possible
realnode-if-possible:
	@hack/build-realnode.sh >/dev/null || echo "[realnode] not built: the real-node specs will be skipped" >&2

.PHONY: controlplane-dir
controlplane-dir: ## Print where the control-plane binaries are.
	@echo $(CONTROLPLANE_DIR)

$(CONTROLLER_GEN):
	hack/install-tool.sh $@ sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)

$(GOLANGCI_LINT):
	hack/install-tool.sh $@ github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

$(HELM):
	hack/install-tool.sh $@ helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

$(CRD_REF_DOCS):
	hack/install-tool.sh $@ github.com/elastic/crd-ref-docs@$(CRD_REF_DOCS_VERSION)

##@ Benchmarks

.PHONY: bench
bench: controlplane manifests ## Bring-up, then failover after node deaths: PodGroups versus the built-in controllers.
	PEAPOD_CONTROLPLANE_DIR="$(CONTROLPLANE_DIR)" go run ./test/bench/bringup $(BENCH_ARGS)
	PEAPOD_CONTROLPLANE_DIR="$(CONTROLPLANE_DIR)" go run ./test/bench/failover $(FAILOVER_BENCH_ARGS)

.PHONY: bench-scale
bench-scale: controlplane manifests ## One manager, 10,000 PodGroups x 4 (40,000 Pods) in 100 namespaces on 500 nodes, unthrottled: bring-up, heap per pod, reconcile p99, writes at rest.
	PEAPOD_CONTROLPLANE_DIR="$(CONTROLPLANE_DIR)" go run ./test/bench/bringup -peapod-only -sizes 10000x4 -throttles 500/1000 -namespaces 100 $(SCALE_ARGS)

.PHONY: bench-storm
bench-storm: controlplane ## A failover storm: 2,500 PodGroups x 4 on 100 nodes, 10 killed at once, then 60% silent (STORM_ARGS=-h lists the flags).
	PEAPOD_CONTROLPLANE_DIR="$(CONTROLPLANE_DIR)" go run ./test/bench/storm $(STORM_ARGS)

ROUNDS ?= 20

.PHONY: chaos
chaos: controlplane manifests ## A chaos campaign of ROUNDS random faults, peapod's invariants watched throughout; CHAOS_ARGS=-h lists the flags.
	PEAPOD_CONTROLPLANE_DIR="$(CONTROLPLANE_DIR)" go run ./test/chaos -rounds $(ROUNDS) $(CHAOS_ARGS)
