#!/usr/bin/env bash
# Renders the knative-istio-authz chart into test/fixtures/golden/authz-chart/ with `helm template`.
#   tools/golden/render-chart.sh HELM CHART_DIR
# HELM: a helm v3 binary (built here with: GOBIN=DIR go install helm.sh/helm/v3/cmd/helm@v3.16.4).
# CHART_DIR: a checkout of github.com/openshift-knative/knative-istio-authz-chart at branch release-1.32
# (the commit used is in test/fixtures/golden/SOURCES.md).
set -euo pipefail
helm="${1:?helm binary}"
chart="${2:?chart folder}"
out="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/test/fixtures/golden/authz-chart"
mkdir -p "$out"
render() { # file, then helm arguments
  local file="$1"; shift
  "$helm" template "$chart" "$@" > "$out/$file"
  echo "$file  <=  helm template CHART $*" >&2
}
# The guide's example (2.3 step 4), and one variant per value knmesh exposes as a flag.
render team-alpha.yaml --set "name=team-alpha" --set "namespaces={team-alpha-1,team-alpha-2}"
render team-alpha-no-eventing.yaml --set "name=team-alpha" --set "namespaces={team-alpha-1,team-alpha-2}" --set eventing.enabled=false
render team-alpha-no-serving.yaml --set "name=team-alpha" --set "namespaces={team-alpha-1,team-alpha-2}" --set serving.enabled=false
render team-alpha-mesh-domain.yaml --set "name=team-alpha" --set "namespaces={team-alpha-1,team-alpha-2}" --set istioNamespace=mesh-prod --set cluster.domain=corp.internal
render tenant-1.yaml --set "name=tenant-1" --set "namespaces={tenant-1}"
