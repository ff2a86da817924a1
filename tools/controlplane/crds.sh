#!/usr/bin/env bash
# Collects the CRDs the knmesh tests need into
#   ${KNMESH_CACHE:-~/.cache/knmesh}/crds/<set-version>/
# and prints that folder as the LAST line of stdout (logs go to stderr).
# Every CRD is real upstream YAML, copied unchanged:
# - from Go modules (`go mod download -json`, served from the module cache when
#   present): Istio, Knative Service/DomainMapping/KIngress, OpenShift Route and
#   Ingress config;
# - from the vendored $VENDORED_DIR (their SOURCES.md names repository, branch,
#   commit and path), for what the Go module proxy does not serve: Maistra 2.5
#   SMCP/SMMR/SMM, the Serverless operator 1.32 KnativeServing/KnativeEventing/
#   KnativeKafka, and Tekton's Pipeline. Its ossm3/ folder is not installed.
# The install-time edits (conversion webhooks nobody serves here) are made by
# installCrds() in test/support/controlplane.ts, not in these files.
# <set-version> is a hash of versions.env, this script and the vendored CRDs, so
# any change produces a fresh folder.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
log() { echo "[controlplane/crds] $*" >&2; }
# shellcheck source=../lib/cache.sh
source "$here/../lib/cache.sh"
command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"

vendored="$repo/$VENDORED_DIR"
set_version="$(cat "$here/versions.env" "$here/crds.sh" "$vendored"/*.yaml | sha256sum | cut -c1-12)"
out="$knmesh_cache/crds/$set_version"
have() { [[ -f "$out/.complete" ]]; }
# A concurrent run collecting the same set waits for the lock.
cached_or_lock "$out" "$knmesh_cache/crds/.lock"

# module@version -> extracted module dir (read-only, in the module cache)
moddir() {
  local json dir
  # Run outside any module so no go.mod/go.work is consulted or modified.
  json="$(cd / && GOFLAGS=-mod=mod GO111MODULE=on GOWORK=off go mod download -json "$1")" || {
    log "ERROR: go mod download $1 failed:"; echo "$json" >&2; exit 1; }
  dir="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -n "$dir" && -d "$dir" ]] || { log "ERROR: no Dir for $1"; echo "$json" >&2; exit 1; }
  echo "$dir"
}

tmp="$(mktemp -d "$knmesh_cache/crds/.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# copy <module@version> <path-in-module> <dest-name>
copy() {
  local dir src
  dir="$(moddir "$1")"
  src="$dir/$2"
  [[ -f "$src" ]] || { log "ERROR: $1 has no $2"; exit 1; }
  { echo "# Source: $1 $2"; cat "$src"; } > "$tmp/$3"
  log "  $3  <=  $1 $2"
}

log "collecting CRDs (set $set_version)"
copy "$ISTIO_API_MODULE@$ISTIO_API_VERSION" kubernetes/customresourcedefinitions.gen.yaml 10-istio.yaml
copy "$KNATIVE_SERVING_MODULE@$KNATIVE_SERVING_VERSION" config/core/300-resources/service.yaml 30-knative-serving-service.yaml
copy "$KNATIVE_SERVING_MODULE@$KNATIVE_SERVING_VERSION" config/core/300-resources/domain-mapping.yaml 30-knative-serving-domain-mapping.yaml
copy "$KNATIVE_NETWORKING_MODULE@$KNATIVE_NETWORKING_VERSION" config/ingress.yaml 31-knative-networking-ingress.yaml
copy "$OPENSHIFT_API_MODULE@$OPENSHIFT_API_VERSION" route/v1/zz_generated.crd-manifests/routes.crd.yaml 40-openshift-route.yaml
copy "$OPENSHIFT_API_MODULE@$OPENSHIFT_API_VERSION" config/v1/zz_generated.crd-manifests/0000_10_config-operator_01_ingresses.crd.yaml 40-openshift-config-ingress.yaml
# The top-level files only: ossm3/ (Service Mesh 3) is for later work.
for f in "$vendored"/*.yaml; do
  cp "$f" "$tmp/50-upstream-$(basename "$f")"
  log "  50-upstream-$(basename "$f")  <=  $VENDORED_DIR/$(basename "$f")"
done
chmod 755 "$tmp"; chmod 644 "$tmp"/*.yaml
touch "$tmp/.complete"

rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "$out"
