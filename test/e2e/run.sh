#!/usr/bin/env bash
# The e2e tier: installs/builds what it needs (cached outside the repo, see install/all.sh), then runs the
# e2e vitest config. Needs root (network namespaces). Extra arguments go to vitest (e.g. a file filter).
# `npm run test:e2e` builds the workspace first: the webhook runs from packages/*/dist as in the image.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
t0=$SECONDS
bin="$(bash "$here/install/all.sh")"
export PATH="$bin:$PATH"
echo "[e2e] tools: $(kube-apiserver --version), $(etcd --version | head -1), kubectl $(kubectl version --client -o json | sed -n 's/.*"gitVersion": "\(.*\)".*/\1/p' | head -1), helm $(helm version --short) (installed/checked in $((SECONDS - t0)) s)"
cd "$root"
npx vitest run --config test/e2e/vitest.config.ts "$@"
# cert-manager's own conformance suite (Go), unless a file filter asked for something narrower.
if [ $# -eq 0 ]; then
  DNS01_BIN="$bin" bash test/e2e/conformance/run.sh
fi
echo "[e2e] tier finished in $((SECONDS - t0)) s"
