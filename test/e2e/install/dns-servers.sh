#!/usr/bin/env bash
# Knot DNS and BIND 9 for the rfc2136 issuance (test/e2e/issuance.test.ts): the same install as the unit tier's
# (test/install/dns-servers.sh). Its report goes to stderr: all.sh's stdout is the bin dir only.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/../../install/dns-servers.sh" >&2
