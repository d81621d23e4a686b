#!/usr/bin/env bash
# Installs kubectl into $DNS01_BIN, built from the same k8s.io/kubernetes version as kube-apiserver
# (kube-apiserver.sh normally builds it in the same pass; this builds it alone when missing).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib/common.sh"
source "$here/lib/k8s-build.sh"

k8s_cmd_current kubectl && exit 0
exec 9>"$DNS01_CACHE/.k8s-build.lock"
flock 9
k8s_cmd_current kubectl && exit 0
build_k8s_cmds kubectl
k8s_cmd_current kubectl || { log "kubectl built but does not run or report v$K8S_VERSION"; exit 1; }
