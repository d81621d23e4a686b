#!/usr/bin/env bash
# Installs the oldest kube-apiserver the chart claims (versions.env K8S_OLDEST_VERSION) as
# $DNS01_BIN/kube-apiserver-v<version>, built from the Go module proxy like kube-apiserver.sh and under the same
# lock. kubectl is not built again: the default (newest) kubectl drives it (server-side apply is done by the server).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/versions.env"
export K8S_VERSION="$K8S_OLDEST_VERSION" K8S_BIN_SUFFIX="-v$K8S_OLDEST_VERSION"
source "$here/lib/common.sh"
source "$here/lib/k8s-build.sh"

k8s_cmd_current kube-apiserver && exit 0
exec 9>"$DNS01_CACHE/.k8s-build.lock"
flock 9
k8s_cmd_current kube-apiserver && exit 0 # another run built it while we waited
build_k8s_cmds kube-apiserver
k8s_cmd_current kube-apiserver || { log "kube-apiserver v$K8S_VERSION built but does not run or report it"; exit 1; }
