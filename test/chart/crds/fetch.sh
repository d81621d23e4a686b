#!/usr/bin/env bash
# Prints the paths of the real CRDs the chart's objects need, taken from the projects' Go modules (downloaded
# once into the Go module cache by `go mod download`):
#   cert-manager.io/v1 Issuer, Certificate, ClusterIssuer  (github.com/cert-manager/cert-manager deploy/crds)
#   monitoring.coreos.com/v1 ServiceMonitor                (github.com/prometheus-operator/prometheus-operator)
set -euo pipefail
CERT_MANAGER_VERSION="${CERT_MANAGER_VERSION:-v1.21.2}"
PROMETHEUS_OPERATOR_VERSION="${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}"

module_dir() {
  local dir
  # Outside any go.mod, so the download is not tied to (or written into) a module of this repo.
  dir="$(cd /tmp && GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json "$1@$2" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$dir" ] || { echo "go mod download $1@$2 gave no directory" >&2; exit 1; }
  echo "$dir"
}

cm="$(module_dir github.com/cert-manager/cert-manager "$CERT_MANAGER_VERSION")"
po="$(module_dir github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR_VERSION")"
for f in \
  "$cm/deploy/crds/cert-manager.io_issuers.yaml" \
  "$cm/deploy/crds/cert-manager.io_clusterissuers.yaml" \
  "$cm/deploy/crds/cert-manager.io_certificates.yaml" \
  "$po/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"; do
  [ -f "$f" ] || { echo "missing CRD file $f" >&2; exit 1; }
  echo "$f"
done
