#!/usr/bin/env bash
# Builds the real control plane (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd, kwok)
# from the Go module proxy into a cache keyed by version, outside the work tree, so a fresh clone on the same
# machine (CI) reuses it. Each component is skipped when its binaries are already there.
#
# Prints the directory holding the binaries on its last line of stdout; progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/versions.env
source "${here}/versions.env"
# shellcheck source=hack/lib.sh
source "${here}/lib.sh"

cache_root="${PEAPOD_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME}/.cache}/peapod}"
bin_dir="${cache_root}/controlplane/k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}"
mkdir -p "${bin_dir}"

log() { printf '[controlplane] %s\n' "$*" >&2; }

start=${SECONDS}
if have kube-apiserver kube-controller-manager kube-scheduler kubectl; then
  log "kubernetes ${KUBERNETES_VERSION}: cached"
else
  log "kubernetes ${KUBERNETES_VERSION}: building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (first time: ~6 min on 2 cores)"
  build_into_cache "${here}/tools/kube" "$(kube_ldflags)" "" "" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
fi

if have etcd; then
  log "etcd ${ETCD_VERSION}: cached"
else
  log "etcd ${ETCD_VERSION}: building (first time: ~1 min)"
  build_into_cache "${here}/tools/etcd" "" "" etcd go.etcd.io/etcd/server/v3
fi

if have kwok && [[ -d "${bin_dir}/kwok-stages" ]]; then
  log "kwok ${KWOK_VERSION}: cached"
else
  log "kwok ${KWOK_VERSION}: building (first time: ~1 min)"
  tmp="$(mktemp -d "${bin_dir}/.build.XXXXXX")"
  GOBIN="${tmp}" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}"
  # Standalone kwok has no built-in stages; the e2e cluster feeds it the ones shipped in its module.
  src="$(go mod download -json "sigs.k8s.io/kwok@${KWOK_VERSION}" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  mkdir -p "${tmp}/kwok-stages"
  for stage in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
    pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
    cp "${src}/kustomize/stage/${stage}.yaml" "${tmp}/kwok-stages/$(basename "${stage}").yaml"
  done
  chmod -R u+w "${tmp}/kwok-stages"
  rm -rf "${bin_dir}/kwok-stages"
  mv -f "${tmp}/kwok-stages" "${tmp}/kwok" "${bin_dir}/"
  rm -rf "${tmp}"
fi

log "ready in $((SECONDS - start)) s: ${bin_dir}"
echo "${bin_dir}"
