#!/usr/bin/env bash
# Builds what a real node of the test bed runs, pinned, into a cache keyed by version beside the control plane's:
# the kubelet (k8s.io/kubernetes, as the control plane), containerd, its runc shim and ctr (containerd from the
# Go module proxy, no cgo, no btrfs), and a static pause binary; and installs from Debian what cannot be built
# here: runc, the CNI plugins, iptables, conntrack and busybox-static (the containers' userland). Needs root.
#
# Prints the directory holding the binaries on its last line of stdout; progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/versions.env
source "${here}/versions.env"
# shellcheck source=hack/lib.sh
source "${here}/lib.sh"

cache_root="${PEAPOD_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME}/.cache}/peapod}"
bin_dir="${cache_root}/realnode/k8s-${KUBERNETES_VERSION}_containerd-${CONTAINERD_VERSION}"
mkdir -p "${bin_dir}"

log() { printf '[realnode] %s\n' "$*" >&2; }

if [[ "$(id -u)" != 0 ]]; then
  log "not root: a real node needs root (containerd, runc, network namespaces)"
  exit 2
fi

packages=(runc containernetworking-plugins iptables conntrack busybox-static)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "${p}" 2>/dev/null | grep -q "install ok installed" || missing+=("${p}")
done
if ((${#missing[@]})); then
  log "installing from Debian: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
    { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; }
fi

start=${SECONDS}
if have kubelet; then
  log "kubelet ${KUBERNETES_VERSION}: cached"
else
  log "kubelet ${KUBERNETES_VERSION}: building (first time: ~4 min on 2 cores)"
  build_into_cache "${here}/tools/kubelet" "$(kube_ldflags)" "" kubelet k8s.io/kubernetes/cmd/kubelet
fi

if have containerd containerd-shim-runc-v2 ctr; then
  log "containerd ${CONTAINERD_VERSION}: cached"
else
  log "containerd ${CONTAINERD_VERSION}: building (first time: ~2 min)"
  build_into_cache "${here}/tools/containerd" "-X github.com/containerd/containerd/v2/version.Version=${CONTAINERD_VERSION}" \
    no_btrfs "" github.com/containerd/containerd/v2/cmd/containerd \
    github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2 github.com/containerd/containerd/v2/cmd/ctr
fi

if have pause; then
  log "pause: cached"
else
  log "pause: building"
  build_into_cache "${here}/.." "" "" pause ./test/cluster/images/pause
fi

log "ready in $((SECONDS - start)) s: ${bin_dir}"
echo "${bin_dir}"
