#!/usr/bin/env bash
# Builds the pinned test tools (control plane, etcd, kwok, kubectl, helm 3 and 4) from the Go
# module proxy into a cache outside the repository, keyed by the pinned versions, and prints
# the directory holding them. A binary already in the cache is never rebuilt.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

key=$(cat "$here/versions.env" "$here/k8s/go.mod" "$here/k8s/go.sum" "$here/etcd/go.mod" "$here/etcd/go.sum" | sha256sum | cut -c1-12)
cache_root=${CONVERGE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-converge/tools}
bin="$cache_root/$key/bin"
mkdir -p "$bin"

log() { printf '[tools] %s\n' "$*" >&2; }

ticker=
trap '[ -z "$ticker" ] || kill "$ticker" 2>/dev/null || true' EXIT

# step NAME BINARY... -- COMMAND...: runs COMMAND unless every BINARY is already cached.
step() {
  local name=$1; shift
  local wanted=()
  while [ "$1" != "--" ]; do wanted+=("$1"); shift; done
  shift
  local missing=0
  for b in "${wanted[@]}"; do [ -x "$bin/$b" ] || missing=1; done
  if [ "$missing" = 0 ]; then
    log "$name: cached"
    return
  fi
  log "$name: building (first build takes several minutes)..."
  local start=$SECONDS
  # A cold Kubernetes build runs for minutes without output; say that it is still going.
  ( while sleep 30; do log "$name: still building ($((SECONDS - start))s)"; done ) &
  ticker=$!
  "$@"
  kill "$ticker" 2>/dev/null || true
  ticker=
  for b in "${wanted[@]}"; do
    [ -x "$bin/$b" ] || { log "$name: $b was not produced"; exit 1; }
  done
  log "$name: built in $((SECONDS - start))s"
}

build_kubernetes() {
  local minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
  local pkg
  local ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  (cd "$here/k8s" && go build -trimpath -ldflags "$ldflags" -o "$bin/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubectl)
}

build_etcd() {
  (cd "$here/etcd" && go build -trimpath -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3)
}

build_kwok() {
  local ldflags="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION"
  GOBIN="$bin" go install -trimpath -ldflags "$ldflags" \
    "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
}

# Both helm majors install a binary named "helm"; each gets its own directory first.
build_helm() {
  local major=$1 version=$2 tmp
  tmp=$(mktemp -d)
  GOBIN="$tmp" go install -trimpath -ldflags "-s -w" "helm.sh/helm/v$major/cmd/helm@$version"
  mv "$tmp/helm" "$bin/helm$major"
  rmdir "$tmp"
}

step "etcd $ETCD_VERSION" etcd -- build_etcd
step "kwok $KWOK_VERSION" kwok kwokctl -- build_kwok
step "helm $HELM3_VERSION" helm3 -- build_helm 3 "$HELM3_VERSION"
step "helm $HELM4_VERSION" helm4 -- build_helm 4 "$HELM4_VERSION"
step "kubernetes $KUBERNETES_VERSION" kube-apiserver kube-controller-manager kube-scheduler kubectl -- build_kubernetes

echo "$bin"
