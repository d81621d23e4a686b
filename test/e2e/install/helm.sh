#!/usr/bin/env bash
# Installs helm v3 into $DNS01_BIN with `go install` from the Go module proxy (HELM_VERSION, default v3.22.0).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib/common.sh"

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
have() { runs "$DNS01_BIN/helm" version --short && "$DNS01_BIN/helm" version --short 2>/dev/null | grep -q "^$HELM_VERSION"; }
have && exit 0
exec 9>"$DNS01_CACHE/.helm-build.lock"
flock 9
have && exit 0
log "building helm $HELM_VERSION (a few minutes on 2 cores)"
GOBIN="$DNS01_BIN" GOTOOLCHAIN=local nice -n 10 \
  go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
  "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >"$DNS01_LOGS/helm-build.log" 2>&1 \
  || { tail -20 "$DNS01_LOGS/helm-build.log" >&2; exit 1; }
have || { log "helm built but does not report $HELM_VERSION"; "$DNS01_BIN/helm" version >&2 || true; exit 1; }
