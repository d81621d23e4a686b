#!/usr/bin/env bash
# Starts the e2e cluster (etcd + kube-apiserver with aggregation + a network-namespace test host).
#   bash test/e2e/cluster/up.sh [--detach]   then: source /tmp/dns01-e2e-cluster.env
# Installs/builds what is missing first (cached; see test/e2e/install/all.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
bash "$root/test/e2e/install/all.sh" >/dev/null
cd "$root"
exec node --conditions=source --import tsx "$here/cli.ts" up "$@"
