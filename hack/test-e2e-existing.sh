#!/usr/bin/env bash
# test-e2e-existing.sh: the e2e suites' existing-cluster mode, as a user runs it against kind: a cluster started
# apart (hack/cluster, the simulated cluster in a process of its own), and the suites given only its kubeconfig
# (PEAPOD_E2E_KUBECONFIG). Specs that need a cluster of their own, or kwok nodes they can fail, skip and say why.
# Extra arguments go to go test (e.g. -ginkgo.focus=...).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${PEAPOD_CONTROLPLANE_DIR:?set by make test-e2e-existing}"

work="$(mktemp -d /tmp/peapod-existing.XXXXXX)"
kubeconfig="${work}/kubeconfig"
go build -o "${work}/cluster" ./hack/cluster
"${work}/cluster" --kubeconfig "${kubeconfig}" 2>"${work}/cluster.log" &
cluster_pid=$!
stop() {
  kill -TERM "${cluster_pid}" 2>/dev/null || true
  wait "${cluster_pid}" 2>/dev/null || true
  rm -rf "${work}"
}
trap stop EXIT

for _ in $(seq 1 180); do
  [[ -f "${kubeconfig}" ]] && break
  if ! kill -0 "${cluster_pid}" 2>/dev/null; then
    echo "the cluster did not start:" >&2; cat "${work}/cluster.log" >&2; exit 1
  fi
  sleep 1
done
[[ -f "${kubeconfig}" ]] || { echo "no kubeconfig after 180 s" >&2; cat "${work}/cluster.log" >&2; exit 1; }

PEAPOD_E2E_KUBECONFIG="${kubeconfig}" go test ./test/e2e/... -count=1 -timeout 30m -ginkgo.timeout 25m -v -ginkgo.v "$@"
