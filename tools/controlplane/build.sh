#!/usr/bin/env bash
# Builds kube-apiserver, etcd and kubectl (same version as the server) from the
# Go module proxy (no Docker, no prebuilt downloads) into a per-version cache
# folder and prints that folder as the LAST line of stdout. Everything else goes
# to stderr. A binary that is already there is not rebuilt.
#
#   KUBEBUILDER_ASSETS=/dir   use /dir/etcd + /dir/kube-apiserver, build nothing
#                             (/dir/kubectl is used when present)
#   KNMESH_CACHE=/dir         cache root (default ~/.cache/knmesh)
#   KNMESH_REBUILD=1          rebuild even if the binaries exist
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

log() { echo "[controlplane/build] $*" >&2; }

if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
  if [[ -x "$KUBEBUILDER_ASSETS/etcd" && -x "$KUBEBUILDER_ASSETS/kube-apiserver" ]]; then
    log "using KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
    echo "$KUBEBUILDER_ASSETS"
    exit 0
  fi
  log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks etcd/kube-apiserver; building instead"
fi

# shellcheck source=../lib/cache.sh
source "$here/../lib/cache.sh"
bin="$knmesh_cache/controlplane/${K8S_VERSION}-${ETCD_VERSION}"
mkdir -p "$bin"

have() { [[ -x "$bin/etcd" && -x "$bin/kube-apiserver" && -x "$bin/kubectl" ]]; }
cached_or_lock "$bin" "$bin/.build.lock"
go_env

check_pin() { # dir module want
  local got
  got="$(cd "$here/$1" && go list -m -f '{{.Version}}' "$2")"
  if [[ "$got" != "$3" ]]; then
    log "ERROR: $1/go.mod pins $2 $got but versions.env says $3"
    exit 1
  fi
}
check_pin apiserver "$K8S_MODULE" "$K8S_VERSION"
check_pin etcd "$ETCD_MODULE" "$ETCD_VERSION"

k8s_minor="$(echo "$K8S_VERSION" | cut -d. -f2)"
k8s_ldflags="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$k8s_minor -X $p.gitTreeState=clean"
done

start=$(date +%s)
if [[ -n "${KNMESH_REBUILD:-}" ]]; then rm -f "$bin/etcd" "$bin/kube-apiserver" "$bin/kubectl"; fi

if [[ ! -x "$bin/etcd" ]]; then
  log "building etcd $ETCD_VERSION -> $bin/etcd"
  (cd "$here/etcd" && go build -trimpath -ldflags="-s -w" -o "$bin/etcd.tmp" "$ETCD_MODULE")
  mv -f "$bin/etcd.tmp" "$bin/etcd"
fi

if [[ ! -x "$bin/kube-apiserver" ]]; then
  log "building kube-apiserver $K8S_VERSION -> $bin/kube-apiserver (several minutes on 2 cores)"
  (cd "$here/apiserver" && go build -trimpath -ldflags="$k8s_ldflags" -o "$bin/kube-apiserver.tmp" "$K8S_MODULE/cmd/kube-apiserver")
  mv -f "$bin/kube-apiserver.tmp" "$bin/kube-apiserver"
fi

if [[ ! -x "$bin/kubectl" ]]; then
  log "building kubectl $K8S_VERSION -> $bin/kubectl"
  (cd "$here/apiserver" && go build -trimpath -ldflags="$k8s_ldflags" -o "$bin/kubectl.tmp" "$K8S_MODULE/cmd/kubectl")
  mv -f "$bin/kubectl.tmp" "$bin/kubectl"
fi

log "built in $(( $(date +%s) - start ))s"
echo "$bin"
