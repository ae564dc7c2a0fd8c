#!/usr/bin/env bash
# install-tool.sh TARGET MODULE@VERSION: go-installs a tool into TARGET's directory (a per-version cache
# directory outside the work tree), atomically, so an interrupted install is never mistaken for a finished one.
set -euo pipefail
target="$1" module="$2"
dir="$(dirname "${target}")"
mkdir -p "${dir}"
tmp="$(mktemp -d "${dir}.XXXXXX")"
trap 'rm -rf "${tmp}"' EXIT
echo "[tools] installing ${module} (first time only)" >&2
GOBIN="${tmp}" CGO_ENABLED=0 go install "${module}"
mv -f "${tmp}/$(basename "${target}")" "${target}"
