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

# shellcheck source=../lib/cache.sh
source "$here/../lib/cache.sh"
# The folder name also carries a hash of main.go/go.mod/go.sum, so a change to
# the wrapper itself gets a fresh binary without KNMESH_REBUILD.
src_hash="$(cat "$here/main.go" "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-12)"
bin="$knmesh_cache/istio-webhook/${ISTIO_VERSION}-${src_hash}"
mkdir -p "$bin"

have() { [[ -x "$bin/istio-webhook" ]]; }
cached_or_lock "$bin" "$bin/.build.lock"
go_env

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
