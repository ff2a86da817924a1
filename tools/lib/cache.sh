# Sourced by every script that builds or collects into the cache (~/.cache/knmesh):
# tools/controlplane/build.sh and crds.sh, tools/istio-webhook/build.sh, tools/release/build-tools.sh.
# The caller defines log() and have() (whether the cached result is complete).
#
#   knmesh_cache                 the cache root: $KNMESH_CACHE, default ~/.cache/knmesh
#   cached_or_lock DIR LOCK      when have(): prints DIR and exits the script (KNMESH_REBUILD=1: go on).
#                                Else takes LOCK (a concurrent run building the same waits for it),
#                                looks again, and returns: the caller builds, then prints DIR last.
#   go_env                       Go on PATH, module mode, no VCS stamping, CGO off (unless set).
knmesh_cache="${KNMESH_CACHE:-$HOME/.cache/knmesh}"

cached_or_lock() {
  if have && [[ -z "${KNMESH_REBUILD:-}" ]]; then
    log "present in $1"
    echo "$1"
    exit 0
  fi
  mkdir -p "$(dirname "$2")"
  exec 9>"$2"
  if command -v flock >/dev/null; then flock 9; fi
  if have && [[ -z "${KNMESH_REBUILD:-}" ]]; then
    log "made by a concurrent run in $1"
    echo "$1"
    exit 0
  fi
}

go_env() {
  command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
  export GOFLAGS="-mod=mod -buildvcs=false"
  export CGO_ENABLED="${CGO_ENABLED:-0}"
}
