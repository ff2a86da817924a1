#!/usr/bin/env bash
# Builds krew and validate-krew-manifest (sigs.k8s.io/krew, from the Go module proxy) into a
# per-version cache folder outside the clone and prints that folder as the LAST line of stdout.
#   KNMESH_CACHE=/dir   cache root (default ~/.cache/knmesh)
set -euo pipefail
KREW_VERSION=v0.4.3
log() { echo "[release/build-tools] $*" >&2; }
# shellcheck source=../lib/cache.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/cache.sh"
bin="$knmesh_cache/krew-$KREW_VERSION"
mkdir -p "$bin"
have() { [[ -x "$bin/krew" && -x "$bin/validate-krew-manifest" ]]; }
cached_or_lock "$bin" "$bin/.build.lock"
command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
start=$(date +%s)
for cmd in krew validate-krew-manifest; do
  log "building sigs.k8s.io/krew/cmd/$cmd@$KREW_VERSION"
  GOBIN="$bin" CGO_ENABLED=0 GOFLAGS="-buildvcs=false -trimpath" go install "sigs.k8s.io/krew/cmd/$cmd@$KREW_VERSION" >&2
done
log "built in $(( $(date +%s) - start ))s"
echo "$bin"
