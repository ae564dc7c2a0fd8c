# Shared by the build scripts: sourced, not run. Needs bin_dir set, and versions.env sourced.

# build_into_cache builds packages into a temporary directory and renames them into bin_dir, so an interrupted
# build never leaves a binary that looks complete. OUT is "" (several packages, one binary each) or a binary name.
build_into_cache() {
  local module_dir="$1" ldflags="$2" tags="$3" out="$4"; shift 4
  local tmp
  tmp="$(mktemp -d "${bin_dir}/.build.XXXXXX")"
  # Cleared once it fired: a RETURN trap set in a function outlives it, and would fire again on its caller's return.
  trap 'rm -rf "${tmp:-}"; trap - RETURN' RETURN
  (cd "${module_dir}" && CGO_ENABLED=0 go build -trimpath -tags "${tags}" -ldflags "-s -w ${ldflags}" -o "${tmp}/${out}" "$@")
  mv -f "${tmp}"/* "${bin_dir}/"
}

# kube_ldflags stamps KUBERNETES_VERSION into a Kubernetes binary, as its own release build does.
kube_ldflags() {
  local v="${KUBERNETES_VERSION}" major minor
  major="$(cut -d. -f1 <<<"${v#v}")"
  minor="$(cut -d. -f2 <<<"${v#v}")"
  local pkg flags=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X ${pkg}.gitVersion=${v} -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor}"
    flags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=1970-01-01T00:00:00Z"
  done
  printf '%s' "${flags}"
}

# have reports whether every named binary is in bin_dir.
have() {
  local f
  for f in "$@"; do [[ -x "${bin_dir}/${f}" ]] || return 1; done
}
