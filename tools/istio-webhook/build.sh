#!/usr/bin/env bash
# Builds tools/istio-webhook (istiod's validating admission webhook handler as a
# small standalone server, see main.go) from the Go module proxy into a
# per-version cache folder and prints that folder as the LAST line of stdout.
# Everything else goes to stderr. A binary that is already there is not rebuilt.
#
#   KNMESH_CACHE=/dir   cache root (default ~/.cache/knmesh)
#   KNMESH_REBUILD=1    rebuild even if the binary exists
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

log() { echo "[istio-webhook/build] $*" >&2; }

cache="${KNMESH_CACHE:-$HOME/.cache/knmesh}"
# The folder name also carries a hash of main.go/go.mod/go.sum, so a change to
# the wrapper itself gets a fresh binary without KNMESH_REBUILD.
src_hash="$(cat "$here/main.go" "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-12)"
bin="$cache/istio-webhook/${ISTIO_VERSION}-${src_hash}"
mkdir -p "$bin"

have() { [[ -x "$bin/istio-webhook" ]]; }

if have && [[ -z "${KNMESH_REBUILD:-}" ]]; then
  log "binary present in $bin"
  echo "$bin"
  exit 0
fi

# Serialise concurrent builds (two test runs starting at once).
exec 9>"$bin/.build.lock"
if command -v flock >/dev/null; then flock 9; fi
if have && [[ -z "${KNMESH_REBUILD:-}" ]]; then
  log "binary built by a concurrent run in $bin"
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED="${CGO_ENABLED:-0}"

got="$(cd "$here" && go list -m -f '{{.Version}}' "$ISTIO_MODULE")"
if [[ "$got" != "$ISTIO_VERSION" ]]; then
  log "ERROR: go.mod pins $ISTIO_MODULE $got but versions.env says $ISTIO_VERSION"
  exit 1
fi

start=$(date +%s)
rm -f "$bin/istio-webhook"
log "building istio-webhook from $ISTIO_MODULE $ISTIO_VERSION -> $bin/istio-webhook (a few minutes on 2 cores)"
(cd "$here" && go build -trimpath -ldflags="-s -w" -o "$bin/istio-webhook.tmp" .)
mv -f "$bin/istio-webhook.tmp" "$bin/istio-webhook"
log "built in $(( $(date +%s) - start ))s"
echo "$bin"
