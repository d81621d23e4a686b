#!/usr/bin/env bash
# `npm run bench`: installs what the e2e cluster needs (test/e2e/install, cached) and the benchmark's Go
# programs (bench/install.sh, cached), builds this checkout, then runs bench/run.ts. Needs root (network
# namespaces) and 2+ cores. Arguments go to bench/run.ts (--help).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
bin="$(bash "$root/test/e2e/install/all.sh")"
export PATH="$bin:$PATH"
bash "$here/install.sh"
cd "$root"
exec node --conditions=source --import tsx "$here/run.ts" "$@"
